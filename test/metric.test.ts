import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dice, diceRuns, meanDice, presence } from '../stages/lib/metric.js';
import { encodeRle, parseRle } from '../stages/lib/rle.js';

const m = (bits: string): Uint8Array => Uint8Array.from(bits, (c) => (c === '1' ? 1 : 0));

test('dice: empty/empty = 1, disjoint = 0, known overlaps', () => {
  assert.equal(dice(m('0000'), m('0000')), 1);
  assert.equal(dice(m('1100'), m('0011')), 0);
  assert.equal(dice(m('1100'), m('0000')), 0);
  assert.equal(dice(m('1100'), m('1100')), 1);
  assert.equal(dice(m('1110'), m('0111')), (2 * 2) / 6);
  assert.equal(dice(m('1000'), m('1111')), 2 / 5);
  assert.equal(meanDice([m('00'), m('10')], [m('00'), m('01')]), 0.5);
  assert.throws(() => dice(m('1'), m('10')), /differ in size/);
});

test('diceRuns equals dice on the decoded masks', () => {
  const cases: Array<[string, string]> = [
    ['000000', '000000'],
    ['111000', '000111'],
    ['111100', '011110'],
    ['101010', '111111'],
    ['110011', '011110'],
  ];
  for (const [a, b] of cases) {
    const ra = parseRle(encodeRle(m(a), 2, 3), 2, 3);
    const rb = parseRle(encodeRle(m(b), 2, 3), 2, 3);
    assert.equal(diceRuns(ra, rb), dice(m(a), m(b)), `${a} vs ${b}`);
  }
});

test('presence precision and recall', () => {
  const p = presence([true, true, false, false, true], [true, false, true, false, true]);
  assert.deepEqual([p.tp, p.fp, p.fn, p.tn], [2, 1, 1, 1]);
  assert.equal(p.precision, 2 / 3);
  assert.equal(p.recall, 2 / 3);
  const none = presence([false], [false]);
  assert.equal(none.precision, 1);
  assert.equal(none.recall, 1);
});
