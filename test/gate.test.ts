import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import gate, { gateParams, keepMask, unetTestRuns, upsampleRuns } from '../stages/gate.js';
import { writeTensors } from '../cache/tensors.js';
import { encodeRle, decodeRle, formatRuns, maskRuns } from '../stages/lib/rle.js';
import { resizeBilinear } from '../stages/lib/crops.js';
import { makeRng } from '../stages/lib/prng.js';
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

/** The plain definition: the whole map upsampled (`big`, by resizeBilinear), thresholded, encoded. */
function referenceRuns(big: Float32Array, oh: number, ow: number, t: number): ReturnType<typeof maskRuns> {
  const mask = new Uint8Array(oh * ow);
  for (let i = 0; i < big.length; i++) mask[i] = big[i]! >= t ? 1 : 0;
  return maskRuns(mask, oh, ow);
}

test('upsampleRuns equals resizeBilinear + threshold + maskRuns exactly (blobs, noise, thresholds on pixel values)', () => {
  const rng = makeRng(7);
  const rand = (): number => rng.next();
  const shapes: [number, number, number, number][] = [[64, 80, 420, 580], [8, 10, 420, 580], [5, 7, 13, 11], [3, 3, 3, 3], [6, 4, 5, 9], [1, 1, 4, 4]];
  let mixed = 0;
  for (const [sh, sw, oh, ow] of shapes) {
    for (let trial = 0; trial < 9; trial++) {
      const p = new Float32Array(sh * sw);
      // A smooth blob (edges cross thresholds inside cells) plus noise, some pixels exactly at a threshold.
      const cy = rand() * sh;
      const cx = rand() * sw;
      const r = 1 + rand() * Math.max(sh, sw) / 3;
      for (let y = 0; y < sh; y++) for (let x = 0; x < sw; x++) {
        const d = Math.hypot(y - cy, x - cx) / r;
        p[y * sw + x] = Math.min(1, Math.max(0, Math.exp(-d * d) + (rand() - 0.5) * (trial % 3) * 0.2));
      }
      if (trial === 4) p[Math.floor(rand() * p.length)] = NaN; // a NaN is never set, nor are the pixels it reaches
      // Thresholds equal to upsampled values put output pixels exactly on the edge: any rounding difference shows.
      const big = resizeBilinear(p, sh, sw, oh, ow);
      const onEdge = Array.from({ length: 4 }, () => big[Math.floor(rand() * big.length)]!);
      const thresholds = [0.3, 0.45, 0.5, p[Math.floor(rand() * p.length)]!, Math.fround(0.3), 0, 1, ...onEdge];
      for (const t of thresholds) {
        const want = referenceRuns(big, oh, ow, t);
        assert.deepEqual(upsampleRuns(p, sh, sw, oh, ow, t), want, `${sh}x${sw}->${oh}x${ow} trial ${trial} threshold ${t}`);
        if (want.length > 0 && want.length < 1000) mixed++;
      }
    }
  }
  assert.ok(mixed > 50, `enough partly covered cases (${mixed})`);
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
    // The U-Net's test masks alone (score's), through gate's memo: the kept test mask is that mask.
    const unet = await unetTestRuns(join(root, 'predictions'), join(root, 'dataset'), 0.3);
    assert.deepEqual(unet.ids, ['1']);
    assert.equal(formatRuns(unet.runs[0]!), masks.test['1']);
    assert.equal((await unetTestRuns(join(root, 'predictions'), join(root, 'dataset'), 0.3)).runs[0], unet.runs[0], 'memoized');
    await writeTensors(join(root, 'bad-ids'), {
      test_prob: { dtype: 'float32', shape: [1, h, w], data: prob.slice(0, h * w) },
    }, { test_ids: '["1","2"]' });
    await assert.rejects(unetTestRuns(join(root, 'bad-ids'), join(root, 'dataset'), 0.3), /metadata test_ids is not a list of 1 ids/);
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
