import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { Rig } from './util/rig.js';
import { tinyNervePipeline } from './util/tiny-nerve.js';

// The default pipeline's shape at its smallest: the nerve stages, one epoch each.
const PIPELINE = tinyNervePipeline({
  seed: 5,
  params: {
    synth: { subjects: 3, images_per_subject: 4, test_images: 3 },
    split: { val_fraction: 0.34 },
    'iso-mask': { negatives_train: 1, shift: undefined },
    'train-seg': { epochs: 1, batch_size: 4 },
    'train-cls': { epochs: 1, batch_size: 4 },
  },
});

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
