import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defectsOf, fuzz, runInProcess, snapshot } from './util/fuzz.js';
import { Capture } from './util/fuzz-watch.js';
import { caseSeed, makeCase, writeCase, type FuzzCase } from './util/fuzz-case.js';

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

test('a case output is kept bounded: head and tail, with the dropped count', () => {
  const c = new Capture(10);
  for (let i = 0; i < 1000; i++) c.write(`${i}\n`);
  const text = c.text();
  assert.ok(text.startsWith('0\n1\n2\n3\n4'), text);
  assert.ok(text.endsWith('7\n998\n999\n'), text);
  assert.match(text, /\[fuzz harness: \d+ characters of output dropped here\]/);
  assert.equal(c.droppedChars, [...Array(1000).keys()].join('\n').length + 1 - 20);
  const short = new Capture(10);
  short.write('abc');
  assert.equal(short.text(), 'abc');
});

test('a stage printing without end is interrupted by the harness and must end as an interrupted run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pipe-fuzz-endless-'));
  try {
    const c: FuzzCase = { seed: 0, template: 'cmd', mutations: [], pipeline: 'stages:\n  loud:\n    cmd: yes\n', argv: ['run'] };
    writeCase(c, dir);
    const before = snapshot(dir);
    const o = await runInProcess(c, dir, 1500);
    assert.equal(o.stopped?.stagePrinting, true, JSON.stringify(o.stopped));
    assert.equal(o.code, 130, o.stderr.slice(-500));
    assert.deepEqual(defectsOf(c, o, dir, before), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
