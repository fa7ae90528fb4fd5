import { test } from 'node:test';
import assert from 'node:assert/strict';
import { centreCrop, maskBox, maskCrop, resizeArea, resizeBilinear } from '../stages/lib/crops.js';

test('maskCrop: bounding box, grey canvas outside the mask, resized', () => {
  const h = 6;
  const w = 8;
  const img = Uint8Array.from({ length: h * w }, (_, i) => i);
  const mask = new Uint8Array(h * w);
  mask[1 * w + 2] = 1;
  mask[2 * w + 3] = 1;
  assert.deepEqual(maskBox(mask, h, w), { top: 1, left: 2, bottom: 2, right: 3 });
  assert.deepEqual(maskCrop(img, mask, h, w, 2), Uint8Array.from([10, 128, 128, 19]));
  assert.equal(maskCrop(img, mask, h, w, 16).length, 256);
  assert.deepEqual(maskCrop(img, new Uint8Array(h * w), h, w, 4), centreCrop(img, h, w, 4));
  assert.throws(() => maskCrop(img, new Uint8Array(3), h, w, 4), /mask has 3 pixels/);
});

test('resizeArea averages blocks; resizeBilinear keeps constants and corners', () => {
  const src = Float32Array.from([1, 3, 5, 7, 1, 3, 5, 7]);
  assert.deepEqual(resizeArea(src, 2, 4, 1, 2), Float32Array.from([2, 6]));
  assert.deepEqual(resizeBilinear(new Float32Array(6).fill(0.4), 2, 3, 7, 9), new Float32Array(63).fill(0.4));
  const up = resizeBilinear(Float32Array.from([0, 1]), 1, 2, 1, 4);
  assert.deepEqual(Array.from(up), [0, 0.25, 0.75, 1]);
});
