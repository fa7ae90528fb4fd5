import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scoreFiles } from '../stages/lib/score.js';
import { kaggleFile } from './util/paths.js';

async function withFiles(files: Record<string, string>, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'score-'));
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('score: known values, subject,img,pixels truth', async () => {
  await withFiles({
    'pred.csv': 'img,pixels\n1,1 10\n2,\n3,1 10\n',
    'truth.csv': 'img,pixels\n1,1 10\n2,\n3,6 10\n',
    'pred-train.csv': 'img,pixels\n1_1,1 4\n2_1,\n',
    'truth-train.csv': 'subject,img,pixels\n1,1,1 4\n2,1,\n',
  }, async (d) => {
    const r = await scoreFiles(join(d, 'pred.csv'), join(d, 'truth.csv'));
    assert.deepEqual(r, { ok: true, score: (1 + 1 + 0.5) / 3, images: 3 });
    assert.deepEqual(await scoreFiles(join(d, 'pred-train.csv'), join(d, 'truth-train.csv')), { ok: true, score: 1, images: 2 });
  });
});

test('score: train_masks.csv rewritten as img,pixels scores 1 against itself; sample submission too', async () => {
  const rows = (await readFile(kaggleFile('train_masks.csv'), 'utf8')).trim().split('\n').slice(1);
  const pred = 'img,pixels\n' + rows.map((l) => { const [s, i, px] = l.split(','); return `${s}_${i},${px}`; }).join('\n') + '\n';
  await withFiles({ 'pred.csv': pred }, async (d) => {
    assert.deepEqual(await scoreFiles(join(d, 'pred.csv'), kaggleFile('train_masks.csv')), { ok: true, score: 1, images: 5635 });
  });
  const r = await scoreFiles(kaggleFile('sample_submission.csv'), kaggleFile('sample_submission.csv'));
  assert.deepEqual(r, { ok: true, score: 1, images: 5508 });
});

test('score: malformed rows name file and line; missing images are listed', async () => {
  await withFiles({
    'truth.csv': 'img,pixels\n1,1 10\n2,\n',
    'odd.csv': 'img,pixels\n1,1 10\n2,5\n',
    'unsorted.csv': 'img,pixels\n1,20 5 1 2\n2,\n',
    'fields.csv': 'img,pixels\n1,1 10,3\n',
    'header.csv': 'id,rle\n1,\n',
    'dup.csv': 'img,pixels\n1,\n1,\n',
    'extra.csv': 'img,pixels\n1,1 10\n2,\n3,\n',
    'less.csv': 'img,pixels\n1,1 10\n',
    'range.csv': 'img,pixels\n1,243600 2\n2,\n',
  }, async (d) => {
    const msg = async (f: string): Promise<string> => {
      const r = await scoreFiles(join(d, f), join(d, 'truth.csv'));
      assert.equal(r.ok, false, f);
      return r.ok ? '' : r.message;
    };
    assert.match(await msg('odd.csv'), /odd\.csv:3: .*odd count/);
    assert.match(await msg('unsorted.csv'), /unsorted\.csv:2: .*not after the previous run/);
    assert.match(await msg('fields.csv'), /fields\.csv:2: expected 2 comma-separated fields/);
    assert.match(await msg('header.csv'), /header\.csv:1: header/);
    assert.match(await msg('dup.csv'), /dup\.csv:3: image 1 appears twice/);
    assert.match(await msg('extra.csv'), /1 image\(s\) of .*extra\.csv are not in .*truth\.csv: 3/);
    assert.match(await msg('less.csv'), /have no prediction in .*less\.csv: 2/);
    assert.match(await msg('range.csv'), /range\.csv:2: .*past the last pixel 243600/);
    assert.match(await msg('missing.csv'), /missing\.csv: cannot read/);
  });
});
