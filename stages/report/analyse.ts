/**
 * The numbers of the report, computed from the artifacts (pure, no I/O):
 * dataset statistics, and per validation image the Dice before and after the
 * gate, the classifier's score, and the gate's metrics recomputed the way the
 * gate computes them (so they equal `val_dice`, `val_dice_unet`,
 * `presence_precision` and `presence_recall` in pipe.lock).
 */
import { truthRuns, upsampleRuns } from '../gate.js';
import { subjectOf, type Dataset, type Split } from '../lib/dataset.js';
import { diceRuns, mean, presence, type Presence } from '../lib/metric.js';
import { parseRle, runsArea, type Run } from '../lib/rle.js';

/** One subject's row of the data section. */
export interface SubjectStats {
  readonly subject: number;
  readonly side: 'train' | 'val';
  readonly images: number;
  readonly empty: number;
}

/** What the data section shows. */
export interface DataStats {
  readonly trainImages: number;
  readonly testImages: number;
  readonly subjects: number;
  readonly splitTrain: number;
  readonly splitVal: number;
  /** Share of training images whose mask is empty. */
  readonly emptyFraction: number;
  readonly perSubject: readonly SubjectStats[];
  /** Areas (pixels at the original size) of the non-empty training masks. */
  readonly areas: readonly number[];
}

/** One validation image, before and after the gate. */
export interface ValImage {
  readonly id: string;
  /** Index into the dataset's training images. */
  readonly index: number;
  /** Position in the predictions' validation arrays. */
  readonly k: number;
  readonly truth: readonly Run[];
  readonly unet: readonly Run[];
  readonly gated: readonly Run[];
  readonly dice: number;
  readonly diceUnet: number;
  /** The classifier's probability that the predicted mask is a nerve. */
  readonly cls: number;
}

/** A point of the classifier's ROC curve: the rates when accepting scores >= threshold. */
export interface RocPoint {
  readonly threshold: number;
  readonly fpr: number;
  readonly tpr: number;
}

/** What the metrics section shows. */
export interface ValStats {
  readonly images: readonly ValImage[];
  readonly valDice: number;
  readonly valDiceUnet: number;
  /** Kaggle score of predicting no nerve anywhere: the share of empty truths. */
  readonly emptyBaseline: number;
  readonly presence: Presence;
  readonly roc: readonly RocPoint[];
  readonly auc: number;
  /** The classifier alone at its threshold, against "the image has a nerve". */
  readonly confusion: Presence;
  readonly clsThreshold: number;
}

/** Per-image statistics of the training set and its split. */
export function dataStats(ds: Dataset, split: Split): DataStats {
  const n = ds.trainIds.length;
  const plane = ds.h * ds.w;
  const scale = (ds.origH * ds.origW) / plane;
  const areas: number[] = [];
  const empty = new Array<boolean>(n);
  for (let i = 0; i < n; i++) {
    const rle = ds.trainRle[i];
    let area: number;
    if (rle !== undefined) area = runsArea(parseRle(rle, ds.origH, ds.origW));
    else {
      let c = 0;
      for (let j = i * plane; j < (i + 1) * plane; j++) c += ds.trainMasks[j] !== 0 ? 1 : 0;
      area = Math.round(c * scale);
    }
    empty[i] = area === 0;
    if (area > 0) areas.push(area);
  }
  const val = new Set(split.val_subjects);
  const bySubject = new Map<number, { images: number; empty: number }>();
  ds.trainIds.forEach((id, i) => {
    const s = subjectOf(id);
    const row = bySubject.get(s) ?? { images: 0, empty: 0 };
    row.images++;
    if (empty[i]) row.empty++;
    bySubject.set(s, row);
  });
  const perSubject = [...bySubject.entries()].sort((a, b) => a[0] - b[0])
    .map(([subject, r]) => ({ subject, side: val.has(subject) ? 'val' as const : 'train' as const, ...r }));
  return {
    trainImages: n, testImages: ds.testIds.length, subjects: bySubject.size,
    splitTrain: split.train.length, splitVal: split.val.length,
    emptyFraction: n === 0 ? 0 : empty.filter(Boolean).length / n, perSubject, areas,
  };
}

