/**
 * Stage kind `iso-mask`: the crop classifier's training set, built from the
 * dataset tensors at model resolution (nothing is re-read).
 *
 * For each image with a nerve, in the split's train (resp. val) part:
 * - one positive (label 1): `maskCrop` of the true mask (its bounding box,
 *   image pixels where the mask is 1 on grey 128, resized to crop_size);
 * - `negatives_train` resp. `negatives_val` negatives (label 0): the
 *   same mask shape moved by a random offset of up to `shift` pixels
 *   each way (at least a quarter of it in one of the axes), cropped the same
 *   way. A moved mask whose IoU with the true mask exceeds
 *   `max_negative_overlap`, or that falls mostly off the image, is
 *   dropped and redrawn (up to 20 tries, then that negative is skipped), so
 *   no negative shows much of the nerve.
 *
 * With `predicted` (input `seg_model` from train-seg), the crops the
 * classifier meets at inference are added: the U-Net's own mask of every
 * image of the part (probability >= `mask_threshold`, as infer crops it),
 * labelled 1 when the image has a nerve and that mask's Dice with it is at
 * least `positive_dice`, else 0 (a blob on an image without a nerve, or
 * beside the nerve). Images where the U-Net finds nothing give no crop.
 * Params: {@link ISO_MASK_PARAMS}. Inputs `dataset`, `split` (and `seg_model`);
 * artifact `crops` (tensors train_x u8 [K,S,S], train_y u8 [K], val_x, val_y).
 */
import { join } from 'node:path';
import { defineStage, type Params, type StageContext } from '../engine/stage-api.js';
import type { BackendPref } from './lib/backend.js';
import { maskCrop } from './lib/crops.js';
import { frame, readDataset, readSplit, type Dataset } from './lib/dataset.js';
import { dice } from './lib/metric.js';
import { BACKEND, bool, declareParams, int, num, readParams, THREADS, threadsOption } from './lib/params.js';
import { makeRng, subSeed, type Rng } from './lib/prng.js';
import { frames, segProbs, thresholdMask } from './lib/unet-masks.js';

/** The resolved params of iso-mask. */
export interface IsoMaskParams {
  readonly cropSize: number;
  readonly negativesTrain: number;
  readonly negativesVal: number;
  readonly maxNegativeOverlap: number;
  readonly shift: number;
  readonly seed: number;
  readonly predicted: boolean;
  readonly maskThreshold: number;
  readonly positiveDice: number;
  readonly backend: BackendPref;
  readonly threads: number;
}

/** The params of iso-mask: its contract with pipeline.yaml. */
export const ISO_MASK_PARAMS = declareParams({
  crop_size: int('side of the square crops (the classifier\'s input size)', 128, { minimum: 8 }),
  negatives_train: int('negatives (moved-mask crops) per training image with a nerve', 10, { minimum: 0 }),
  negatives_val: int('negatives per validation image with a nerve', 1, { minimum: 0 }),
  max_negative_overlap: num('a moved mask whose IoU with the true mask exceeds this is redrawn', 0.3, { minimum: 0, maximum: 1 }),
  shift: int('largest move of a negative\'s mask, in pixels each way', 20, { minimum: 1 }),
  seed: int('seed of the moves', 1, { minimum: 0 }),
  predicted: bool('add crops of the U-Net\'s own masks of the same images (needs train-seg\'s seg_model)', false),
  mask_threshold: num('with predicted: a pixel at or above this probability is in the U-Net\'s mask (infer\'s mask_threshold)', 0.3, { minimum: 0, maximum: 1 }),
  positive_dice: num('with predicted: a U-Net mask is a positive when its image has a nerve and their Dice is at least this', 0.3, { minimum: 0, maximum: 1 }),
  backend: BACKEND,
  threads: THREADS,
});

/** Validates iso-mask params (throws naming the param). */
export function isoMaskParams(params: Params): IsoMaskParams {
  const p = readParams(ISO_MASK_PARAMS, params);
  return {
    cropSize: p.crop_size,
    negativesTrain: p.negatives_train,
    negativesVal: p.negatives_val,
    maxNegativeOverlap: p.max_negative_overlap,
    shift: p.shift,
    seed: p.seed,
    predicted: p.predicted,
    maskThreshold: p.mask_threshold,
    positiveDice: p.positive_dice,
    backend: p.backend,
    threads: p.threads,
  };
}

