import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodeRle, encodeRle, parseRle } from '../stages/lib/rle.js';
import { kaggleFile } from './util/paths.js';

const H = 420;
const W = 580;

test('every row of train_masks.csv decodes and re-encodes to the same string', () => {
  const lines = readFileSync(kaggleFile('train_masks.csv'), 'utf8').trim().split(/\r?\n/);
  assert.equal(lines[0], 'subject,img,pixels');
  const rows = lines.slice(1);
  assert.equal(rows.length, 5635);
  let nonEmpty = 0;
  for (const line of rows) {
    const rle = line.split(',')[2] ?? '';
    const mask = decodeRle(rle, H, W);
    if (rle !== '') nonEmpty++;
    assert.equal(encodeRle(mask, H, W), rle, `row ${line.slice(0, 12)}`);
  }
  assert.equal(nonEmpty, 2323);
});

test('column-major numbering: pixel (row 1, col 0) is number 2, (row 0, col 1) is h+1', () => {
  const m = new Uint8Array(3 * 4);
  m[1 * 4 + 0] = 1; // row 1 col 0
  m[0 * 4 + 1] = 1; // row 0 col 1
  assert.equal(encodeRle(m, 3, 4), '2 1 4 1');
  // a run wraps from the bottom of column 0 into the top of column 1
  m[2 * 4 + 0] = 1;
  assert.equal(encodeRle(m, 3, 4), '2 3');
  assert.deepEqual(decodeRle('2 3', 3, 4), m);
  assert.equal(encodeRle(new Uint8Array(12), 3, 4), '');
  assert.equal(encodeRle(new Uint8Array(12).fill(1), 3, 4), '1 12');
});

test('decode rejects malformed RLE with a clear message', () => {
  assert.throws(() => decodeRle('1 2 3', 3, 4), /odd count/);
  assert.throws(() => decodeRle('5 2 1 1', 3, 4), /not after the previous run/);
  assert.throws(() => decodeRle('1 3 3 1', 3, 4), /not after the previous run/);
  assert.throws(() => decodeRle('10 5', 3, 4), /past the last pixel 12/);
  assert.throws(() => decodeRle('0 1', 3, 4), /below 1/);
  assert.throws(() => decodeRle('1 0', 3, 4), /length 0/);
  assert.throws(() => decodeRle('1 x', 3, 4), /not two non-negative integers/);
  assert.deepEqual(parseRle('  ', 3, 4), []);
});

