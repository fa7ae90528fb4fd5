/**
 * Turning the uint8 artifact tensors into float batches, in plain JS (no TF):
 * scale to 0..1, optional normalisation, optional augmentation. Shared by the
 * training loop and infer, so both see exactly the same inputs.
 */
import type { Rng } from '../lib/prng.js';

/** Input normalisation applied after scaling to 0..1: `(v/255 - mean) / std`. */
export interface Normalisation {
  readonly mean: number;
  readonly std: number;
}

/** No normalisation: inputs are `v / 255`. */
export const IDENTITY_NORM: Normalisation = { mean: 0, std: 1 };

/**
 * A set of samples in row-major uint8 storage: sample `i` of `x` is
 * `x[i*h*w .. (i+1)*h*w)`; `y` holds either one 0/1 mask of `h*w` per sample
 * (`yPerSample = h*w`) or one 0/1 label (`yPerSample = 1`). `index` selects
 * which samples belong to the set (e.g. a split's train indices).
 */
export interface SampleSet {
  readonly x: Uint8Array;
  readonly y: Uint8Array;
  readonly h: number;
  readonly w: number;
  readonly yPerSample: number;
  readonly index: readonly number[];
}

/** Augmentation settings; all off means the batch is a plain copy. */
export interface Augment {
  /** Mirror left-right with probability 1/2. */
  readonly flip: boolean;
  /** Largest shift in pixels along each axis (0 = none); edges replicate. */
  readonly shift: number;
}

/**
 * Mean and standard deviation of `x / 255` over the given samples (a std of
 * 0, e.g. constant images, is returned as 1 so dividing stays finite).
 */
export function computeNormalisation(x: Uint8Array, h: number, w: number, index: readonly number[]): Normalisation {
  const px = h * w;
  let sum = 0;
  let sq = 0;
  for (const i of index) {
    for (let j = i * px; j < (i + 1) * px; j++) {
      const v = x[j]! / 255;
      sum += v;
      sq += v * v;
    }
  }
  const n = index.length * px;
  if (n === 0) return IDENTITY_NORM;
  const mean = sum / n;
  const std = Math.sqrt(Math.max(0, sq / n - mean * mean));
  return { mean, std: std > 1e-6 ? std : 1 };
}

/**
 * Builds one batch: `xs` float32 `[n*h*w]` normalised, `ys` float32
 * `[n*yPerSample]`. With `augment` and `rng`, each sample gets its own random
 * flip/shift, applied identically to its mask when `yPerSample = h*w`.
 */
export function makeBatch(
  set: SampleSet,
  picks: readonly number[],
  norm: Normalisation,
  augment?: Augment,
  rng?: Rng,
): { xs: Float32Array; ys: Float32Array } {
  const { h, w, yPerSample } = set;
  const px = h * w;
  const xs = new Float32Array(picks.length * px);
  const ys = new Float32Array(picks.length * yPerSample);
  const scale = 1 / (255 * norm.std);
  const offset = norm.mean / norm.std;
  picks.forEach((i, b) => {
    let flip = false;
    let dy = 0;
    let dx = 0;
    if (augment !== undefined && rng !== undefined) {
      flip = augment.flip && rng.next() < 0.5;
      if (augment.shift > 0) {
        dy = rng.int(-augment.shift, augment.shift);
        dx = rng.int(-augment.shift, augment.shift);
      }
    }
    const moved = flip || dy !== 0 || dx !== 0;
    const src = i * px;
    for (let r = 0; r < h; r++) {
      const sr = moved ? Math.min(h - 1, Math.max(0, r - dy)) : r;
      for (let c = 0; c < w; c++) {
        let sc = moved ? Math.min(w - 1, Math.max(0, c - dx)) : c;
        if (flip) sc = w - 1 - sc;
        xs[b * px + r * w + c] = set.x[src + sr * w + sc]! * scale - offset;
        if (yPerSample === px) ys[b * px + r * w + c] = set.y[i * px + sr * w + sc]!;
      }
    }
    if (yPerSample !== px) {
      for (let k = 0; k < yPerSample; k++) ys[b * yPerSample + k] = set.y[i * yPerSample + k]!;
    }
  });
  return { xs, ys };
}
