import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { Rig } from './util/rig.js';

// The default pipeline's shape at its smallest: the nerve stages, one epoch each.
const PIPELINE = `params:
  seed: 5
  data: data/synth
stages:
  synth:
    uses: synth
    params: {out: \${data}, subjects: 3, images_per_subject: 4, test_images: 3, seed: \${seed}}
  ingest:
    uses: ingest
    needs: [synth]
    params: {data: \${data}, height: 32, width: 40}
  split:
    uses: split
    needs: [ingest]
    params: {val_fraction: 0.34, seed: \${seed}}
  iso-mask:
    uses: iso-mask
    needs: [ingest, split]
    params: {crop_size: 32, negatives_train: 1, negatives_val: 1, seed: \${seed}}
  train-seg:
    uses: train-seg
    needs: [ingest, split]
    params: {backend: wasm, base_filters: 4, depth: 2, epochs: 1, batch_size: 4, seed: \${seed}}
  train-cls:
    uses: train-cls
    needs: [iso-mask]
    params: {backend: wasm, widths: [4, 8], epochs: 1, batch_size: 4, seed: \${seed}}
  infer:
    uses: infer
    needs: [ingest, split, train-seg, train-cls]
    params: {backend: wasm}
  gate:
    uses: gate
    needs: [infer, ingest, split]
    params: {threshold: 0.3, min_pixels: 10}
  submit:
    uses: submit
    needs: [gate]
`;

const rig = new Rig({ 'pipeline.yaml': PIPELINE });
after(() => rig.cleanup());

test('repro --no-cache of the nerve pipeline runs every stage again from raw data and is bit-identical', async () => {
  const first = await rig.run('run');
  assert.equal(first.code, 0, first.stderr);
  const lock = parse(rig.read('pipe.lock'));
  for (const k of ['cpu', 'simd', 'arch', 'node']) assert.ok(lock.stages['train-seg'].info[k], `the lock records ${k}`);
  rig.write({ 'colleague.lock': rig.read('pipe.lock') });
  const r = await rig.json('repro', 'colleague.lock', '--no-cache');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.doc.stages.map((s: any) => [s.stage, s.verdict]), Object.keys(lock.stages).map((s) => [s, 'identical']));
  assert.equal(r.doc.stages.length, 9);
  assert.match(r.stderr, /^run train-seg: forced/m, 'training ran again');
  const now = parse(rig.read('pipe.lock'));
  for (const [name, e] of Object.entries<any>(lock.stages)) assert.deepEqual(now.stages[name].outputs, e.outputs, name);
});
