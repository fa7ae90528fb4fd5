import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import type * as TfModule from '@tensorflow/tfjs';
import { loadTf } from '../stages/lib/backend.js';
import type { SampleSet } from '../stages/models/batches.js';
import { segEvaluator } from '../stages/models/evaluators.js';
import { diceLoss } from '../stages/models/losses.js';
import { trainLoop, type TrainLoopOptions } from '../stages/models/train-loop.js';
import { buildUnet } from '../stages/models/unet.js';
import { Rig } from './util/rig.js';
import { until } from './util/until.js';

const H = 16;
const W = 24;

/** n images with a bright disc (the mask) on a textured background; every third is empty. */
function discs(n: number): { x: Uint8Array; y: Uint8Array } {
  const x = new Uint8Array(n * H * W);
  const y = new Uint8Array(n * H * W);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        const on = i % 3 !== 0 && (r - 8) ** 2 + (c - 4 - i) ** 2 < 10;
        y[i * H * W + r * W + c] = on ? 1 : 0;
        x[i * H * W + r * W + c] = on ? 200 : 40 + ((r * 7 + c * 13 + i * 5) % 60);
      }
    }
  }
  return { x, y };
}

describe('training checkpoints (the loop, in process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pipe-ckpt-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function train(extra: Partial<TrainLoopOptions>): Promise<{ weights: Float32Array[]; losses: number[]; best: number; logs: string[] }> {
    const { tf } = await loadTf('wasm');
    const { x, y } = discs(10);
    const set = (index: number[]): SampleSet => ({ x, y, h: H, w: W, yPerSample: H * W, index });
    const model = buildUnet(tf, { inputShape: [H, W, 1], baseFilters: 4, depth: 2, seed: 3 });
    const losses: number[] = [];
    try {
      const r = await trainLoop({
        tf, model, train: set([0, 1, 2, 3, 4, 5, 6]), val: set([7, 8, 9]), loss: (a: TfModule.Tensor, b: TfModule.Tensor) => diceLoss(tf, a, b),
        evaluator: segEvaluator(), epochs: 6, batchSize: 3, lr: 2e-2, patience: 3, seed: 5, norm: { mean: 0.3, std: 0.2 },
        augment: { flip: true, shift: 2 }, onEpoch: (e) => losses.push(e.loss, e.valLoss), ...extra,
      });
      return { weights: model.weights.map((w) => Float32Array.from(w.read().dataSync())), losses, best: r.bestEpoch, logs: [] };
    } finally {
      model.dispose();
    }
  }

  test('interrupted after epoch 2 and resumed: the same weights, losses and best epoch as a straight run; no tensor leaks', async () => {
    const { tf } = await loadTf('wasm');
    const straight = await train({});
    const tensors = tf.memory().numTensors;
    const path = join(dir, 'a.ckpt');
    const stop = new AbortController();
    await assert.rejects(train({ signal: stop.signal, checkpoint: { path, tag: 't' }, onEpoch: (e) => { if (e.epoch === 2) stop.abort(new Error('stop')); } }), /stop/);
    assert.ok(existsSync(path), 'a checkpoint was written');
    const logs: string[] = [];
    const resumed = await train({ checkpoint: { path, tag: 't', log: (m) => logs.push(m) } });
    assert.deepEqual(logs, ['resuming after epoch 2/6 from the checkpoint']);
    assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks');
    assert.deepEqual(resumed.losses, straight.losses, 'the replayed and new epochs report the straight run\'s losses');
    assert.equal(resumed.best, straight.best);
    assert.equal(resumed.weights.length, straight.weights.length);
    resumed.weights.forEach((w, i) => assert.ok(Buffer.from(w.buffer).equals(Buffer.from(straight.weights[i]!.buffer)), `weight ${i} differs`));
  });

  test('with monitor (the best per-image Dice picks the epoch), a resumed run equals a straight one too', async () => {
    const m = { monitor: 'val_image_dice' } as const;
    const straight = await train(m);
    const path = join(dir, 'm.ckpt');
    const stop = new AbortController();
    await assert.rejects(train({ ...m, signal: stop.signal, checkpoint: { path, tag: 'm' }, onEpoch: (e) => { if (e.epoch === 3) stop.abort(new Error('stop')); } }), /stop/);
    const resumed = await train({ ...m, checkpoint: { path, tag: 'm' } });
    assert.deepEqual(resumed.losses, straight.losses);
    assert.equal(resumed.best, straight.best);
    resumed.weights.forEach((w, i) => assert.ok(Buffer.from(w.buffer).equals(Buffer.from(straight.weights[i]!.buffer)), `weight ${i} differs`));
  });

  test('a checkpoint with another tag (backend, threads) is ignored: training starts over', async () => {
    const path = join(dir, 'b.ckpt');
    const stop = new AbortController();
    await assert.rejects(train({ signal: stop.signal, checkpoint: { path, tag: 'wasm 1' }, onEpoch: (e) => { if (e.epoch === 1) stop.abort(new Error('stop')); } }), /stop/);
    const logs: string[] = [];
    const epochs: number[] = [];
    await train({ checkpoint: { path, tag: 'wasm 2', log: (m) => logs.push(m) }, onEpoch: (e) => epochs.push(e.epoch) });
    assert.match(logs.join('\n'), /checkpoint ignored \(written with another backend/);
    assert.equal(epochs[0], 1);
  });
});

