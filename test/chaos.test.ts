/**
 * A short chaos session (the long one is bench/chaos.ts): ten random
 * SIGKILL/SIGHUP/SIGINT of `pipe run` on a pipeline of command stages, each
 * followed by a run with another param; no check may fail.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Chaos, formatReport } from './util/chaos.js';
import { COMMAND_PIPELINE } from './util/chaos-pipelines.js';

test('10 random kills of pipe run: every recovery is clean', async () => {
  const report = await new Chaos({ ...COMMAND_PIPELINE, points: COMMAND_PIPELINE.points.slice(0, 2), killWindowMs: 2500 }, 7).run(10);
  assert.equal(report.kills, 10);
  assert.deepEqual(report.defects, [], formatReport(report));
  for (const check of ['recovery-exit', 'lock-matches', 'status-fresh', 'outputs-equal', 'no-orphans', 'no-debris']) {
    assert.equal(report.checks[check]?.pass, 10, `${check} ran after every kill`);
  }
});
