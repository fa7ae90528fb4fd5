import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCrops, isoMaskParams, iou, predictedCrops, shiftMask } from '../stages/iso-mask.js';
import { maskCrop, CANVAS_GREY } from '../stages/lib/crops.js';
import type { Dataset } from '../stages/lib/dataset.js';

const h = 40;
const w = 56;

/** Two images: one with a bright square nerve at (10..19, 30..41), one empty. */
function tinyDataset(): Dataset {
  const images = new Uint8Array(2 * h * w).fill(50);
  const masks = new Uint8Array(2 * h * w);
  for (let y = 10; y < 20; y++) for (let x = 30; x < 42; x++) { images[y * w + x] = 250; masks[y * w + x] = 1; }
  return { h, w, origH: 420, origW: 580, trainIds: ['1_1', '1_2'], testIds: [], trainImages: images, trainMasks: masks, testImages: new Uint8Array(0), trainRle: [] };
}

test('positive crop is the image under the mask; negatives overlap below the bound', () => {
  const ds = tinyDataset();
  const p = isoMaskParams({ crop_size: 16, negatives_train: 10, max_negative_overlap: 0.3, shift: 12, seed: 3 });
  const { x, y } = buildCrops(ds, [0, 1], 10, p);
  assert.equal(y[0], 1);
  assert.ok(y.length > 5 && y.length <= 11, `${y.length} crops (the empty image gives none)`);
  assert.equal(y.slice(1).reduce((a, b) => a + b, 0), 0);
  const positive = x.subarray(0, 256);
  assert.ok(positive.every((v) => v === 250), 'positive crop shows the nerve, cropped where the mask is');
  assert.deepEqual(positive, maskCrop(ds.trainImages.subarray(0, h * w), ds.trainMasks.subarray(0, h * w), h, w, 16));
  for (let k = 1; k < y.length; k++) {
    const crop = x.subarray(k * 256, (k + 1) * 256);
    const bright = crop.filter((v) => v > 200).length;
    assert.ok(bright < 256 * 0.5, `negative ${k} shows ${bright} nerve pixels`);
  }
  // Deterministic.
  assert.deepEqual(buildCrops(ds, [0, 1], 10, p).x, x);
});

test('shiftMask and iou', () => {
  const m = new Uint8Array(4 * 4);
  m[5] = 1; m[6] = 1;
  const s = shiftMask(m, 4, 4, 1, 1);
  assert.equal(s[10], 1);
  assert.equal(s[11], 1);
  assert.equal(iou(m, m), 1);
  assert.equal(iou(m, s), 0);
  assert.equal(iou(m, shiftMask(m, 4, 4, 0, 1)), 1 / 3);
  assert.equal(shiftMask(m, 4, 4, 0, 3).reduce((a, b) => a + b, 0), 0);
  assert.equal(CANVAS_GREY, 128);
});

test('predictedCrops: a U-Net mask on the nerve is a positive, a blob elsewhere or on an empty image a negative, nothing no crop', () => {
  const ds = tinyDataset();
  const px = h * w;
  const probs = new Float32Array(3 * px);
  // Image 0 (nerve): the U-Net's map covers the true mask.
  for (let j = 0; j < px; j++) probs[j] = ds.trainMasks[j]! === 1 ? 0.9 : 0.05;
  // Image 1 (no nerve): a blob at (25..29, 5..9).
  for (let y = 25; y < 30; y++) for (let x = 5; x < 10; x++) probs[px + y * w + x] = 0.8;
  // Image 0 again, with a map that misses the nerve: a blob at (30..34, 5..9).
  for (let y = 30; y < 35; y++) for (let x = 5; x < 10; x++) probs[2 * px + y * w + x] = 0.8;
  const p = isoMaskParams({ crop_size: 16, predicted: true, mask_threshold: 0.3, positive_dice: 0.5 });
  const { x, y } = predictedCrops(ds, [0, 1, 0], probs, p);
  assert.deepEqual([...y], [1, 0, 0]);
  assert.deepEqual(x.subarray(0, 256), maskCrop(ds.trainImages.subarray(0, px), ds.trainMasks.subarray(0, px), h, w, 16));
  // A map below mask_threshold everywhere gives no crop.
  assert.equal(predictedCrops(ds, [1], new Float32Array(px).fill(0.29), p).y.length, 0);
  // positive_dice decides: a half-covering mask is a positive at 0.5, not at 0.9.
  const half = new Float32Array(px);
  for (let yy = 10; yy < 20; yy++) for (let xx = 30; xx < 36; xx++) half[yy * w + xx] = 1;
  assert.deepEqual([...predictedCrops(ds, [0], half, p).y], [1]);
  assert.deepEqual([...predictedCrops(ds, [0], half, { ...p, positiveDice: 0.9 }).y], [0]);
});