/** `mask` moved by (dy, dx), pixels leaving the frame dropped. */
export function shiftMask(mask: Uint8Array, h: number, w: number, dy: number, dx: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = Math.max(0, -dy); y < Math.min(h, h - dy); y++) {
    for (let x = Math.max(0, -dx); x < Math.min(w, w - dx); x++) out[(y + dy) * w + x + dx] = mask[y * w + x]!;
  }
  return out;
}

/** Intersection over union of two binary masks (0 when both are empty). */
export function iou(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const p = a[i] !== 0;
    const q = b[i] !== 0;
    if (p && q) inter++;
    if (p || q) union++;
  }
  return union === 0 ? 0 : inter / union;
}

/** A moved copy of `mask` acceptable as a negative, or null after 20 tries. */
function negativeMask(rng: Rng, mask: Uint8Array, area: number, h: number, w: number, p: IsoMaskParams): Uint8Array | null {
  for (let tries = 0; tries < 20; tries++) {
    const dy = rng.int(-p.shift, p.shift);
    const dx = rng.int(-p.shift, p.shift);
    if (Math.max(Math.abs(dy), Math.abs(dx)) < p.shift / 4) continue;
    const moved = shiftMask(mask, h, w, dy, dx);
    let kept = 0;
    for (let i = 0; i < moved.length; i++) kept += moved[i]!;
    if (kept < area / 2) continue;
    if (iou(moved, mask) > p.maxNegativeOverlap) continue;
    return moved;
  }
  return null;
}

/** Crops and labels of one part of the split. */
export function buildCrops(ds: Dataset, indices: readonly number[], negatives: number, p: IsoMaskParams): { x: Uint8Array; y: Uint8Array } {
  const { h, w } = ds;
  const s2 = p.cropSize * p.cropSize;
  const crops: Uint8Array[] = [];
  const labels: number[] = [];
  for (const i of indices) {
    const image = frame(ds.trainImages, i, h, w);
    const mask = frame(ds.trainMasks, i, h, w);
    let area = 0;
    for (let k = 0; k < mask.length; k++) area += mask[k]!;
    if (area === 0) continue;
    crops.push(maskCrop(image, mask, h, w, p.cropSize));
    labels.push(1);
    const rng = makeRng(subSeed(p.seed, i));
    for (let n = 0; n < negatives; n++) {
      const moved = negativeMask(rng, mask, area, h, w, p);
      if (moved === null) continue;
      crops.push(maskCrop(image, moved, h, w, p.cropSize));
      labels.push(0);
    }
  }
  const x = new Uint8Array(crops.length * s2);
  crops.forEach((c, k) => x.set(c, k * s2));
  return { x, y: Uint8Array.from(labels) };
}

/**
 * Crops of the U-Net's masks: `probs` holds one `h x w` probability map per
 * entry of `indices`. Each non-empty mask (probability >= `maskThreshold`)
 * gives its `maskCrop`, labelled 1 when the image's true mask is non-empty
 * and the Dice of the two is at least `positiveDice`, else 0.
 */
export function predictedCrops(
  ds: Dataset, indices: readonly number[], probs: Float32Array, p: Pick<IsoMaskParams, 'cropSize' | 'maskThreshold' | 'positiveDice'>,
): { x: Uint8Array; y: Uint8Array } {
  const { h, w } = ds;
  const crops: Uint8Array[] = [];
  const labels: number[] = [];
  const mask = new Uint8Array(h * w);
  indices.forEach((i, k) => {
    if (thresholdMask(probs, k, p.maskThreshold, mask) === 0) return;
    const truth = frame(ds.trainMasks, i, h, w);
    const nerve = truth.some((v) => v !== 0);
    crops.push(maskCrop(frame(ds.trainImages, i, h, w), mask, h, w, p.cropSize));
    labels.push(nerve && dice(mask, truth) >= p.positiveDice ? 1 : 0);
  });
  const x = new Uint8Array(crops.length * p.cropSize * p.cropSize);
  crops.forEach((c, k) => x.set(c, k * p.cropSize * p.cropSize));
  return { x, y: Uint8Array.from(labels) };
}

