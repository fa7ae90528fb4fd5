import { test } from 'node:test';
import assert from 'node:assert/strict';
import { frames, thresholdMask } from '../stages/lib/unet-masks.js';

test('thresholdMask: the k-th map at or above the threshold, written over the reused mask; frames gathers in order', () => {
  const probs = Float32Array.from([0.1, 0.3, 0.29, 0.9, /* map 1 */ 0.3, 0, 0, 0]);
  const mask = new Uint8Array(4).fill(7);
  assert.equal(thresholdMask(probs, 0, 0.3, mask), 2);
  assert.deepEqual([...mask], [0, 1, 0, 1]);
  assert.equal(thresholdMask(probs, 1, 0.3, mask), 1);
  assert.deepEqual([...mask], [1, 0, 0, 0]);
  assert.equal(thresholdMask(probs, 1, 0.31, mask), 0);
  assert.deepEqual([...mask], [0, 0, 0, 0]);
  const stack = Uint8Array.from([1, 1, 2, 2, 3, 3]); // three 1x2 frames
  assert.deepEqual([...frames(stack, [2, 0, 2], 1, 2)], [3, 3, 1, 1, 3, 3]);
  assert.equal(frames(stack, [], 1, 2).length, 0);
});
