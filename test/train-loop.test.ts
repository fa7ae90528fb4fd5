import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf } from '../stages/lib/backend.js';
import { buildUnet } from '../stages/models/unet.js';
import { buildClassifier } from '../stages/models/classifier.js';
import { diceLoss, focalLoss } from '../stages/models/losses.js';
import { makeBatch } from '../stages/models/batches.js';
import type { SampleSet } from '../stages/models/batches.js';
import { trainLoop, type Evaluator } from '../stages/models/train-loop.js';
import { segEvaluator } from '../stages/models/evaluators.js';
import type * as TfModule from '@tensorflow/tfjs';

type Tf = Awaited<ReturnType<typeof loadTf>>['tf'];
const H = 16;
const W = 24;

/** n images with a bright disc (the mask) on a textured background; odd images are empty. */
function discs(n: number): { x: Uint8Array; y: Uint8Array; labels: Uint8Array } {
  const x = new Uint8Array(n * H * W);
  const y = new Uint8Array(n * H * W);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 2 === 0 ? 1 : 0;
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        const on = labels[i] === 1 && (r - 8) ** 2 + (c - 5 - i) ** 2 < 10;
        y[i * H * W + r * W + c] = on ? 1 : 0;
        x[i * H * W + r * W + c] = on ? 210 : 40 + ((r * 7 + c * 13 + i * 5) % 50);
      }
    }
  }
  return { x, y, labels };
}

/** Loss of a fixed batch in training mode (batch statistics; only the moving statistics change). */
function batchLoss(tf: Tf, model: TfModule.LayersModel, set: SampleSet, loss: (y: TfModule.Tensor, p: TfModule.Tensor) => TfModule.Scalar): number {
  const { xs, ys } = makeBatch(set, set.index, { mean: 0, std: 1 });
  const n = set.index.length;
  return tf.tidy(() => {
    const x = tf.tensor4d(xs, [n, set.h, set.w, 1]);
    const y = set.yPerSample === 1 ? tf.tensor2d(ys, [n, 1]) : tf.tensor4d(ys, [n, set.h, set.w, 1]);
    return loss(y, model.apply(x, { training: true }) as TfModule.Tensor).dataSync()[0]!;
  });
}

test('U-Net dice loss decreases on a tiny set; no tensor leaks; best weights restored', async () => {
  const { tf } = await loadTf('cpu');
  const { x, y } = discs(6);
  const set = (index: number[]): SampleSet => ({ x, y, h: H, w: W, yPerSample: H * W, index });
  const model = buildUnet(tf, { inputShape: [H, W, 1], baseFilters: 4, depth: 2, seed: 1 });
  const loss = (a: TfModule.Tensor, b: TfModule.Tensor) => diceLoss(tf, a, b);
  const train = set([0, 1, 2, 3]);
  const tensors = tf.memory().numTensors;
  const r0 = await trainLoop({
    tf, model, train, val: set([4, 5]), loss, evaluator: segEvaluator(),
    epochs: 1, batchSize: 4, lr: 1e-2, patience: 0, seed: 1, norm: { mean: 0, std: 1 },
  });
  const before = r0.history[0]!.loss;
  const epochs: number[] = [];
  const r = await trainLoop({
    tf, model, train, val: set([4, 5]), loss, evaluator: segEvaluator(),
    epochs: 5, batchSize: 4, lr: 1e-2, patience: 0, seed: 1, norm: { mean: 0, std: 1 },
    onEpoch: (e) => epochs.push(e.epoch),
  });
  assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks');
  assert.deepEqual(epochs, [1, 2, 3, 4, 5]);
  assert.ok(r.history.at(-1)!.loss < before, `loss ${r.history.at(-1)!.loss} !< ${before}`);
  assert.ok('val_dice' in r.history[0]!.metrics && 'val_image_dice' in r.history[0]!.metrics);
  // The model holds the best epoch's weights: re-evaluating gives the best val loss.
  const best = r.history[r.bestEpoch - 1]!;
  assert.equal(r.bestValLoss, Math.min(...r.history.map((e) => e.valLoss)));
  const again = tf.tidy(() => {
    const { xs, ys } = makeBatch(set([4, 5]), [4, 5], { mean: 0, std: 1 });
    const p = model.apply(tf.tensor4d(xs, [2, H, W, 1]), { training: false }) as TfModule.Tensor;
    return loss(tf.tensor4d(ys, [2, H, W, 1]), p).dataSync()[0]!;
  });
  assert.ok(Math.abs(again - best.valLoss) < 1e-5, `${again} vs ${best.valLoss}`);
  model.dispose();
});