/** `a` then `b`, crops and labels. */
function concatCrops(a: { x: Uint8Array; y: Uint8Array }, b: { x: Uint8Array; y: Uint8Array }): { x: Uint8Array; y: Uint8Array } {
  const x = new Uint8Array(a.x.length + b.x.length);
  x.set(a.x);
  x.set(b.x, a.x.length);
  const y = new Uint8Array(a.y.length + b.y.length);
  y.set(a.y);
  y.set(b.y, a.y.length);
  return { x, y };
}

/** The U-Net's probability maps of the training images of each part (seg_model's own normalisation). */
async function unetProbs(
  ctx: StageContext, segPath: string, ds: Dataset, parts: readonly (readonly number[])[], p: { backend: BackendPref; threads: number },
): Promise<Float32Array[]> {
  const { loadTf } = await import('./lib/backend.js');
  const h = await loadTf(p.backend, (m) => ctx.log(m), threadsOption(p.threads));
  const stacks = parts.map((indices) => frames(ds.trainImages, indices, ds.h, ds.w));
  return segProbs(h.tf, segPath, ds.h, ds.w, stacks, { batchSize: 32, signal: ctx.signal });
}

export default defineStage({
  description: 'build the crop classifier training set: mask crops (1), moved-mask crops (0) and the U-Net\'s own masks',
  params: ISO_MASK_PARAMS,
  artifacts: () => ['crops'],
  async run(ctx: StageContext): Promise<void> {
    const p = isoMaskParams(ctx.params);
    const dsPath = ctx.inputs['dataset'];
    const splitPath = ctx.inputs['split'];
    if (dsPath === undefined || splitPath === undefined) throw new Error('iso-mask needs the input artifacts "dataset" and "split"');
    const ds = await readDataset(dsPath);
    const split = await readSplit(splitPath, ds.trainIds.length);
    const pos = (y: Uint8Array): number => y.reduce((a, b) => a + b, 0);
    const parts = p.predicted ? 3 : 2; // moved-mask crops of train and val; the U-Net's masks of both
    let train = buildCrops(ds, split.train, p.negativesTrain, p);
    ctx.progress({ done: 1, total: parts, unit: 'parts' });
    if (ctx.signal.aborted) throw new Error('iso-mask aborted');
    let val = buildCrops(ds, split.val, p.negativesVal, p);
    ctx.progress({ done: 2, total: parts, unit: 'parts' });
    if (p.predicted) {
      const segPath = ctx.inputs['seg_model'];
      if (segPath === undefined) throw new Error('param predicted: iso-mask needs the seg_model artifact (add train-seg to its needs)');
      const [trainProbs = new Float32Array(0), valProbs = new Float32Array(0)] = await unetProbs(ctx, segPath, ds, [split.train, split.val], p);
      const predTrain = predictedCrops(ds, split.train, trainProbs, p);
      const predVal = predictedCrops(ds, split.val, valProbs, p);
      ctx.metric('predicted_train_crops', predTrain.y.length);
      ctx.metric('predicted_train_positive', pos(predTrain.y));
      ctx.metric('predicted_val_crops', predVal.y.length);
      ctx.metric('predicted_val_positive', pos(predVal.y));
      ctx.progress({ done: 3, total: parts, unit: 'parts' });
      train = concatCrops(train, predTrain);
      val = concatCrops(val, predVal);
    }
    const { writeTensors } = await import('../cache/tensors.js');
    const S = p.cropSize;
    await writeTensors(join(ctx.outDir, 'crops'), {
      train_x: { dtype: 'uint8', shape: [train.y.length, S, S], data: train.x },
      train_y: { dtype: 'uint8', shape: [train.y.length], data: train.y },
      val_x: { dtype: 'uint8', shape: [val.y.length, S, S], data: val.x },
      val_y: { dtype: 'uint8', shape: [val.y.length], data: val.y },
    });
    ctx.metric('train_crops', train.y.length);
    ctx.metric('train_positive', pos(train.y));
    ctx.metric('val_crops', val.y.length);
    ctx.metric('val_positive', pos(val.y));
  },
});