/** The predictions artifact, decoded (validation part). */
export interface ValPredictions {
  readonly ids: readonly string[];
  /** [n, h, w] probabilities at model size. */
  readonly prob: Float32Array;
  readonly cls: Float32Array;
}

/**
 * Scores every validation image as the gate does: truth at the original size,
 * the U-Net alone (threshold only) and the gated mask from the `masks` artifact.
 */
export function valStats(ds: Dataset, pred: ValPredictions, gatedRle: Readonly<Record<string, string>>, threshold: number, clsThreshold: number): ValStats {
  const plane = ds.h * ds.w;
  const indexOf = new Map(ds.trainIds.map((id, i) => [id, i]));
  const images: ValImage[] = pred.ids.map((id, k) => {
    const index = indexOf.get(id);
    if (index === undefined) throw new Error(`predictions: validation id ${id} is not in the dataset`);
    const rle = gatedRle[id];
    if (rle === undefined) throw new Error(`masks: no validation mask for ${id}`);
    const truth = truthRuns(ds, index);
    const unet = upsampleRuns(pred.prob.subarray(k * plane, (k + 1) * plane), ds.h, ds.w, ds.origH, ds.origW, threshold);
    const gated = parseRle(rle, ds.origH, ds.origW);
    return { id, index, k, truth, unet, gated, dice: diceRuns(gated, truth), diceUnet: diceRuns(unet, truth), cls: pred.cls[k]! };
  });
  const actual = images.map((v) => v.truth.length > 0);
  const { roc, auc } = rocCurve(images.map((v) => v.cls), actual);
  return {
    images,
    valDice: mean(images.map((v) => v.dice)),
    valDiceUnet: mean(images.map((v) => v.diceUnet)),
    emptyBaseline: mean(actual.map((a) => (a ? 0 : 1))),
    presence: presence(images.map((v) => v.gated.length > 0), actual),
    roc, auc,
    confusion: presence(images.map((v) => v.cls >= clsThreshold), actual),
    clsThreshold,
  };
}

/**
 * The ROC curve of `scores` against `labels` (one point per distinct score,
 * from (0,0) to (1,1)) and its area by the trapezoid rule. With no positive
 * or no negative label, the rate without a denominator is 0.
 */
export function rocCurve(scores: readonly number[], labels: readonly boolean[]): { roc: RocPoint[]; auc: number } {
  const order = scores.map((s, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const pos = labels.filter(Boolean).length;
  const neg = labels.length - pos;
  const rate = (x: number, d: number): number => (d === 0 ? 0 : x / d);
  const roc: RocPoint[] = [{ threshold: 1, fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let j = 0; j < order.length; j++) {
    const i = order[j]!;
    if (labels[i]) tp++;
    else fp++;
    const next = order[j + 1];
    if (next === undefined || scores[next] !== scores[i]) roc.push({ threshold: scores[i]!, fpr: rate(fp, neg), tpr: rate(tp, pos) });
  }
  if (order.length === 0) roc.push({ threshold: 0, fpr: 1, tpr: 1 });
  let auc = 0;
  for (let j = 1; j < roc.length; j++) auc += (roc[j]!.fpr - roc[j - 1]!.fpr) * (roc[j]!.tpr + roc[j - 1]!.tpr) / 2;
  return { roc, auc };
}

/** Why a validation image scores badly after the gate. */
export type ErrorKind = 'false positive' | 'missed nerve' | 'poor overlap' | 'good';

/** The kind of error of a validation image. */
export function errorKind(v: ValImage): ErrorKind {
  if (v.dice >= 0.5) return 'good';
  if (v.truth.length === 0) return 'false positive';
  if (v.gated.length === 0) return 'missed nerve';
  return 'poor overlap';
}

/**
 * The `n` worst validation images after the gate: lowest Dice first, ties
 * (Dice 0) by the number of wrong pixels, largest first.
 */
export function worstCases(images: readonly ValImage[], n: number): ValImage[] {
  const wrong = (v: ValImage): number => runsArea(v.truth) + runsArea(v.gated);
  return images.filter((v) => v.dice < 1).sort((a, b) => a.dice - b.dice || wrong(b) - wrong(a) || (a.id < b.id ? -1 : 1)).slice(0, n);
}
