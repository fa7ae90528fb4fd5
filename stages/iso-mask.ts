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
 * Params: {@link ISO_MASK_PARAMS}. Inputs `dataset`, `split`;
 * artifact `crops` (tensors train_x u8 [K,S,S], train_y u8 [K], val_x, val_y).
 */
import { join } from 'node:path';
import { defineStage, type Params, type StageContext } from '../engine/stage-api.js';
import { maskCrop } from './lib/crops.js';
import { frame, readDataset, readSplit, type Dataset } from './lib/dataset.js';
import { declareParams, int, num, readParams } from './lib/params.js';
import { makeRng, subSeed, type Rng } from './lib/prng.js';

/** The resolved params of iso-mask. */
export interface IsoMaskParams {
  readonly cropSize: number;
  readonly negativesTrain: number;
  readonly negativesVal: number;
  readonly maxNegativeOverlap: number;
  readonly shift: number;
  readonly seed: number;
}

/** The params of iso-mask: its contract with pipeline.yaml. */
export const ISO_MASK_PARAMS = declareParams({
  crop_size: int('side of the square crops (the classifier\'s input size)', 128, { minimum: 8 }),
  negatives_train: int('negatives (moved-mask crops) per training image with a nerve', 10, { minimum: 0 }),
  negatives_val: int('negatives per validation image with a nerve', 1, { minimum: 0 }),
  max_negative_overlap: num('a moved mask whose IoU with the true mask exceeds this is redrawn', 0.3, { minimum: 0, maximum: 1 }),
  shift: int('largest move of a negative\'s mask, in pixels each way', 20, { minimum: 1 }),
  seed: int('seed of the moves', 1, { minimum: 0 }),
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

export default defineStage({
  description: 'build the crop classifier training set: mask crops (1) and moved-mask crops (0)',
  params: ISO_MASK_PARAMS,
  artifacts: () => ['crops'],
  async run(ctx: StageContext): Promise<void> {
    const p = isoMaskParams(ctx.params);
    const dsPath = ctx.inputs['dataset'];
    const splitPath = ctx.inputs['split'];
    if (dsPath === undefined || splitPath === undefined) throw new Error('iso-mask needs the input artifacts "dataset" and "split"');
    const ds = await readDataset(dsPath);
    const split = await readSplit(splitPath, ds.trainIds.length);
    const train = buildCrops(ds, split.train, p.negativesTrain, p);
    ctx.progress({ done: 1, total: 2, unit: 'parts' });
    if (ctx.signal.aborted) throw new Error('iso-mask aborted');
    const val = buildCrops(ds, split.val, p.negativesVal, p);
    ctx.progress({ done: 2, total: 2, unit: 'parts' });
    const { writeTensors } = await import('../cache/tensors.js');
    const S = p.cropSize;
    await writeTensors(join(ctx.outDir, 'crops'), {
      train_x: { dtype: 'uint8', shape: [train.y.length, S, S], data: train.x },
      train_y: { dtype: 'uint8', shape: [train.y.length], data: train.y },
      val_x: { dtype: 'uint8', shape: [val.y.length, S, S], data: val.x },
      val_y: { dtype: 'uint8', shape: [val.y.length], data: val.y },
    });
    const pos = (y: Uint8Array): number => y.reduce((a, b) => a + b, 0);
    ctx.metric('train_crops', train.y.length);
    ctx.metric('train_positive', pos(train.y));
    ctx.metric('val_crops', val.y.length);
    ctx.metric('val_positive', pos(val.y));
  },
});
