import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { kaggleFile } from './util/paths.js';
import { Rig } from './util/rig.js';

describe('pipe score', () => {
  const rig = new Rig({
    'pipeline.yaml': 'stages:\n  a:\n    cmd: "true"\n',
    // Subject 1 image 1 of train_masks.csv predicted exactly, 1_2 predicted empty.
    'truth.csv': 'subject,img,pixels\n1,1,10 5\n1,2,\n1,3,100 10\n',
    'good.csv': 'img,pixels\n1_1,10 5\n1_2,\n1_3,105 10\n',
    'bad.csv': 'img,pixels\n1_1,10 5\n1_2,7\n1_3,\n',
  });
  after(() => rig.cleanup());

  test('mean Dice over images, empty vs empty = 1, as text and JSON', async () => {
    const r = await rig.run('score', 'good.csv', 'truth.csv');
    assert.equal(r.code, 0, r.stderr);
    // 1_1: 1, 1_2: 1 (both empty), 1_3: 2*5/(10+10) = 0.5
    assert.match(r.stdout, /^mean Dice 0\.83333 over 3 images$/m);
    const j = await rig.json('score', 'good.csv', 'truth.csv');
    assert.ok(Math.abs(j.doc.score - 2.5 / 3) < 1e-12);
  });

  test('a malformed row is exit 2 with the file and line', async () => {
    const r = await rig.run('score', 'bad.csv', 'truth.csv');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.csv:3/);
  });

  test('a prediction scored against the real train_masks.csv row set must cover the same images', async () => {
    const r = await rig.run('score', 'good.csv', kaggleFile('train_masks.csv'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /5632 image\(s\) of .*train_masks.csv have no prediction in good.csv: 1_4, 1_5/);
  });
});
