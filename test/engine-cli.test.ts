import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Rig } from './util/rig.js';
import { repoRoot } from './util/paths.js';

const PIPELINE = `params:
  n: 2
stages:
  gen:
    cmd: seq \${n} > nums.txt
    outs: [nums.txt]
  sum:
    cmd: awk '{s+=$1} END {print s}' nums.txt > sum.txt
    needs: [gen]
    outs: [sum.txt]
  report:
    cmd: cat sum.txt > report.txt
    deps: [sum.txt]
    outs: [report.txt]
`;

describe('the command line', () => {
  const rig = new Rig({ 'pipeline.yaml': PIPELINE });
  after(() => rig.cleanup());

  test('--help lists every command and flag the CLI accepts, and the README quotes it', async () => {
    const r = await rig.run('--help');
    assert.equal(r.code, 0);
    for (const word of ['pipe run', 'pipe status', 'pipe dag', 'pipe watch', 'pipe score', '--set', '--force', '--dry-run', '--jobs', '--json', '--format', '--file', '--no-wait']) {
      assert.ok(r.stdout.includes(word), `help mentions ${word}`);
    }
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
    assert.ok(readme.includes(r.stdout.trim()), 'README.md contains the exact `pipe --help` text');
    const none = await rig.run();
    assert.equal(none.code, 2);
  });

  test('dag as text, mermaid and dot; a dep on another stage\'s out is an edge', async () => {
    let r = await rig.run('dag');
    assert.equal(r.code, 0);
    assert.equal(r.stdout, 'gen     cmd\nsum     cmd  <- gen\nreport  cmd  <- sum\n');
    r = await rig.run('dag', '--format', 'mermaid');
    assert.match(r.stdout, /^flowchart LR\n/);
    assert.match(r.stdout, /  gen --> sum\n  sum --> report\n$/);
    r = await rig.run('dag', '--format', 'dot');
    assert.match(r.stdout, /^digraph pipe \{/);
    assert.match(r.stdout, /"sum" -> "report";/);
    r = await rig.run('dag', '--format', 'svg');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--format expects text, mermaid or dot/);
  });

  test('status before and after a run, as text and JSON', async () => {
    let r = await rig.run('status');
    assert.match(r.stdout, /^gen\s+stale\s+never ran/m);
    assert.match(r.stdout, /^sum\s+stale\s+needs "gen", which will run/m);
    assert.match(r.stdout, /^report\s+stale\s+needs "sum", which is stale/m);
    assert.equal((await rig.run('run')).code, 0);
    assert.equal(rig.read('report.txt'), '3\n');
    const j = await rig.json('status');
    assert.deepEqual(j.doc.stages.map((s: any) => s.state), ['fresh', 'fresh', 'fresh']);
    assert.match(j.doc.stages[0].key, /^sha256:[0-9a-f]{64}$/);
    r = await rig.run('status');
    assert.match(r.stdout, /everything is up to date/);
  });

  test('run STAGE runs only what it needs; --set on a stage param of a cmd stage', async () => {
    const j = await rig.json('run', 'sum', '--set', 'n=4');
    assert.deepEqual(j.doc.stages.map((s: any) => [s.stage, s.status]), [['gen', 'ran'], ['sum', 'ran']]);
    assert.equal(rig.read('sum.txt'), '10\n');
    assert.equal(rig.read('report.txt'), '3\n');
  });

  test('another pipeline file in the same folder keeps its own lock', async () => {
    rig.write({ 'other.yaml': 'stages:\n  solo:\n    cmd: echo solo > solo.txt\n    outs: [solo.txt]\n' });
    const before = rig.read('pipe.lock');
    const r = await rig.run('run', '-f', 'other.yaml');
    assert.equal(r.code, 0, r.stderr);
    assert.match(rig.read('other.lock'), /solo:/);
    assert.equal(rig.read('pipe.lock'), before);
  });

  test('--version prints the package version', async () => {
    const r = await rig.run('--version');
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    assert.equal(r.stdout.trim(), pkg.version);
  });
});
