/**
 * The Kaggle metric (mean per-image Dice, 1 when both masks are empty) and
 * presence precision/recall, on masks or directly on RLE runs.
 */
import { runsArea, type Run } from './rle.js';

/**
 * Dice of two same-length binary masks (non-zero = set):
 * `2|X∩Y| / (|X| + |Y|)`, and 1 when both are empty.
 */
export function dice(pred: Uint8Array, truth: Uint8Array): number {
  if (pred.length !== truth.length) throw new Error(`dice: masks differ in size (${pred.length} vs ${truth.length})`);
  let inter = 0;
  let sum = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i] !== 0 ? 1 : 0;
    const t = truth[i] !== 0 ? 1 : 0;
    inter += p & t;
    sum += p + t;
  }
  return sum === 0 ? 1 : (2 * inter) / sum;
}

/**
 * Dice of two masks given as sorted, non-overlapping runs (as `parseRle`
 * returns): same value as {@link dice} on the decoded masks, in O(runs).
 */
export function diceRuns(pred: readonly Run[], truth: readonly Run[]): number {
  const sum = runsArea(pred) + runsArea(truth);
  if (sum === 0) return 1;
  let inter = 0;
  let i = 0;
  let j = 0;
  while (i < pred.length && j < truth.length) {
    const a = pred[i]!;
    const b = truth[j]!;
    const aEnd = a.start + a.length;
    const bEnd = b.start + b.length;
    const lo = Math.max(a.start, b.start);
    const hi = Math.min(aEnd, bEnd);
    if (hi > lo) inter += hi - lo;
    if (aEnd < bEnd) i++;
    else j++;
  }
  return (2 * inter) / sum;
}

/** Mean of per-image scores; 1 for an empty list (nothing to get wrong). */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return 1;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** The Kaggle score of paired masks: mean over images of {@link dice}. */
export function meanDice(preds: readonly Uint8Array[], truths: readonly Uint8Array[]): number {
  if (preds.length !== truths.length) throw new Error(`meanDice: ${preds.length} predictions for ${truths.length} truths`);
  return mean(preds.map((p, i) => dice(p, truths[i]!)));
}

/** Counts of mask presence (non-empty) agreement between predictions and truths. */
export interface Presence {
  /** Predicted a nerve where there is one. */
  readonly tp: number;
  /** Predicted a nerve where there is none. */
  readonly fp: number;
  /** Missed a nerve. */
  readonly fn: number;
  /** Correctly predicted no nerve. */
  readonly tn: number;
  /** tp / (tp + fp); 1 when nothing was predicted (no false alarm). */
  readonly precision: number;
  /** tp / (tp + fn); 1 when there was nothing to find. */
  readonly recall: number;
}

/** Presence precision/recall from paired booleans (predicted non-empty, truly non-empty). */
export function presence(predicted: readonly boolean[], actual: readonly boolean[]): Presence {
  if (predicted.length !== actual.length) throw new Error(`presence: ${predicted.length} predictions for ${actual.length} truths`);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < predicted.length; i++) {
    const p = predicted[i]!;
    const a = actual[i]!;
    if (p && a) tp++;
    else if (p) fp++;
    else if (a) fn++;
    else tn++;
  }
  return {
    tp,
    fp,
    fn,
    tn,
    precision: tp + fp === 0 ? 1 : tp / (tp + fp),
    recall: tp + fn === 0 ? 1 : tp / (tp + fn),
  };
}
