/**
 * Losses and metrics of the two models, as functions of `tf` so they run on
 * whichever backend the caller loaded. All return scalars; callers wrap them
 * in `tf.tidy` (or `optimizer.minimize`, which tidies).
 */
import { dice } from '../lib/metric.js';
import type * as TfModule from '@tensorflow/tfjs';
import type { Tf } from './tf-types.js';

type Tensor = TfModule.Tensor;
type Scalar = TfModule.Scalar;

/** The dice smoothing term of the reference solution. */
export const DICE_SMOOTH = 1;

/**
 * Soft Dice over the whole batch, as in the reference Keras code:
 * `(2·Σ(y·p) + 1) / (Σy + Σp + 1)`, sums over every pixel of every image
 * (not a mean of per-image Dice). An all-empty truth and an all-zero
 * prediction give 1.
 */
export function diceCoef(tf: Tf, yTrue: Tensor, yPred: Tensor, smooth = DICE_SMOOTH): Scalar {
  return tf.tidy(() => {
    const inter = tf.sum(tf.mul(yTrue, yPred));
    const total = tf.add(tf.sum(yTrue), tf.sum(yPred));
    return tf.div(tf.add(tf.mul(inter, 2), smooth), tf.add(total, smooth)) as Scalar;
  });
}

/** The U-Net loss: `-diceCoef` (lower is better, minimum -1). */
export function diceLoss(tf: Tf, yTrue: Tensor, yPred: Tensor, smooth = DICE_SMOOTH): Scalar {
  return tf.tidy(() => tf.neg(diceCoef(tf, yTrue, yPred, smooth)));
}

/**
 * Mean binary cross-entropy over every element, probabilities clipped to
 * `[eps, 1 - eps]`. Unlike the pooled Dice, it charges every false-positive
 * pixel of an image without a nerve the same, whatever else is in the batch.
 */
export function bceLoss(tf: Tf, yTrue: Tensor, yPred: Tensor, eps = 1e-7): Scalar {
  return tf.tidy(() => {
    const p = tf.clipByValue(yPred, eps, 1 - eps);
    const pos = tf.mul(yTrue, tf.log(p));
    const neg = tf.mul(tf.sub(1, yTrue), tf.log(tf.sub(1, p)));
    return tf.neg(tf.mean(tf.add(pos, neg))) as Scalar;
  });
}

/** Weights of the terms of {@link segLoss} (all 0: the reference's dice loss). */
export interface SegLossWeights {
  /** Weight of the pixel-wise {@link bceLoss}. */
  readonly bce: number;
  /**
   * Weight of the image-level presence term: cross-entropy between each
   * image's largest predicted probability and whether its truth has any
   * nerve pixel (an empty image should have no pixel near 1).
   */
  readonly presence: number;
}

/**
 * The U-Net loss: `-diceCoef + bce·BCE(pixels) + presence·BCE(max pixel,
 * image has a nerve)`. With both weights 0 it is {@link diceLoss}.
 * Tensors are `[batch, h, w, 1]`.
 */
export function segLoss(tf: Tf, yTrue: Tensor, yPred: Tensor, w: SegLossWeights): Scalar {
  return tf.tidy(() => {
    let loss: Scalar = tf.neg(diceCoef(tf, yTrue, yPred));
    if (w.bce > 0) loss = tf.add(loss, tf.mul(bceLoss(tf, yTrue, yPred), w.bce));
    if (w.presence > 0) {
      const axes = [1, 2, 3];
      const present = bceLoss(tf, tf.max(yTrue, axes), tf.max(yPred, axes));
      loss = tf.add(loss, tf.mul(present, w.presence));
    }
    return loss;
  });
}

/** Options of {@link focalLoss}. */
export interface FocalOptions {
  /** Focusing exponent (reference 7). 0 gives alpha-weighted cross-entropy. */
  readonly gamma: number;
  /** Weight of the positive class; negatives get `1 - alpha` (reference 0.9). */
  readonly alpha: number;
  /** Probabilities are clipped to `[eps, 1 - eps]` before the log (default 1e-7). */
  readonly eps?: number;
}

/**
 * Binary focal loss (Lin et al. 2017), mean over elements:
 * `-[ y·α·(1-p)^γ·log p + (1-y)·(1-α)·p^γ·log(1-p) ]`.
 *
 * The reference Keras code summed over the batch instead of averaging; with
 * Adam the two differ only by a constant factor (Adam is scale-invariant up
 * to its epsilon), and the mean does not change with batch size.
 */
export function focalLoss(tf: Tf, yTrue: Tensor, yPred: Tensor, opts: FocalOptions): Scalar {
  const { gamma, alpha } = opts;
  const eps = opts.eps ?? 1e-7;
  return tf.tidy(() => {
    const p = tf.clipByValue(yPred, eps, 1 - eps);
    const q = tf.sub(1, p);
    const pos = tf.mul(tf.mul(yTrue, alpha), tf.mul(tf.pow(q, gamma), tf.log(p)));
    const neg = tf.mul(tf.mul(tf.sub(1, yTrue), 1 - alpha), tf.mul(tf.pow(p, gamma), tf.log(q)));
    return tf.neg(tf.mean(tf.add(pos, neg))) as Scalar;
  });
}

/** Fraction of elements where `yPred >= threshold` equals `yTrue` (0/1). */
export function binaryAccuracy(tf: Tf, yTrue: Tensor, yPred: Tensor, threshold = 0.5): Scalar {
  return tf.tidy(() => {
    const hard = tf.cast(tf.greaterEqual(yPred, threshold), 'float32');
    return tf.mean(tf.cast(tf.equal(hard, yTrue), 'float32')) as Scalar;
  });
}

/**
 * Kaggle's metric on one image, from flat 0/1 masks: `2|A∩B| / (|A|+|B|)`,
 * and 1 when both are empty. `pred` holds probabilities binarised at
 * `threshold`; `truth` holds 0/1.
 */
export function imageDice(truth: ArrayLike<number>, pred: ArrayLike<number>, threshold = 0.5): number {
  const t = new Uint8Array(truth.length);
  const p = new Uint8Array(truth.length);
  for (let i = 0; i < truth.length; i++) {
    t[i] = truth[i] !== 0 ? 1 : 0;
    p[i] = (pred[i] ?? 0) >= threshold ? 1 : 0;
  }
  return dice(p, t);
}
