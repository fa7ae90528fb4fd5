import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf } from '../stages/lib/backend.js';
import { buildUnet } from '../stages/models/unet.js';
import { buildClassifier } from '../stages/models/classifier.js';
import { loadModel, saveModel } from '../stages/models/model-io.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

test('U-Net presence head multiplies one sigmoid per image into the mask', async () => {
  const { tf } = await loadTf('cpu');
  const m = buildUnet(tf, { inputShape: [16, 16, 1], baseFilters: 4, depth: 2, seed: 3, presenceHead: true });
  assert.deepEqual(m.outputs[0]!.shape, [null, 16, 16, 1]);
  assert.deepEqual(m.getLayer('presence').outputShape, [null, 1]);
  const x = tf.randomNormal([2, 16, 16, 1], 0, 1, 'float32', 5);
  const [out, presence] = tf.tidy(() => {
    const probe = tf.model({ inputs: m.inputs, outputs: [m.outputs[0]!, m.getLayer('presence').output as import('@tensorflow/tfjs').SymbolicTensor] });
    return (probe.predict(x) as import('@tensorflow/tfjs').Tensor[]).map((t) => t.arraySync() as number[][][][] | number[][]);
  });
  const maxOf = (img: number[][][]) => Math.max(...img.flat(2));
  for (const i of [0, 1]) {
    const pr = (presence as number[][])[i]![0]!;
    assert.ok(pr > 0 && pr < 1);
    assert.ok(maxOf((out as number[][][][])[i]!) <= pr + 1e-6, 'no pixel exceeds its image\'s presence');
  }
  // the head's layers survive the model file: same predictions after a round trip
  const dir = await mkdtemp(join(tmpdir(), 'pipe-unet-presence-'));
  try {
    await saveModel(join(dir, 'm'), m);
    const { model } = await loadModel(tf, join(dir, 'm'));
    const [a, b] = tf.tidy(() => [m, model].map((k) => Array.from((k.predict(x) as import('@tensorflow/tfjs').Tensor).dataSync())));
    assert.deepEqual(a, b);
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  x.dispose();
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
