import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf } from '../stages/lib/backend.js';
import { bceLoss, binaryAccuracy, diceCoef, diceLoss, focalLoss, imageDice, segLoss } from '../stages/models/losses.js';
import { auc } from '../stages/models/evaluators.js';
import { computeNormalisation, makeBatch } from '../stages/models/batches.js';
import { makeRng } from '../stages/lib/prng.js';

const close = (a: number, b: number, eps = 1e-5) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('dice loss pools the whole batch with smooth 1', async () => {
  const { tf } = await loadTf('cpu');
  const y = tf.tensor([[1, 1, 0, 0], [0, 0, 0, 1]]);
  const p = tf.tensor([[0.5, 1, 0.5, 0], [0, 0, 0, 0.25]]);
  // inter = 0.5 + 1 + 0.25 = 1.75; sum y = 3; sum p = 2.25 -> (3.5 + 1) / (5.25 + 1)
  close(diceLoss(tf, y, p).dataSync()[0]!, -4.5 / 6.25);
  close(diceCoef(tf, tf.zeros([2, 3]), tf.zeros([2, 3])).dataSync()[0]!, 1);
  tf.dispose([y, p]);
});

test('seg loss adds pixel BCE and the per-image presence term to the dice loss', async () => {
  const { tf } = await loadTf('cpu');
  // two 1x2 images: the first has a nerve pixel, the second is empty
  const y = tf.tensor4d([1, 0, 0, 0], [2, 1, 2, 1]);
  const p = tf.tensor4d([0.8, 0.4, 0.5, 0.2], [2, 1, 2, 1]);
  const bce = -(Math.log(0.8) + Math.log(0.6) + Math.log(0.5) + Math.log(0.8)) / 4;
  close(bceLoss(tf, y, p).dataSync()[0]!, bce);
  const dice = diceLoss(tf, y, p).dataSync()[0]!;
  close(segLoss(tf, y, p, { bce: 0, presence: 0 }).dataSync()[0]!, dice);
  // presence: image maxima 0.8 (has a nerve) and 0.5 (empty)
  const presence = -(Math.log(0.8) + Math.log(0.5)) / 2;
  close(segLoss(tf, y, p, { bce: 2, presence: 0.5 }).dataSync()[0]!, dice + 2 * bce + 0.5 * presence);
  // an empty image predicted empty costs (almost) nothing beyond the dice term
  const zero = tf.zeros([1, 1, 2, 1]);
  close(segLoss(tf, zero, zero, { bce: 1, presence: 1 }).dataSync()[0]!, -1);
  tf.dispose([y, p, zero]);
});

test('focal loss matches the formula, and gamma 0 gives weighted cross-entropy', async () => {
  const { tf } = await loadTf('cpu');
  const y = tf.tensor([1, 0]);
  const p = tf.tensor([0.8, 0.4]);
  // pos: 0.9 * 0.2^2 * -ln 0.8; neg: 0.1 * 0.4^2 * -ln 0.6; mean of the two
  const want = (0.9 * 0.04 * -Math.log(0.8) + 0.1 * 0.16 * -Math.log(0.6)) / 2;
  close(focalLoss(tf, y, p, { gamma: 2, alpha: 0.9 }).dataSync()[0]!, want);
  const ce = (0.5 * -Math.log(0.8) + 0.5 * -Math.log(0.6)) / 2;
  close(focalLoss(tf, y, p, { gamma: 0, alpha: 0.5 }).dataSync()[0]!, ce);
  // gamma 7 nearly ignores easy examples
  assert.ok(focalLoss(tf, y, p, { gamma: 7, alpha: 0.9 }).dataSync()[0]! < 1e-3);
  close(binaryAccuracy(tf, tf.tensor([1, 0, 1]), tf.tensor([0.7, 0.6, 0.2])).dataSync()[0]!, 1 / 3);
  tf.dispose([y, p]);
});

test('per-image dice and AUC on hand-made cases', () => {
  assert.equal(imageDice([0, 0], [0.1, 0.2]), 1);
  assert.equal(imageDice([1, 0], [0, 0.9]), 0);
  close(imageDice([1, 1, 0, 0], [0.9, 0.1, 0.8, 0]), 0.5);
  assert.equal(auc([[0.9, 1], [0.1, 0]]), 1);
  assert.equal(auc([[0.5, 1], [0.5, 0]]), 0.5);
  close(auc([[0.9, 1], [0.3, 1], [0.5, 0], [0.1, 0]]), 0.75);
  assert.ok(Number.isNaN(auc([[0.9, 1]])));
});

test('batches scale, normalise and flip image and mask together', () => {
  const x = Uint8Array.from([0, 255, 51, 102]);
  const y = Uint8Array.from([0, 1, 0, 0]);
  const set = { x, y, h: 1, w: 4, yPerSample: 4, index: [0] };
  const plain = makeBatch(set, [0], { mean: 0, std: 1 });
  assert.deepEqual(Array.from(plain.xs).map((v) => +v.toFixed(3)), [0, 1, 0.2, 0.4]);
  const norm = computeNormalisation(x, 1, 4, [0]);
  close(norm.mean, 0.4);
  const flips = makeBatch(set, [0], { mean: 0, std: 1 }, { flip: true, shift: 0 }, makeRng(2));
  const flipped = Array.from(flips.ys).join() === '0,0,1,0';
  assert.ok(flipped || Array.from(flips.ys).join() === '0,1,0,0');
  if (flipped) assert.deepEqual(Array.from(flips.xs).map((v) => +v.toFixed(3)), [0.4, 0.2, 1, 0]);
});
