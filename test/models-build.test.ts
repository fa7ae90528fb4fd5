import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf } from '../stages/lib/backend.js';
import { buildUnet } from '../stages/models/unet.js';
import { buildClassifier } from '../stages/models/classifier.js';

test('U-Net builds with a one-channel output of the input size', async () => {
  const { tf } = await loadTf('cpu');
  const m = buildUnet(tf, { inputShape: [16, 24, 1], baseFilters: 4, depth: 2, seed: 3 });
  assert.deepEqual(m.outputs[0]!.shape, [null, 16, 24, 1]);
  const out = tf.tidy(() => (m.predict(tf.zeros([2, 16, 24, 1])) as import('@tensorflow/tfjs').Tensor).shape);
  assert.deepEqual(out, [2, 16, 24, 1]);
  // 4 towers of f/4: every inception block outputs exactly f channels.
  assert.equal(m.getLayer('down1_b_cat').outputShape.at(-1), 8);
  assert.equal(m.getLayer('bottom_b_cat').outputShape.at(-1), 16);
  m.dispose();
});

test('U-Net initial weights depend only on the seed', async () => {
  const { tf } = await loadTf('cpu');
  const opts = { inputShape: [8, 8, 1] as const, baseFilters: 4, depth: 1 };
  const a = buildUnet(tf, { ...opts, seed: 7 });
  const b = buildUnet(tf, { ...opts, seed: 7 });
  const c = buildUnet(tf, { ...opts, seed: 8 });
  const first = (m: typeof a) => Array.from(m.getWeights()[0]!.dataSync());
  assert.deepEqual(first(a), first(b));
  assert.notDeepEqual(first(a), first(c));
  assert.deepEqual(a.weights.map((w) => w.originalName), b.weights.map((w) => w.originalName));
  for (const m of [a, b, c]) m.dispose();
});

test('U-Net rejects sizes not divisible by 2^depth and bad filter counts', async () => {
  const { tf } = await loadTf('cpu');
  assert.throws(() => buildUnet(tf, { inputShape: [20, 24, 1], baseFilters: 4, depth: 3 }), /divisible by 2\^depth = 8/);
  assert.throws(() => buildUnet(tf, { inputShape: [16, 16, 1], baseFilters: 6, depth: 1 }), /multiple of 4/);
});

test('classifier builds with one sigmoid output and projection shortcuts', async () => {
  const { tf } = await loadTf('cpu');
  const m = buildClassifier(tf, { inputShape: [32, 32, 1], widths: [4, 8], blocks: [1, 2], seed: 1 });
  assert.deepEqual(m.outputs[0]!.shape, [null, 1]);
  const p = tf.tidy(() => Array.from((m.predict(tf.randomUniform([3, 32, 32, 1], 0, 1, 'float32', 1)) as import('@tensorflow/tfjs').Tensor).dataSync()));
  assert.equal(p.length, 3);
  for (const v of p) assert.ok(v > 0 && v < 1);
  const names = m.layers.map((l) => l.name);
  assert.ok(names.includes('s1b0_proj'), 'stride-2 block has a projection');
  assert.ok(!names.includes('s1b1_proj'), 'same-shape block has an identity shortcut');
  assert.throws(() => buildClassifier(tf, { inputShape: [8, 8, 1], widths: [4, 8, 16] }), /smaller than the downsampling/);
  m.dispose();
});
