/**
 * train-seg, train-cls and infer run on a tiny hand-made dataset through a
 * hand-made StageContext: each writes its artifact with the contracted keys
 * and shapes, reports metrics and backend, and leaks no tensors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTensors, readTensors } from '../cache/tensors.js';
import type { Params, StageContext, Progress } from '../engine/stage-api.js';
import { loadTf } from '../stages/lib/backend.js';
import trainSeg from '../stages/train-seg.js';
import trainCls from '../stages/train-cls.js';
import infer from '../stages/infer.js';
import isoMask, { isoMaskParams, predictedCrops } from '../stages/iso-mask.js';
import { readDataset, readSplit } from '../stages/lib/dataset.js';
import { readHistory } from '../stages/models/history.js';
import { readModelFile } from '../stages/models/model-io.js';

const H = 16;
const W = 24;
const N = 8;
const M = 3;
const S = 16;

interface Rig {
  ctx: StageContext;
  logs: string[];
  metrics: Record<string, number | string>;
  info: Record<string, string>;
  progress: Progress[];
}

async function rig(root: string, name: string, params: Params, inputs: Record<string, string>): Promise<Rig> {
  const outDir = join(root, 'out', name);
  await mkdir(outDir, { recursive: true });
  const r: Rig = { logs: [], metrics: {}, info: {}, progress: [], ctx: undefined as unknown as StageContext };
  r.ctx = {
    name, params, inputs, outDir, root, signal: new AbortController().signal,
    log: (m) => r.logs.push(m), progress: (p) => r.progress.push(p),
    metric: (k, v) => { r.metrics[k] = v; }, info: (k, v) => { r.info[k] = v; },
  };
  return r;
}

function pattern(n: number, withMask: (i: number) => boolean) {
  const img = new Uint8Array(n * H * W);
  const mask = new Uint8Array(n * H * W);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        const on = withMask(i) && (r - 7) ** 2 + (c - 6 - i) ** 2 < 9;
        mask[i * H * W + r * W + c] = on ? 1 : 0;
        img[i * H * W + r * W + c] = on ? 200 : 30 + ((r * 11 + c * 7 + i * 3) % 60);
      }
    }
  }
  return { img, mask };
}

async function fixtures(root: string): Promise<Record<string, string>> {
  const train = pattern(N, (i) => i % 2 === 0);
  const test = pattern(M, () => true);
  const dataset = join(root, 'dataset');
  await writeTensors(dataset, {
    train_images: { dtype: 'uint8', shape: [N, H, W], data: train.img },
    train_masks: { dtype: 'uint8', shape: [N, H, W], data: train.mask },
    test_images: { dtype: 'uint8', shape: [M, H, W], data: test.img },
  }, {
    train_ids: JSON.stringify(Array.from({ length: N }, (_, i) => `${1 + (i >> 2)}_${1 + (i % 4)}`)),
    test_ids: JSON.stringify(['1', '2', '3']), height: String(H), width: String(W), orig_height: '420', orig_width: '580',
  });
  const split = join(root, 'split');
  await writeFile(split, JSON.stringify({ train: [0, 1, 2, 3], val: [4, 5, 6, 7], train_subjects: [1], val_subjects: [2] }));
  const crops = join(root, 'crops');
  const cx = (k: number) => {
    const x = new Uint8Array(k * S * S);
    const y = new Uint8Array(k);
    for (let i = 0; i < k; i++) {
      y[i] = i % 2;
      for (let j = 0; j < S * S; j++) x[i * S * S + j] = y[i] === 1 ? 128 + ((j * 5) % 100) : 128;
    }
    return { x, y };
  };
  const tr = cx(8);
  const va = cx(4);
  await writeTensors(crops, {
    train_x: { dtype: 'uint8', shape: [8, S, S], data: tr.x }, train_y: { dtype: 'uint8', shape: [8], data: tr.y },
    val_x: { dtype: 'uint8', shape: [4, S, S], data: va.x }, val_y: { dtype: 'uint8', shape: [4], data: va.y },
  });
  return { dataset, split, crops };
}

test('train-seg, train-cls and infer produce their contracted artifacts', async () => {
  const root = await mkdtemp(join(tmpdir(), 'pipe-train-'));
  try {
    const { tf } = await loadTf('cpu');
    const inputs = await fixtures(root);
    let tensors = tf.memory().numTensors;

    const seg = await rig(root, 'train-seg', { backend: 'cpu', base_filters: 4, depth: 2, epochs: 2, batch_size: 4, lr: 0.01, patience: 5, seed: 1 },
      { dataset: inputs.dataset!, split: inputs.split! });
    assert.deepEqual(trainSeg.artifacts(seg.ctx.params), ['seg_model', 'seg_history']);
    await trainSeg.run(seg.ctx);
    assert.equal(tf.memory().numTensors, tensors, 'train-seg leaks no tensors');
    assert.equal(seg.info.backend, 'cpu');
    assert.equal(seg.metrics.epochs_run, 2);
    assert.equal(typeof seg.metrics.val_dice, 'number');
    assert.equal(typeof seg.metrics.best_val_loss, 'number');
    assert.deepEqual(seg.progress.map((p) => [p.done, p.total, p.unit]), [[1, 2, 'epochs'], [2, 2, 'epochs']]);
    assert.match(seg.progress[0]!.note!, /^loss -?[\d.]+ val_loss -?[\d.]+ val_dice [\d.]+ \([\d.]+s\/epoch\)$/);
    const segHistory = await readHistory(join(seg.ctx.outDir, 'seg_history'));
    assert.deepEqual(segHistory.epochs.map((e) => e.epoch), [1, 2]);
    assert.equal(segHistory.best_epoch, seg.metrics.best_epoch);
    assert.equal(segHistory.epochs[segHistory.best_epoch - 1]!.val_dice, seg.metrics.val_dice);
    const segFile = await readModelFile(join(seg.ctx.outDir, 'seg_model'));
    const norm = segFile.facts.norm as { mean: number; std: number };
    assert.ok(norm.mean > 0 && norm.std > 0, 'normalisation stored');

    const cls = await rig(root, 'train-cls', { backend: 'cpu', widths: [4, 8], epochs: 2, batch_size: 4, lr: 0.01, gamma: 2, alpha: 0.5, seed: 1 },
      { crops: inputs.crops! });
    await trainCls.run(cls.ctx);
    assert.equal(tf.memory().numTensors, tensors, 'train-cls leaks no tensors');
    assert.equal(cls.metrics.epochs_run, 2);
    assert.equal(typeof cls.metrics.val_acc, 'number');
    const clsHistory = await readHistory(join(cls.ctx.outDir, 'cls_history'));
    assert.equal(clsHistory.epochs.length, 2);
    assert.equal(clsHistory.epochs[clsHistory.best_epoch - 1]!.val_acc, cls.metrics.val_acc);
    assert.equal(cls.info.backend, 'cpu');

    // pretrained: the classifier starts from the weights of the file.
    const pre = await rig(root, 'train-cls-pre', { backend: 'cpu', widths: [4, 8], epochs: 1, batch_size: 4, pretrained: 'out/train-cls/cls_model' },
      { crops: inputs.crops! });
    assert.deepEqual(trainCls.deps?.(pre.ctx.params), ['out/train-cls/cls_model']);
    await trainCls.run(pre.ctx);
    assert.ok(pre.logs.some((l) => /^pretrained: \d+ of \d+ weights loaded/.test(l)), pre.logs.join('\n'));

    tensors = tf.memory().numTensors;
    const inf = await rig(root, 'infer', { backend: 'cpu', batch_size: 3, mask_threshold: 0.3 }, {
      dataset: inputs.dataset!, split: inputs.split!,
      seg_model: join(seg.ctx.outDir, 'seg_model'), cls_model: join(cls.ctx.outDir, 'cls_model'),
    });
    await infer.run(inf.ctx);
    assert.equal(tf.memory().numTensors, tensors, 'infer leaks no tensors');
    const { tensors: out, metadata } = await readTensors(join(inf.ctx.outDir, 'predictions'));
    assert.deepEqual(Object.keys(out).sort(), ['test_cls', 'test_prob', 'val_cls', 'val_prob']);
    assert.deepEqual(out.val_prob!.shape, [4, H, W]);
    assert.deepEqual(out.test_prob!.shape, [M, H, W]);
    assert.deepEqual(out.val_cls!.shape, [4]);
    assert.deepEqual(out.test_cls!.shape, [M]);
    for (const t of Object.values(out)) {
      assert.equal(t.dtype, 'float32');
      for (const v of t.data) assert.ok(v >= 0 && v <= 1);
    }
    assert.deepEqual(JSON.parse(metadata.val_ids!), ['2_1', '2_2', '2_3', '2_4']);
    assert.deepEqual(JSON.parse(metadata.test_ids!), ['1', '2', '3']);
    assert.equal(inf.progress.at(-1)!.done, inf.progress.at(-1)!.total);

    // iso-mask's predicted crops come from the very maps infer writes (one loader, one threshold rule).
    const isoParams = { crop_size: S, negatives_train: 0, negatives_val: 0, predicted: true, mask_threshold: 0.3, backend: 'cpu' };
    const iso = await rig(root, 'iso-mask', isoParams, { dataset: inputs.dataset!, split: inputs.split!, seg_model: inf.ctx.inputs.seg_model! });
    await isoMask.run(iso.ctx);
    assert.equal(tf.memory().numTensors, tensors, 'iso-mask leaks no tensors');
    const crops = (await readTensors(join(iso.ctx.outDir, 'crops'))).tensors;
    const ds = await readDataset(inputs.dataset!);
    const sp = await readSplit(inputs.split!);
    const fromInfer = predictedCrops(ds, sp.val, out.val_prob!.data as Float32Array, isoMaskParams(isoParams));
    assert.ok(fromInfer.y.length > 0, 'the U-Net masks something at 0.3');
    // val_x: the true-mask crops of the val images with a nerve (2 of 4; no negatives asked), then the U-Net's.
    assert.equal(crops.val_y!.data.length, 2 + fromInfer.y.length);
    assert.deepEqual(crops.val_x!.data.subarray(2 * S * S), fromInfer.x);
    assert.deepEqual(crops.val_y!.data.subarray(2), fromInfer.y);
    const wrongSize = await rig(root, 'infer-wrong-seg', { backend: 'cpu' }, { ...inf.ctx.inputs, seg_model: join(cls.ctx.outDir, 'cls_model') });
    await assert.rejects(infer.run(wrongSize.ctx), /seg_model takes 16x16 images, the dataset has 16x24/);
    assert.equal(tf.memory().numTensors, tensors, 'a seg_model of the wrong size leaks no tensors');

    const bad = await rig(root, 'infer-bad', { backend: 'cpu', crop_size: 32 }, inf.ctx.inputs);
    await assert.rejects(infer.run(bad.ctx), /param crop_size 32 differs from the classifier's input size 16/);
    assert.equal(tf.memory().numTensors, tensors, 'a failed infer leaks no tensors');
    const badSeg = await rig(root, 'seg-bad', { backend: 'cpu', depth: 4 }, seg.ctx.inputs);
    await assert.rejects(trainSeg.run(badSeg.ctx), /param depth 4: image size 16x24 must be divisible by 2\^depth = 16/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
