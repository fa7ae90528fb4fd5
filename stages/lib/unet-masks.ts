/**
 * The U-Net's masks, as iso-mask (the classifier's training crops) and infer
 * (the crops it scores) both take them: the `seg_model` artifact run over the
 * images with the normalisation it was trained with, each probability map
 * thresholded the same way. One module, so the masks the classifier is
 * trained on are the masks it is shown.
 *
 * Only these two stages import it: a change here re-runs them and nothing
 * that does not use it. The model code loads lazily, inside {@link segProbs}.
 */
import type { PredictOptions } from '../models/predict.js';
import type { Tf } from '../models/tf-types.js';

/** The frames `indices` of a stacked [N,h,w] array, copied in that order into one [indices.length,h,w] array. */
export function frames(stack: Uint8Array, indices: readonly number[], h: number, w: number): Uint8Array {
  const px = h * w;
  const out = new Uint8Array(indices.length * px);
  indices.forEach((i, k) => out.set(stack.subarray(i * px, (i + 1) * px), k * px));
  return out;
}

/**
 * For each stack of `h x w` uint8 images in `stacks`, the U-Net's mask
 * probabilities `[n*h*w]` (one entry of the result per stack, in order;
 * `opts.onBatch` counts the images of every stack). The model at `segPath`
 * is loaded, checked and disposed here.
 *
 * @throws Error when that model does not take `h x w` images, or cannot be read.
 */
export async function segProbs(
  tf: Tf, segPath: string, h: number, w: number, stacks: readonly Uint8Array[], opts: PredictOptions,
): Promise<Float32Array[]> {
  const { loadModel } = await import('../models/model-io.js');
  const { factsNorm, predictMasks } = await import('../models/predict.js');
  const seg = await loadModel(tf, segPath);
  try {
    const shape = seg.model.inputs[0]?.shape ?? [];
    if (shape[1] !== h || shape[2] !== w) throw new Error(`seg_model takes ${shape[1]}x${shape[2]} images, the dataset has ${h}x${w}`);
    const norm = factsNorm(seg.facts);
    const out: Float32Array[] = [];
    for (const images of stacks) out.push(await predictMasks(tf, seg.model, images, h, w, norm, opts));
    return out;
  } finally {
    seg.model.dispose();
  }
}

/**
 * The mask of the `k`-th map of a stack of probability maps, each
 * `mask.length` pixels: 1 where the probability is at least `threshold`, else
 * 0, written into `mask` (reused from one map to the next). Returns its number
 * of 1s.
 */
export function thresholdMask(probs: Float32Array, k: number, threshold: number, mask: Uint8Array): number {
  const px = mask.length;
  let area = 0;
  for (let j = 0; j < px; j++) {
    const v = probs[k * px + j]! >= threshold ? 1 : 0;
    mask[j] = v;
    area += v;
  }
  return area;
}