test('monitor: the epoch with the highest metric is kept (not the lowest val loss), and patience counts from it', async () => {
  const { tf } = await loadTf('cpu');
  const { x, y } = discs(6);
  const set = (index: number[]): SampleSet => ({ x, y, h: H, w: W, yPerSample: H * W, index });
  const loss = (a: TfModule.Tensor, b: TfModule.Tensor) => diceLoss(tf, a, b);
  // A scripted metric per epoch: best at epoch 2, then no better for 2 epochs.
  const script = [0.2, 0.9, 0.5, 0.9];
  const scripted = (): Evaluator => {
    let epoch = 0;
    return { batch: () => {}, result: () => ({ score: script[epoch++] ?? 0 }) };
  };
  const opts = { tf, train: set([0, 1, 2, 3]), val: set([4, 5]), loss, epochs: 6, batchSize: 4, lr: 1e-2, seed: 1, norm: { mean: 0, std: 1 } };
  const model = buildUnet(tf, { inputShape: [H, W, 1], baseFilters: 4, depth: 2, seed: 1 });
  const r = await trainLoop({ ...opts, model, evaluator: scripted(), patience: 2, monitor: 'score' });
  assert.equal(r.bestEpoch, 2, 'a tie (epoch 4) does not replace the first best');
  assert.deepEqual(r.history.map((e) => e.improved), [true, true, false, false]);
  assert.equal(r.epochsRun, 4);
  assert.ok(r.stoppedEarly);
  assert.equal(r.bestValLoss, r.history[1]!.valLoss, 'bestValLoss is the kept epoch\'s');
  // The model holds epoch 2's weights: a fresh model trained 2 epochs the same way has the same weights.
  const two = buildUnet(tf, { inputShape: [H, W, 1], baseFilters: 4, depth: 2, seed: 1 });
  await trainLoop({ ...opts, model: two, epochs: 2, patience: 0 });
  const bytes = (m: TfModule.LayersModel) => m.getWeights().map((w) => Buffer.from(w.dataSync().buffer).toString('base64')).join();
  assert.equal(bytes(model), bytes(two));
  await assert.rejects(trainLoop({ ...opts, model, epochs: 1, patience: 0, evaluator: scripted(), monitor: 'nope' }), /monitor: the evaluator reports no metric nope \(it has: score\)/);
  model.dispose();
  two.dispose();
});

test('classifier focal loss decreases on a tiny set', async () => {
  const { tf } = await loadTf('cpu');
  const { x, labels } = discs(8);
  // Reuse the 16x24 images as 16x16 crops (their left part holds the disc).
  const crops = new Uint8Array(8 * 16 * 16);
  for (let i = 0; i < 8; i++) for (let r = 0; r < 16; r++) crops.set(x.subarray(i * H * W + r * W, i * H * W + r * W + 16), i * 256 + r * 16);
  const train: SampleSet = { x: crops, y: labels, h: 16, w: 16, yPerSample: 1, index: [0, 1, 2, 3, 4, 5, 6, 7] };
  const model = buildClassifier(tf, { inputShape: [16, 16, 1], widths: [4, 8], seed: 1 });
  const loss = (a: TfModule.Tensor, b: TfModule.Tensor) => focalLoss(tf, a, b, { gamma: 2, alpha: 0.5 });
  const before = batchLoss(tf, model, train, loss);
  const tensors = tf.memory().numTensors;
  const r = await trainLoop({
    tf, model, train, val: { ...train, index: [] }, loss, epochs: 6, batchSize: 8, lr: 1e-2, patience: 2,
    seed: 1, norm: { mean: 0, std: 1 }, augment: { flip: true, shift: 1 },
  });
  assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks');
  assert.equal(r.epochsRun, 6, 'no early stop without validation');
  assert.equal(r.bestEpoch, 6);
  const after = batchLoss(tf, model, train, loss);
  assert.ok(after < before, `loss ${after} !< ${before}`);
  model.dispose();
});

test('training stops with the abort reason and leaks nothing', async () => {
  const { tf } = await loadTf('cpu');
  const { x, y } = discs(2);
  const set: SampleSet = { x, y, h: H, w: W, yPerSample: H * W, index: [0, 1] };
  const model = buildUnet(tf, { inputShape: [H, W, 1], baseFilters: 4, depth: 1, seed: 1 });
  const ac = new AbortController();
  ac.abort(new Error('stop now'));
  const tensors = tf.memory().numTensors;
  await assert.rejects(
    trainLoop({
      tf, model, train: set, val: set, loss: (a, b) => diceLoss(tf, a, b), epochs: 3, batchSize: 2, lr: 1e-3,
      patience: 0, seed: 1, norm: { mean: 0, std: 1 }, signal: ac.signal,
    }),
    /stop now/,
  );
  assert.equal(tf.memory().numTensors, tensors);
  model.dispose();
});
