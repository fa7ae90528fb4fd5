import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTf } from '../stages/lib/backend.js';
import { buildUnet } from '../stages/models/unet.js';
import { buildClassifier } from '../stages/models/classifier.js';
import { loadModel, readModelFile, saveModel, setWeightsByName } from '../stages/models/model-io.js';
import type * as TfModule from '@tensorflow/tfjs';

test('model-io round trip is bit-exact, keeps facts and predictions', async () => {
  const { tf } = await loadTf('cpu');
  const dir = await mkdtemp(join(tmpdir(), 'pipe-model-io-'));
  try {
    const m = buildUnet(tf, { inputShape: [8, 16, 1], baseFilters: 4, depth: 1, seed: 5 });
    // Make the batch-norm statistics non-trivial so they are checked too.
    for (const w of m.weights.filter((v) => v.originalName.endsWith('moving_mean'))) {
      const t = tf.randomNormal(w.shape as number[], 0, 1, 'float32', 9);
      w.write(t);
      t.dispose();
    }
    const path = join(dir, 'seg_model');
    await saveModel(path, m, { norm: { mean: 0.25, std: 0.5 }, epochs_run: 3 });
    const before = tf.memory().numTensors;
    const { model, facts } = await loadModel(tf, path);
    assert.deepEqual(facts, { norm: { mean: 0.25, std: 0.5 }, epochs_run: 3 });
    assert.equal(model.weights.length, m.weights.length);
    m.weights.forEach((w, i) => {
      const bytes = (v: TfModule.LayerVariable) => {
        const d = v.read().dataSync();
        return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
      };
      const a = bytes(w);
      const b = bytes(model.weights[i]!);
      assert.equal(model.weights[i]!.originalName, w.originalName);
      assert.deepEqual(b, a, w.originalName);
    });
    const x = tf.randomUniform([1, 8, 16, 1], 0, 1, 'float32', 2);
    const [pa, pb] = tf.tidy(() => [m, model].map((k) => Array.from((k.predict(x) as TfModule.Tensor).dataSync())));
    assert.deepEqual(pb, pa);
    x.dispose();
    model.dispose();
    assert.equal(tf.memory().numTensors, before);
    m.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('setWeightsByName loads matching layers and rejects shape mismatches', async () => {
  const { tf } = await loadTf('cpu');
  const dir = await mkdtemp(join(tmpdir(), 'pipe-model-io-'));
  try {
    const a = buildClassifier(tf, { inputShape: [16, 16, 1], widths: [4, 8], seed: 1 });
    const path = join(dir, 'cls');
    await saveModel(path, a);
    const { weights } = await readModelFile(path);
    const b = buildClassifier(tf, { inputShape: [16, 16, 1], widths: [4, 8, 8], seed: 2 });
    const missing = setWeightsByName(tf, b, weights);
    assert.ok(missing.some((n) => n.startsWith('s2b0')), 'new stage is missing');
    assert.deepEqual(Array.from(b.getLayer('stem_conv').getWeights()[0]!.dataSync()),
      Array.from(a.getLayer('stem_conv').getWeights()[0]!.dataSync()));
    const c = buildClassifier(tf, { inputShape: [16, 16, 1], widths: [6, 8], seed: 2 });
    assert.throws(() => setWeightsByName(tf, c, weights), /weight stem_conv\/kernel: file has shape/);
    for (const m of [a, b, c]) m.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
