/**
 * Validation metrics for the training loop (see {@link Evaluator}).
 */
import { imageDice } from './losses.js';
import type { Evaluator } from './train-loop.js';
import type * as TfModule from '@tensorflow/tfjs';

type Tensor = TfModule.Tensor;

/**
 * Segmentation metrics over the whole validation set:
 * - `val_dice`: soft Dice of all pixels pooled (the loss's quantity, smooth 1);
 * - `val_image_dice`: Kaggle's metric at 80x112-ish model size: mean per-image
 *   Dice of the mask binarised at `threshold`, empty vs empty = 1;
 * - `val_empty_dice`: the same metric for an all-empty prediction (the
 *   fraction of empty truths), the baseline a useful model must beat.
 */
export function segEvaluator(threshold = 0.5): Evaluator {
  let inter = 0;
  let sumT = 0;
  let sumP = 0;
  let imgDice = 0;
  let empty = 0;
  let count = 0;
  return {
    batch(yTrue: Tensor, yPred: Tensor, n: number): void {
      const t = yTrue.dataSync();
      const p = yPred.dataSync();
      const px = t.length / n;
      for (let i = 0; i < n; i++) {
        const ti = t.subarray(i * px, (i + 1) * px);
        const pi = p.subarray(i * px, (i + 1) * px);
        let st = 0;
        for (let j = 0; j < px; j++) {
          inter += ti[j]! * pi[j]!;
          st += ti[j]!;
          sumP += pi[j]!;
        }
        sumT += st;
        if (st === 0) empty++;
        imgDice += imageDice(ti, pi, threshold);
        count++;
      }
    },
    result(): Record<string, number> {
      const r = {
        val_dice: (2 * inter + 1) / (sumT + sumP + 1),
        val_image_dice: count > 0 ? imgDice / count : NaN,
        val_empty_dice: count > 0 ? empty / count : NaN,
      };
      inter = sumT = sumP = imgDice = empty = count = 0;
      return r;
    },
  };
}

/**
 * Classifier metrics: `val_acc` at 0.5, `val_auc` (ROC area, ties count
 * half; NaN when only one class is present), `val_pos_rate` (fraction of
 * positive labels, for reading the accuracy).
 */
export function clsEvaluator(): Evaluator {
  let scores: Array<[number, number]> = [];
  return {
    batch(yTrue: Tensor, yPred: Tensor): void {
      const t = yTrue.dataSync();
      const p = yPred.dataSync();
      for (let i = 0; i < t.length; i++) scores.push([p[i]!, t[i]!]);
    },
    result(): Record<string, number> {
      const r = { val_acc: accuracy(scores), val_auc: auc(scores), val_pos_rate: posRate(scores) };
      scores = [];
      return r;
    },
  };
}

function accuracy(s: ReadonlyArray<readonly [number, number]>): number {
  if (s.length === 0) return NaN;
  return s.filter(([p, t]) => (p >= 0.5 ? 1 : 0) === t).length / s.length;
}

function posRate(s: ReadonlyArray<readonly [number, number]>): number {
  return s.length === 0 ? NaN : s.filter(([, t]) => t === 1).length / s.length;
}

/** ROC AUC by the rank-sum (Mann-Whitney) formula. */
export function auc(s: ReadonlyArray<readonly [number, number]>): number {
  const sorted = [...s].sort((a, b) => a[0] - b[0]);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j < sorted.length && sorted[j]![0] === sorted[i]![0]) j++;
    const rank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) {
      if (sorted[k]![1] === 1) {
        pos++;
        rankSum += rank;
      }
    }
    i = j;
  }
  const neg = sorted.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}
