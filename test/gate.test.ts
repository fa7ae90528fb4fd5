import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import gate, { gateParams, keepMask, upsampleRuns } from '../stages/gate.js';
import { writeTensors } from '../cache/tensors.js';
import { encodeRle, decodeRle } from '../stages/lib/rle.js';
import type { StageContext } from '../engine/stage-api.js';

const h = 8;
const w = 10;
const OH = 420;
const OW = 580;

/** A probability map with a block of `n` pixels at 0.9 (rest 0). */
function probBlock(n: number): Float32Array {
  const p = new Float32Array(h * w);
  for (let i = 0; i < n; i++) p[i] = 0.9;
  return p;
}

test('keepMask: min_pixels is a strict lower bound on confident pixels; cls_threshold gates', () => {
  const p = gateParams({ min_pixels: 10, cls_threshold: 0.5, count_threshold: 0.1 });
  assert.equal(keepMask(probBlock(10), 0.9, p), false);
  assert.equal(keepMask(probBlock(11), 0.9, p), true);
  assert.equal(keepMask(probBlock(11), 0.49, p), false);
  assert.equal(keepMask(probBlock(11), 0.5, p), true);
  assert.equal(keepMask(probBlock(11), 0.1, gateParams({ min_pixels: 10, use_classifier: false })), true);
  assert.throws(() => gateParams({ threshold: 2 }), /param threshold/);
});

test('upsampleRuns: empty below threshold; a full map covers the whole frame', () => {
  assert.deepEqual(upsampleRuns(new Float32Array(h * w).fill(0.2), h, w, OH, OW, 0.3), []);
  assert.deepEqual(upsampleRuns(new Float32Array(h * w).fill(0.5), h, w, OH, OW, 0.3), [{ start: 0, length: OH * OW }]);
});

test('gate stage: masks JSON, gated vs U-Net-alone Dice', async () => {
  const root = await mkdtemp(join(tmpdir(), 'gate-'));
  try {
    // Two validation images: 1_1 has a nerve covering the left half, 1_2 none.
    const truth = new Uint8Array(OH * OW);
    for (let y = 0; y < OH; y++) for (let x = 0; x < OW / 2; x++) truth[y * OW + x] = 1;
    const small = new Uint8Array(2 * h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w / 2; x++) small[y * w + x] = 1;
    await writeTensors(join(root, 'dataset'), {
      train_images: { dtype: 'uint8', shape: [2, h, w], data: new Uint8Array(2 * h * w) },
      train_masks: { dtype: 'uint8', shape: [2, h, w], data: small },
      test_images: { dtype: 'uint8', shape: [1, h, w], data: new Uint8Array(h * w) },
    }, { train_ids: '["1_1","1_2"]', test_ids: '["1"]', height: `${h}`, width: `${w}`, orig_height: `${OH}`, orig_width: `${OW}`, train_rle: JSON.stringify([encodeRle(truth, OH, OW), '']) });
    // The U-Net finds the nerve in 1_1 and a false one in 1_2; the classifier rejects the false one.
    const prob = new Float32Array(2 * h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w / 2; x++) { prob[y * w + x] = 0.95; prob[h * w + y * w + x] = 0.9; }
    await writeTensors(join(root, 'predictions'), {
      val_prob: { dtype: 'float32', shape: [2, h, w], data: prob },
      test_prob: { dtype: 'float32', shape: [1, h, w], data: prob.slice(0, h * w) },
      val_cls: { dtype: 'float32', shape: [2], data: Float32Array.from([0.9, 0.2]) },
      test_cls: { dtype: 'float32', shape: [1], data: Float32Array.from([0.8]) },
    }, { val_ids: '["1_1","1_2"]', test_ids: '["1"]' });
    const metrics: Record<string, number | string> = {};
    const ctx: StageContext = { name: 'gate', params: { min_pixels: 5 }, inputs: { predictions: join(root, 'predictions'), dataset: join(root, 'dataset'), split: join(root, 'x') },
      outDir: root, root, signal: new AbortController().signal, log: () => {}, progress: () => {}, metric: (k, v) => { metrics[k] = v; }, info: () => {} };
    await gate.run(ctx);
    const masks = JSON.parse(await readFile(join(root, 'masks'), 'utf8')) as { val: Record<string, string>; test: Record<string, string> };
    assert.equal(masks.val['1_2'], '');
    assert.ok(masks.test['1'] !== '');
    const kept = decodeRle(masks.val['1_1']!, OH, OW);
    let agree = 0;
    for (let i = 0; i < kept.length; i++) agree += kept[i] === truth[i] ? 1 : 0;
    assert.ok(agree / kept.length > 0.98);
    assert.ok((metrics['val_dice'] as number) > 0.98);
    assert.ok(Math.abs((metrics['val_dice_unet'] as number) - (metrics['val_dice'] as number) / 2) < 0.01, 'U-Net alone loses the empty image');
    assert.equal(metrics['presence_precision'], 1);
    assert.equal(metrics['presence_recall'], 1);
    // Without the classifier the false mask is kept.
    await gate.run({ ...ctx, params: { min_pixels: 5, use_classifier: false } });
    const ungated = JSON.parse(await readFile(join(root, 'masks'), 'utf8')) as { val: Record<string, string> };
    assert.notEqual(ungated.val['1_2'], '');
    // min_pixels above the mask's size drops everything.
    await gate.run({ ...ctx, params: { min_pixels: 1000 } });
    assert.equal(metrics['presence_recall'], 0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
