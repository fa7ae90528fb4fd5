/**
 * The data, models and metrics sections of the report, from the analysed
 * artifacts. Each takes a {@link Draw} that renders charts and tiles (and
 * counts them for progress).
 */
import { truthRuns } from '../gate.js';
import type { Dataset } from '../lib/dataset.js';
import { frame } from '../lib/dataset.js';
import { makeRng } from '../lib/prng.js';
import { runsArea } from '../lib/rle.js';
import type { History } from '../models/history.js';
import { errorKind, worstCases, type DataStats, type ValImage, type ValStats } from './analyse.js';
import type { VlSpec } from './charts.js';
import { chart, esc, fmt, metricNum, table, type Section } from './html.js';
import { OUTLINE, type Outline, type TileSize } from './images.js';
import { areaSpec, diceHistSpec, lossSpec, metricSpec, rocSpec, scoreSpec, subjectSpec } from './specs.js';

/** Renders charts and tiles for the sections. */
export interface Draw {
  chart(spec: VlSpec): Promise<string>;
  /** A tile of training image `index` with outlines, as a `<figure>`. */
  tile(index: number, outlines: readonly Outline[], alt: string, caption: string): Promise<string>;
  readonly size: TileSize;
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;
const card = (value: string, label: string): string => `<div class="card"><div class="v">${value}</div><div class="k">${esc(label)}</div></div>`;
const LEGEND = `<p class="legend"><span><span class="swatch" style="background:var(--truth)"></span>true mask</span><span><span class="swatch" style="background:var(--pred)"></span>predicted mask</span></p>`;

/** Data: counts, empty masks overall and per subject, mask areas, random training images. */
export async function dataSection(ds: Dataset, st: DataStats, draw: Draw, samples: number, seed: number): Promise<Section> {
  const cards = [
    card(metricNum('ingest', 'train_images', st.trainImages), 'training images'),
    card(metricNum('ingest', 'test_images', st.testImages), 'test images'),
    card(String(st.subjects), 'subjects'),
    card(`${metricNum('split', 'train_images', st.splitTrain)} / ${metricNum('split', 'val_images', st.splitVal)}`, 'train / validation images'),
    card(pct(st.emptyFraction), 'masks with no nerve'),
    card(`${ds.origH}×${ds.origW} → ${ds.h}×${ds.w}`, 'original → model size'),
  ].join('');
  const charts = [await draw.chart(subjectSpec(st.perSubject)), await draw.chart(areaSpec(st.areas, ds.origH, ds.origW))].map(chart).join('');
  const picks = makeRng(seed).shuffle(ds.trainIds.map((_, i) => i)).slice(0, samples).sort((a, b) => a - b);
  const tiles: string[] = [];
  for (const i of picks) {
    const truth = truthRuns(ds, i);
    const area = runsArea(truth);
    const caption = `<b>${esc(ds.trainIds[i]!)}</b> · ${area === 0 ? 'no nerve' : `nerve ${area} px`}`;
    tiles.push(await draw.tile(i, [{ runs: truth, colour: OUTLINE.truth }], `training image ${ds.trainIds[i]!}`, caption));
  }
  return {
    id: 'data', title: 'Data',
    body: `<div class="cards">${cards}</div>\n<div class="charts">${charts}</div>\n` +
      `<h3>Random training images</h3>${LEGEND}<div class="grid">${tiles.join('\n')}</div>`,
  };
}

/** Models: training curves of both trainings from their history artifacts. */
export async function modelsCurves(seg: History | undefined, cls: History | undefined, draw: Draw): Promise<string> {
  const out: string[] = [];
  if (seg) {
    // The loss is train-seg's (dice, plus BCE with bce_weight); the Dice is per image, as Kaggle scores (and `monitor: val_image_dice` picks by).
    out.push(await draw.chart(lossSpec(seg.epochs, seg.best_epoch, 'U-Net: loss per epoch')));
    out.push(await draw.chart(metricSpec(seg.epochs, 'val_image_dice', seg.best_epoch, 'U-Net: validation Dice per image, per epoch')));
  }
  if (cls) {
    out.push(await draw.chart(lossSpec(cls.epochs, cls.best_epoch, 'Classifier: focal loss per epoch')));
    out.push(await draw.chart(metricSpec(cls.epochs, 'val_acc', cls.best_epoch, 'Classifier: validation accuracy per epoch')));
  }
  if (out.length === 0) return '<p class="note">No training history in the inputs (train-seg and train-cls write it as seg_history and cls_history).</p>';
  return `<h3>Training curves</h3><div class="charts">${out.map(chart).join('')}</div>`;
}

/** A validation image before and after the gate, each with its Dice. */
async function pairOf(v: ValImage, ds: Dataset, draw: Draw, kind?: string): Promise<string> {
  const before = await draw.tile(v.index, [{ runs: v.truth, colour: OUTLINE.truth }, { runs: v.unet, colour: OUTLINE.prediction }],
    `${v.id} U-Net alone`, `U-Net alone · Dice <b>${fmt(v.diceUnet)}</b>`);
  const after = await draw.tile(v.index, [{ runs: v.truth, colour: OUTLINE.truth }, { runs: v.gated, colour: OUTLINE.prediction }],
    `${v.id} after the gate`, `after the gate · Dice <b>${fmt(v.dice)}</b> · classifier ${fmt(v.cls, 2)}`);
  const truth = runsArea(v.truth);
  return `<div class="pair"><h4>${esc(v.id)} <span class="params">${truth === 0 ? 'no nerve' : `nerve ${truth} px`}</span>` +
    `${kind ? `<span class="kind">${esc(kind)}</span>` : ''}</h4><div class="tiles">${before}${after}</div></div>`;
}

/** Models: random validation images and the worst cases, before and after the gate. */
export async function predictionGrids(ds: Dataset, vs: ValStats, draw: Draw, samples: number, worst: number, seed: number): Promise<string> {
  const picks = makeRng(seed + 1).shuffle([...vs.images]).slice(0, samples).sort((a, b) => (a.id < b.id ? -1 : 1));
  const random: string[] = [];
  for (const v of picks) random.push(await pairOf(v, ds, draw));
  const bad = worstCases(vs.images, worst);
  const worstPairs: string[] = [];
  for (const v of bad) worstPairs.push(await pairOf(v, ds, draw, errorKind(v)));
  return `<h3>Validation images: truth and prediction, before and after the gate</h3>${LEGEND}<div class="pairs">${random.join('\n')}</div>` +
    `<h3>Worst cases after the gate</h3><p class="note">Sorted by error (1 − Dice), ties by the number of wrong pixels: ` +
    `false positives on images with no nerve, missed nerves, poor overlaps.</p>` +
    (bad.length ? `<div class="pairs">${worstPairs.join('\n')}</div>` : '<p class="note">Every validation image is scored 1.</p>');
}

/** Metrics: Dice with and without the gate and the all-empty baseline, presence, classifier ROC and confusion. */
export async function metricsSection(vs: ValStats, draw: Draw): Promise<Section> {
  const cards = [
    card(metricNum('gate', 'val_dice', vs.valDice), 'validation Dice, gated'),
    card(metricNum('gate', 'val_dice_unet', vs.valDiceUnet), 'validation Dice, U-Net alone'),
    card(fmt(vs.emptyBaseline), 'all-empty baseline'),
    card(metricNum('gate', 'presence_precision', vs.presence.precision), 'presence precision (gated)'),
    card(metricNum('gate', 'presence_recall', vs.presence.recall), 'presence recall (gated)'),
    card(fmt(vs.auc), 'classifier ROC AUC'),
  ].join('');
  const scores = scoreSpec([
    { name: 'after the gate', value: vs.valDice },
    { name: 'U-Net alone', value: vs.valDiceUnet },
    { name: 'all empty (baseline)', value: vs.emptyBaseline },
  ]);
  const c = vs.confusion;
  const at = { threshold: vs.clsThreshold, fpr: c.fp + c.tn === 0 ? 0 : c.fp / (c.fp + c.tn), tpr: c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn) };
  const charts = [await draw.chart(scores), await draw.chart(diceHistSpec(vs.images)), await draw.chart(rocSpec(vs.roc, at, vs.auc))].map(chart).join('');
  const confusion = table(['', 'classifier: nerve', 'classifier: no nerve'], [
    ['<b>has a nerve</b>', String(c.tp), String(c.fn)],
    ['<b>no nerve</b>', String(c.fp), String(c.tn)],
  ], 'confusion');
  const p = vs.presence;
  const presenceTable = table(['', 'gated mask', 'empty mask'], [
    ['<b>has a nerve</b>', String(p.tp), String(p.fn)],
    ['<b>no nerve</b>', String(p.fp), String(p.tn)],
  ], 'confusion');
  return {
    id: 'metrics', title: 'Metrics',
    body: `<p class="note">On the ${vs.images.length} validation images, Kaggle's metric (mean per-image Dice at the original size; ` +
      `an empty prediction on an image with no nerve scores 1).</p><div class="cards">${cards}</div><div class="charts three">${charts}</div>` +
      `<div class="tables"><div><h3>Classifier at its threshold ${esc(fmt(vs.clsThreshold, 2))}</h3>${confusion}</div>` +
      `<div><h3>Presence after the gate</h3>${presenceTable}</div></div>`,
  };
}

/** The `h x w` grey frame of training image `i`. */
export function greyOf(ds: Dataset, i: number): Uint8Array {
  return frame(ds.trainImages, i, ds.h, ds.w);
}
