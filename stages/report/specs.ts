/**
 * The Vega-Lite specs of the report's charts, one function per chart, from
 * the numbers of analyse.ts. Data is inlined in each spec (`data.values`), so
 * a chart is reproducible from its spec alone.
 */
import type { EpochRecord } from '../models/history.js';
import type { RocPoint, SubjectStats, ValImage } from './analyse.js';
import { OKABE_ITO, type VlSpec } from './charts.js';

const W = 340;
const H = 190;

/** Share of empty masks per subject, coloured by the side of the split. */
export function subjectSpec(rows: readonly SubjectStats[]): VlSpec {
  return {
    title: 'Empty masks per subject', width: W, height: H,
    data: { values: rows.map((r) => ({ subject: String(r.subject), side: r.side, empty: r.images === 0 ? 0 : r.empty / r.images, images: r.images })) },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: 'subject', type: 'ordinal', title: 'subject', sort: null, axis: { labelAngle: 0 } },
      y: { field: 'empty', type: 'quantitative', title: 'share of images with no nerve', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
      color: { field: 'side', type: 'nominal', title: null, scale: { domain: ['train', 'val'], range: [OKABE_ITO[4], OKABE_ITO[0]] } },
    },
  };
}

/** Histogram of the non-empty masks' areas. */
export function areaSpec(areas: readonly number[], origH: number, origW: number): VlSpec {
  return {
    title: 'Mask areas (non-empty masks)', width: W, height: H,
    data: { values: areas.map((a) => ({ area: a })) },
    mark: { type: 'bar', color: OKABE_ITO[2] },
    encoding: {
      x: { field: 'area', type: 'quantitative', bin: { maxbins: 24 }, title: `pixels at ${origH}x${origW}` },
      y: { aggregate: 'count', type: 'quantitative', title: 'masks' },
    },
  };
}

/** Training and validation loss per epoch, the kept (best) epoch marked. */
export function lossSpec(epochs: readonly EpochRecord[], best: number, title: string): VlSpec {
  const values = epochs.flatMap((e) => [
    ...(e.loss === null ? [] : [{ epoch: e.epoch, series: 'training loss', value: e.loss }]),
    ...(e.val_loss === null ? [] : [{ epoch: e.epoch, series: 'validation loss', value: e.val_loss }]),
  ]);
  return {
    title, width: W, height: H,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true, tooltip: true },
        encoding: {
          x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
          y: { field: 'value', type: 'quantitative', title: 'loss', scale: { zero: false } },
          color: { field: 'series', type: 'nominal', title: null, scale: { domain: ['training loss', 'validation loss'], range: [OKABE_ITO[4], OKABE_ITO[0]] } },
        },
      },
      bestRule(best),
    ],
  };
}

/** One validation metric per epoch (val_dice, val_acc), the kept epoch marked. */
export function metricSpec(epochs: readonly EpochRecord[], key: string, best: number, title: string): VlSpec {
  const values = epochs.filter((e) => typeof e[key] === 'number').map((e) => ({ epoch: e.epoch, value: e[key] as number }));
  return {
    title, width: W, height: H,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: { color: OKABE_ITO[2] }, color: OKABE_ITO[2], tooltip: true },
        encoding: {
          x: { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } },
          y: { field: 'value', type: 'quantitative', title: key, scale: { domain: [0, 1] } },
        },
      },
      bestRule(best),
    ],
  };
}

function bestRule(best: number): VlSpec {
  return {
    data: { values: [{ epoch: best, label: `kept: epoch ${best}` }] },
    layer: [
      { mark: { type: 'rule', strokeDash: [4, 3], color: '#666' }, encoding: { x: { field: 'epoch', type: 'quantitative' } } },
      { mark: { type: 'text', align: 'left', dx: 4, dy: -4, baseline: 'bottom', color: '#444', fontSize: 10 }, encoding: { x: { field: 'epoch', type: 'quantitative' }, y: { value: 12 }, text: { field: 'label' } } },
    ],
  };
}

