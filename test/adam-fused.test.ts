/**
 * The fused Adam of the train loop (stages/kernels/adam.ts, through
 * `createTrainer`) gives bit-identical weights to `tf.train.adam` on the wasm
 * backend: a tiny U-Net with the dice loss and a tiny classifier with the
 * focal loss, several steps each, every weight (batch-norm statistics
 * included) compared bit for bit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf } from '../stages/lib/backend.js';
import { ADAM_KERNEL } from '../stages/kernels/adam.js';
import { buildClassifier } from '../stages/models/classifier.js';
import { diceLoss, focalLoss } from '../stages/models/losses.js';
import { createTrainer, type LossFn } from '../stages/models/train-loop.js';
import { buildUnet } from '../stages/models/unet.js';
import type { LayersModel, Tf } from '../stages/models/tf-types.js';

const STEPS = 6;

/** Trains a fresh model STEPS steps on a fixed batch; returns its weights' bytes and the kernels of the last step. */
async function train(tf: Tf, build: () => LayersModel, xShape: number[], yShape: number[], loss: LossFn, stockAdam: boolean): Promise<{ bytes: Uint8Array[]; initial: Uint8Array[]; kernels: string[] }> {
  const model = build();
  const bytes = (): Uint8Array[] => model.getWeights().map((w) => new Uint8Array(Float32Array.from(w.dataSync() as Float32Array).buffer));
  const initial = bytes();
  const x = tf.randomUniform(xShape, 0, 1, 'float32', 11);
  const y = tf.tidy(() => tf.randomUniform(yShape, 0, 1, 'float32', 12).round());
  const trainer = createTrainer(tf, model, loss, 3e-3, { stockAdam });
  for (let i = 0; i < STEPS - 1; i++) trainer.step(x, y);
  const profile = await tf.profile(() => { trainer.step(x, y); });
  const out = { bytes: bytes(), initial, kernels: profile.kernels.map((k) => k.name) };
  trainer.dispose();
  model.dispose();
  tf.dispose([x, y]);
  return out;
}

test('wasm: the fused Adam and tf.train.adam give bit-identical weights (U-Net + dice, classifier + focal)', async () => {
  const { tf, backend } = await loadTf('wasm');
  assert.equal(backend, 'wasm');
  assert.notEqual(tf.getKernel(ADAM_KERNEL, 'wasm'), undefined, 'the fused kernel is registered');
  const before = tf.memory().numTensors;
  const cases = [
    {
      build: () => buildUnet(tf, { inputShape: [16, 24, 1], baseFilters: 4, depth: 2, seed: 3 }),
      x: [4, 16, 24, 1], y: [4, 16, 24, 1], loss: ((t, p) => diceLoss(tf, t, p)) as LossFn,
    },
    {
      build: () => buildClassifier(tf, { inputShape: [16, 16, 1], widths: [4, 8], blocks: 1, seed: 3 }),
      x: [8, 16, 16, 1], y: [8, 1], loss: ((t, p) => focalLoss(tf, t, p, { gamma: 7, alpha: 0.9 })) as LossFn,
    },
  ];
  for (const c of cases) {
    const fused = await train(tf, c.build, c.x, c.y, c.loss, false);
    const stock = await train(tf, c.build, c.x, c.y, c.loss, true);
    assert.ok(fused.kernels.includes(ADAM_KERNEL), 'the trainer ran the fused update');
    assert.ok(!stock.kernels.includes(ADAM_KERNEL), 'the stock optimizer did not');
    assert.deepEqual(fused.initial, stock.initial, 'same initial weights');
    assert.notDeepEqual(fused.bytes, fused.initial, 'training changed the weights');
    assert.equal(fused.bytes.length, stock.bytes.length);
    fused.bytes.forEach((b, i) => assert.deepEqual(b, stock.bytes[i], `weight ${i} differs after ${STEPS} steps`));
  }
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
});
