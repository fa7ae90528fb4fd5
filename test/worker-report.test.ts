/**
 * One handler for a module stage's worker messages (engine/run-stage.ts
 * workerReport), used by the local run and the Slurm executor alike.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EngineEvent } from '../engine/events.js';
import { workerReport } from '../engine/run-stage.js';

test('progress is throttled (the last step always passes), logs are output, metrics, info and the outcome are collected', () => {
  const events: EngineEvent[] = [];
  const r = workerReport('s', (e) => events.push(e));
  r.onMessage({ type: 'progress', progress: { done: 1, total: 3 } });
  r.onMessage({ type: 'progress', progress: { done: 2, total: 3 } });
  r.onMessage({ type: 'log', message: 'hello' });
  r.onMessage({ type: 'progress', progress: { done: 3, total: 3 } });
  r.onMessage({ type: 'metric', name: 'dice', value: 0.5 });
  r.onMessage({ type: 'info', key: 'backend', value: 'wasm' });
  assert.equal(r.outcome, undefined);
  r.onMessage({ type: 'done' });
  const progress = events.filter((e) => e.type === 'stage-progress');
  assert.deepEqual(progress.map((e) => e.type === 'stage-progress' && e.progress.done), [1, 3]);
  assert.ok(progress.every((e) => e.type === 'stage-progress' && e.stage === 's' && e.elapsedMs >= 0));
  assert.deepEqual(events.filter((e) => e.type === 'stage-output'), [{ type: 'stage-output', stage: 's', line: 'hello', stream: 'stdout' }]);
  assert.deepEqual([r.metrics, r.info, r.outcome], [{ dice: 0.5 }, { backend: 'wasm' }, { ok: true }]);
});

test('a failed message is the stage\'s threw failure, with its stack', () => {
  const r = workerReport('s', () => undefined);
  r.onMessage({ type: 'failed', message: 'boom', stack: 'Error: boom\n    at x' });
  assert.deepEqual(r.outcome, { ok: false, failure: { reason: 'threw', message: 'boom', stack: 'Error: boom\n    at x' } });
});
