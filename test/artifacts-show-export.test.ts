/**
 * `pipe show` and `pipe export` on the artifacts of a tiny project around the
 * real gate stage (test/util/tiny-gate.ts): summaries of tensor, JSON and CSV
 * artifacts, .npy files NumPy can read, masks as PNG, metrics as JSON/CSV, and
 * `pipe score` on the two CSVs gate wrote.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { Rig } from './util/rig.js';
import { TINY_GATE_FILES } from './util/tiny-gate.js';

/** Header dict and data offset of a .npy file (the format NumPy documents). */
function readNpy(bytes: Buffer): { header: string; data: Buffer } {
  assert.deepEqual([...bytes.subarray(0, 8)], [0x93, ...Buffer.from('NUMPY'), 1, 0]);
  const len = bytes.readUInt16LE(8);
  assert.equal((10 + len) % 64, 0, 'data aligned to 64 bytes');
  return { header: bytes.subarray(10, 10 + len).toString('latin1'), data: bytes.subarray(10 + len) };
}

describe('pipe show and pipe export', () => {
  const rig = new Rig(TINY_GATE_FILES);
  after(() => rig.cleanup());
  before(async () => {
    const r = await rig.run('run');
    assert.equal(r.code, 0, r.stderr);
  });

  test('show STAGE/ARTIFACT of a tensor file: names, dtypes, shapes, metadata keys', async () => {
    const r = await rig.run('show', 'fake/dataset');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^fake\/dataset {2}tensors {2}[\d.]+ (B|kB) {2}sha256:[0-9a-f]{12}$/);
    assert.deepEqual(lines.slice(1), [
      '  test_images   uint8  [1, 8, 10]',
      '  train_images  uint8  [2, 8, 10]',
      '  train_masks   uint8  [2, 8, 10]',
      '  metadata: height, orig_height, orig_width, test_ids, train_ids, train_rle, width',
    ]);
    const j = await rig.json('show', 'fake/dataset');
    assert.equal(j.doc.artifacts[0].format, 'tensors');
    assert.deepEqual(j.doc.artifacts[0].tensors[2], { name: 'train_masks', dtype: 'uint8', shape: [2, 8, 10] });
  });

  test('show STAGE lists every artifact: JSON keys with sizes, CSV header and rows', async () => {
    const r = await rig.run('show', 'gate');
    assert.equal(r.code, 0, r.stderr);
    const text = r.stdout.replace(/ {2}[\d.]+ (B|kB) {2}sha256:[0-9a-f]{12}/g, '');
    assert.equal(text, [
      'gate/masks  json',
      '  height  number',
      '  width   number',
      '  gate    object  5 keys',
      '  val     object  2 keys',
      '  test    object  1 key',
      'gate/val_pred.csv  csv',
      '  header: img,pixels',
      '  rows: 2',
      'gate/val_truth.csv  csv',
      '  header: img,pixels',
      '  rows: 2',
      '',
    ].join('\n'));
    const j = await rig.json('show', 'gate');
    assert.deepEqual(j.doc.artifacts.map((a: { name: string }) => a.name), ['masks', 'val_pred.csv', 'val_truth.csv']);
    assert.deepEqual(j.doc.artifacts[0].keys[2], { key: 'gate', type: 'object', size: 5 });
    assert.deepEqual(j.doc.artifacts[0].keys[3], { key: 'val', type: 'object', size: 2 });
    assert.deepEqual(j.doc.artifacts[1].header, ['img', 'pixels']);
  });

  test('show of an unknown artifact or a stage that never ran is a usage error (exit 2) naming what exists', async () => {
    const r = await rig.run('show', 'gate/maks');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /stage "gate" has no artifact "maks" \(it has: masks, val_pred\.csv, val_truth\.csv\)/);
    const j = await rig.json('show', 'nope');
    assert.equal(j.code, 2);
    assert.equal(j.doc.error.reason, 'usage');
  });

  test('export of tensors: the safetensors file as stored, each tensor as .npy, masks as PNG', async () => {
    const r = await rig.json('export', 'fake/dataset', 'out/ds');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.doc.files, [
      'dataset.safetensors', 'dataset.test_images.npy', 'dataset.train_images.npy', 'dataset.train_masks.npy', 'dataset.metadata.json',
      'dataset.train_masks/1_1.png', 'dataset.train_masks/1_2.png',
    ]);
    const lock = parse(rig.read('pipe.lock'));
    const { createHash } = await import('node:crypto');
    const digest = `sha256:${createHash('sha256').update(readFileSync(join(rig.dir, 'out/ds/dataset.safetensors'))).digest('hex')}`;
    assert.equal(digest, lock.stages.fake.outputs.dataset.digest);
    assert.equal(statSync(join(rig.dir, 'out/ds/dataset.safetensors')).mode & 0o777, 0o644, 'an ordinary file, not the read-only cache object');
    const npy = readNpy(readFileSync(join(rig.dir, 'out/ds/dataset.train_masks.npy')));
    assert.equal(npy.header.trimEnd(), "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 8, 10), }");
    assert.equal(npy.data.length, 160);
    assert.equal(npy.data[0], 1, 'the first pixel of 1_1 is inside its mask');
    const { default: sharp } = await import('sharp');
    const file = join(rig.dir, 'out/ds/dataset.train_masks/1_1.png');
    const meta = await sharp(file).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.channels], ['png', 10, 8, 1]);
    const px = await sharp(file).extractChannel(0).raw().toBuffer();
    assert.deepEqual([...px.subarray(0, 10)], [255, 255, 255, 255, 255, 0, 0, 0, 0, 0], 'the left half of the first row is the nerve');
  });

  test('export of gate: masks as JSON and PNG at the original size; the two CSVs score with pipe score', async () => {
    const r = await rig.json('export', 'gate/masks', 'out/gate');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.doc.files, ['masks.json', 'masks.val/1_1.png', 'masks.val/1_2.png', 'masks.test/1.png']);
    const { default: sharp } = await import('sharp');
    const meta = await sharp(join(rig.dir, 'out/gate/masks.val/1_1.png')).metadata();
    assert.deepEqual([meta.width, meta.height], [580, 420]);
    for (const f of ['val_pred.csv', 'val_truth.csv']) {
      const e = await rig.run('export', `gate/${f}`, 'out/gate');
      assert.equal(e.code, 0, e.stderr);
      assert.equal(e.stdout, `${join('out/gate', f)}\n`);
    }
    const score = await rig.json('score', 'out/gate/val_pred.csv', 'out/gate/val_truth.csv');
    assert.equal(score.code, 0, score.stderr);
    const lock = parse(rig.read('pipe.lock'));
    assert.equal(score.doc.images, 2);
    assert.ok(Math.abs(score.doc.score - lock.stages.gate.metrics.val_dice) < 1e-9, `${score.doc.score} vs ${lock.stages.gate.metrics.val_dice}`);
  });

  test('export STAGE/metrics: the stage\'s metrics from pipe.lock as JSON and CSV', async () => {
    const r = await rig.json('export', 'gate/metrics', 'out/m');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.doc.files, ['metrics.json', 'metrics.csv']);
    const csv = rig.read('out/m/metrics.csv').trimEnd().split('\n');
    assert.equal(csv[0], 'name,value');
    assert.deepEqual(csv.slice(1).map((l) => l.split(',')[0]).sort(), ['presence_precision', 'presence_recall', 'val_dice', 'val_dice_unet']);
    assert.deepEqual(readdirSync(join(rig.dir, 'out/m')).sort(), ['metrics.csv', 'metrics.json']);
  });

  test('export takes STAGE/ARTIFACT and a folder', async () => {
    const r = await rig.run('export', 'gate');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /`pipe export` takes STAGE\/ARTIFACT and a folder/);
  });
});
