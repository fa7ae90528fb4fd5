import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { decodeRle } from '../stages/lib/rle.js';
import { Rig, statuses } from './util/rig.js';
import { tinyNervePipeline } from './util/tiny-nerve.js';

// The default pipeline's shape with tiny sizes: a few dozen small images.
const PIPELINE = tinyNervePipeline();

describe('the nerve pipeline end to end on a tiny synthetic set', () => {
  const rig = new Rig({ 'pipeline.yaml': PIPELINE });
  after(() => rig.cleanup());
  let first: any;
  let firstLock: any;

  before(async () => {
    const r = await rig.json('run');
    first = r.doc;
    assert.equal(r.code, 0, r.stderr);
    firstLock = parse(rig.read('pipe.lock'));
  });

  test('every stage ran and submission.csv is a valid Kaggle CSV', () => {
    assert.deepEqual(Object.values(statuses(first)), Array(9).fill('ran'));
    const lines = rig.read('submission.csv').trim().split('\n');
    assert.equal(lines[0], 'img,pixels');
    const ids = lines.slice(1).map((l) => Number(l.split(',')[0]));
    assert.equal(ids.length, 6);
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
    for (const l of lines.slice(1)) {
      const rle = l.split(',')[1] ?? '';
      const mask = decodeRle(rle, 420, 580); // throws on a malformed RLE
      const n = mask.reduce((s, v) => s + v, 0);
      assert.ok(n === 0 || n >= 10, 'masks under 10 pixels are written empty');
    }
  });

  test('the lock records metrics, backend and versions', () => {
    const lock = parse(rig.read('pipe.lock'));
    const gate = lock.stages.gate;
    for (const m of ['val_dice', 'val_dice_unet', 'presence_precision', 'presence_recall']) {
      assert.ok(typeof gate.metrics[m] === 'number' && gate.metrics[m] >= 0 && gate.metrics[m] <= 1, `${m} = ${gate.metrics[m]}`);
    }
    assert.equal(lock.stages['train-seg'].info.backend, 'wasm');
    assert.match(lock.stages['train-seg'].info['tfjs-core'], /^\d+\.\d+\.\d+$/);
    assert.equal(lock.stages['train-seg'].info.threads, '1'); // -j defaults to the core count: one thread per stage
    assert.match(lock.stages['train-seg'].info.node, /^v\d+/);
  });

  test('changing gate.min_pixels re-runs gate (and submit only if the masks changed), nothing upstream', async () => {
    const before = parse(rig.read('pipe.lock')).stages.gate.outputs.masks.digest;
    const r = await rig.json('run', '--set', 'gate.min_pixels=100000');
    assert.equal(r.code, 0, r.stderr);
    const s = statuses(r.doc);
    for (const up of ['synth', 'ingest', 'split', 'iso-mask', 'train-seg', 'train-cls', 'infer']) assert.equal(s[up], 'fresh', up);
    assert.equal(s.gate, 'ran');
    const afterDigest = parse(rig.read('pipe.lock')).stages.gate.outputs.masks.digest;
    assert.equal(s.submit, afterDigest === before ? 'fresh' : 'ran');
    // No mask survives min_pixels = 100000: every row is empty.
    for (const l of rig.read('submission.csv').trim().split('\n').slice(1)) assert.match(l, /^\d+,$/);
    // Back to the old value: restored from the run cache, nothing runs.
    const back = await rig.json('run');
    assert.equal(statuses(back.doc).gate, 'restored');
  });

  test('a colleague with the same pipeline gets bit-identical outputs and keys', async () => {
    const other = new Rig({ 'pipeline.yaml': PIPELINE });
    try {
      const r = await other.json('run');
      assert.equal(r.code, 0, r.stderr);
      const lock = parse(other.read('pipe.lock'));
      for (const [name, entry] of Object.entries<any>(firstLock.stages)) {
        assert.equal(lock.stages[name].key, entry.key, `${name} key`);
        assert.deepEqual(lock.stages[name].outputs, entry.outputs, `${name} outputs`);
      }
      assert.equal(other.read('submission.csv'), rig.read('submission.csv'));
    } finally {
      other.cleanup();
    }
  });
});
