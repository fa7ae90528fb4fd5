import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzz } from './util/fuzz.js';
import { caseSeed, makeCase } from './util/fuzz-case.js';

// The short version of bench/fuzz.ts (10,000 cases): same rules, same case generator.
test('fuzzed pipeline.yaml and pipe.lock: exit 0 or 2, no stack trace, nothing written on failure', async () => {
  const report = await fuzz({ cases: 200, seed: 7, cliEvery: 50, parallel: 4, limitMs: 5000 });
  const lines = report.defects.map((d) => `case ${d.seed} (${d.via}; ${d.mutations.join(' ')}; pipe ${d.argv.join(' ')}): ${d.problems.join('; ')}`);
  assert.deepEqual(lines, [], `replay one with: node dist/bench/fuzz.js --replay SEED`);
  assert.equal(report.cases, 200);
  assert.equal(report.cliCases, 4);
  // The rules were exercised: both refusals and successes happened.
  assert.ok((report.exits['2'] ?? 0) > 20, JSON.stringify(report.exits));
  assert.ok((report.exits['0'] ?? 0) > 5, JSON.stringify(report.exits));
});

test('a case is reproducible from its seed', async () => {
  const lock = 'version: 1\nstages: {}\n';
  const a = makeCase(caseSeed(7, 3), lock);
  const b = makeCase(caseSeed(7, 3), lock);
  assert.deepEqual(a, b);
  assert.notDeepEqual(makeCase(caseSeed(7, 4), lock), a);
});