const PIPELINE = `stages:
  synth:
    uses: synth
    params: {out: data/synth, subjects: 3, images_per_subject: 8, test_images: 2, seed: 4}
  ingest:
    uses: ingest
    needs: [synth]
    params: {data: data/synth, height: 32, width: 40}
  split:
    uses: split
    needs: [ingest]
    params: {val_fraction: 0.34, seed: 4}
  train-seg:
    uses: train-seg
    needs: [ingest, split]
    params: {backend: wasm, threads: 1, base_filters: 4, depth: 2, epochs: 8, batch_size: 4, patience: 0, seed: 4}
`;

/** Starts `pipe run train-seg`, SIGKILLs it once a checkpoint exists; returns the key folder (bounded wait). */
async function killAfterCheckpoint(rig: Rig, ...args: string[]): Promise<string> {
  const base = join(rig.dir, '.pipe', 'scratch', 'train-seg');
  const run = rig.start(['run', 'train-seg', ...args]);
  let folder: string | undefined;
  let ended = false;
  void run.done.then(() => { ended = true; });
  await until(() => {
    const found = existsSync(base) ? readdirSync(base).find((k) => existsSync(join(base, k, 'train.ckpt'))) : undefined;
    if (found !== undefined) folder = join(base, found);
    return folder !== undefined || ended;
  }, 150_000, 25);
  run.child.kill('SIGKILL');
  const r = await run.done;
  assert.ok(folder !== undefined, `no checkpoint appeared: ${r.stdout}${r.stderr}`);
  assert.equal(r.signal, 'SIGKILL', `the run ended before it was killed: ${r.stdout}`);
  return folder;
}

describe('train-seg killed mid-training resumes from its scratch folder', () => {
  const rig = new Rig({ 'pipeline.yaml': PIPELINE });
  after(() => rig.cleanup());

  test('pipe killed after an epoch: the next run resumes and stores the weights of an uninterrupted run', async () => {
    const folder = await killAfterCheckpoint(rig);
    const resumed = await rig.run('run', 'train-seg');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout + resumed.stderr, /resuming after epoch \d+\/8 from the checkpoint/);
    assert.ok(!existsSync(folder), 'the scratch folder is removed once the stage succeeded');
    const a = parse(rig.read('pipe.lock')).stages['train-seg'].outputs;
    const straight = await rig.run('run', 'train-seg', '--force');
    assert.equal(straight.code, 0, straight.stderr);
    assert.doesNotMatch(straight.stdout + straight.stderr, /resuming|not deterministic/);
    const b = parse(rig.read('pipe.lock')).stages['train-seg'].outputs;
    assert.equal(a.seg_model.digest, b.seg_model.digest, 'same weights, byte for byte');
    assert.equal(a.seg_history.digest, b.seg_history.digest, 'same history');
  });

  test('a checkpoint of other params is not resumed from, and is removed', async () => {
    const folder = await killAfterCheckpoint(rig, '--force');
    const r = await rig.run('run', 'train-seg', '--set', 'train-seg.lr=0.002');
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /resuming/);
    assert.ok(!existsSync(folder), 'the other key\'s checkpoint is gone');
  });
});