/** Validation Dice of the gated masks, the U-Net alone and the all-empty baseline. */
export function scoreSpec(scores: readonly { name: string; value: number }[]): VlSpec {
  return {
    title: 'Validation Dice (Kaggle metric)', width: 170, height: 120,
    data: { values: scores },
    encoding: {
      y: { field: 'name', type: 'nominal', title: null, sort: null, axis: { labelLimit: 200 } },
      x: { field: 'value', type: 'quantitative', title: 'mean Dice', scale: { domain: [0, 1] } },
    },
    layer: [
      { mark: { type: 'bar', tooltip: true }, encoding: { color: { field: 'name', type: 'nominal', legend: null, scale: { domain: scores.map((s) => s.name), range: [OKABE_ITO[2], OKABE_ITO[4], OKABE_ITO[7]] } } } },
      { mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 }, encoding: { text: { field: 'value', type: 'quantitative', format: '.3f' } } },
    ],
  };
}

/** Per-image Dice on the validation images, before and after the gate, in bins of 0.1. */
export function diceHistSpec(images: readonly ValImage[]): VlSpec {
  const bins = Array.from({ length: 10 }, (_, b) => (b / 10).toFixed(1));
  const bin = (d: number): string => bins[Math.min(9, Math.floor(d * 10))]!;
  const counts = new Map<string, number>();
  for (const v of images) {
    for (const [mask, d] of [['U-Net alone', v.diceUnet], ['after the gate', v.dice]] as const) counts.set(`${mask}|${bin(d)}`, (counts.get(`${mask}|${bin(d)}`) ?? 0) + 1);
  }
  const values = bins.flatMap((b) => SERIES.map((mask) => ({ bin: b, mask, images: counts.get(`${mask}|${b}`) ?? 0 })));
  return {
    title: 'Per-image Dice on validation', width: 250, height: H,
    data: { values },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: { field: 'bin', type: 'ordinal', sort: bins, title: 'Dice of one image (bins of 0.1)', axis: { labelAngle: 0 } },
      y: { field: 'images', type: 'quantitative', title: 'images' },
      xOffset: { field: 'mask', type: 'nominal', sort: SERIES },
      color: { field: 'mask', type: 'nominal', title: null, scale: { domain: SERIES, range: [OKABE_ITO[4], OKABE_ITO[2]] } },
    },
  };
}

const SERIES = ['U-Net alone', 'after the gate'];

/** The classifier's ROC curve on the validation images, its threshold marked. */
export function rocSpec(roc: readonly RocPoint[], at: { fpr: number; tpr: number; threshold: number }, auc: number): VlSpec {
  return {
    title: `Classifier ROC (AUC ${auc.toFixed(3)})`, width: 190, height: 190,
    layer: [
      {
        data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
        mark: { type: 'line', strokeDash: [4, 4], color: '#aaa', strokeWidth: 1 },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values: roc.map((p) => ({ ...p })) },
        mark: { type: 'line', interpolate: 'step-after', color: OKABE_ITO[4], tooltip: true },
        encoding: {
          x: { field: 'fpr', type: 'quantitative', title: 'false positive rate', scale: { domain: [0, 1] } },
          y: { field: 'tpr', type: 'quantitative', title: 'true positive rate', scale: { domain: [0, 1] } },
          order: { field: 'fpr', type: 'quantitative' },
        },
      },
      {
        data: { values: [{ ...at, label: `threshold ${at.threshold}` }] },
        layer: [
          { mark: { type: 'point', shape: 'diamond', size: 110, color: OKABE_ITO[5], filled: true }, encoding: { x: { field: 'fpr', type: 'quantitative' }, y: { field: 'tpr', type: 'quantitative' } } },
          { mark: { type: 'text', align: 'left', dx: 9, dy: 14, fontSize: 11, color: '#333' }, encoding: { x: { field: 'fpr', type: 'quantitative' }, y: { field: 'tpr', type: 'quantitative' }, text: { field: 'label' } } },
        ],
      },
    ],
  };
}

/**
 * A sweep's metric against one swept param (one line per value of a second
 * param, if any). Points are `{x, y, by?}`: names with dots (gate.min_pixels)
 * would read as nested fields in Vega-Lite, so they appear only as titles.
 */
export function sweepSpec(points: readonly { x: number; y: number; by?: string }[], x: string, metric: string, by?: string): VlSpec {
  return {
    title: `${metric} against ${x}`, width: W, height: H,
    data: { values: points },
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: x, scale: { zero: false } },
      y: { field: 'y', type: 'quantitative', title: metric, scale: { zero: false } },
      ...(by === undefined ? { color: { value: OKABE_ITO[4] } } : { color: { field: 'by', type: 'nominal', title: by, sort: [...new Set(points.map((p) => p.by))].sort((a, b) => Number(a) - Number(b) || (a! < b! ? -1 : 1)) } }),
    },
  };
}
