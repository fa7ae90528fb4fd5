import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import { Rig, statuses } from './util/rig.js';

const PIPELINE = `params:
  n: 1
stages:
  c:
    cmd: echo "c \${n}" > c.txt
    outs: [c.txt]
  d:
    cmd: echo D > d.txt
    outs: [d.txt]
  e:
    cmd: mkdir -p e && echo 1 > e/one && echo 2 > e/two
    outs: [e]
`;

type Ref = { digest: string; kind: string; size: number };

function lockOutputs(rig: Rig, stage: string): Record<string, Ref> {
  return (parse(rig.read('pipe.lock')) as { stages: Record<string, { outputs: Record<string, Ref> }> }).stages[stage]!.outputs;
}

function objectPath(rig: Rig, digest: string): string {
  return join(rig.dir, '.pipe', 'cache', 'objects', digest.slice(7, 9), digest.slice(9));
}

function sha(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

describe('pipe verify', () => {
  const rig = new Rig({ 'pipeline.yaml': PIPELINE });
  after(() => rig.cleanup());

  test('a sound cache: exit 0', async () => {
    for (const n of ['1', '2', '1']) assert.equal((await rig.run('run', '--set', `n=${n}`)).code, 0);
    const r = await rig.run('verify');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // c.txt x2, d.txt, e/one, e/two and e's manifest.
    assert.match(r.stdout, /^checked 6 objects \(0\.0 MB\), 4 run records, pipe\.lock\nthe cache is sound\n$/);
  });

  test('a tampered cache: each problem named, exit 1, nothing moved', async () => {
    const one = sha('1\n');
    const p = objectPath(rig, one);
    chmodSync(p, 0o644);
    writeFileSync(p, '0\n');
    const c1 = lockOutputs(rig, 'c')['c.txt']!;
    const d = lockOutputs(rig, 'd')['d.txt']!;
    const c2 = sha('c 2\n');
    const runs = join(rig.dir, '.pipe', 'cache', 'runs');
    for (const f of readdirSync(runs)) {
      const text = readFileSync(join(runs, f), 'utf8');
      if (text.includes(c2)) writeFileSync(join(runs, f), text.replace(c2, c1.digest));
    }
    rig.write({ 'pipe.lock': rig.read('pipe.lock').replace(`digest: ${d.digest}\n        kind: file\n        size: 2`, `digest: ${c1.digest}\n        kind: file\n        size: 4`) });
    mkdirSync(join(rig.dir, '.pipe', 'cache', 'objects', 'zz'));
    writeFileSync(join(rig.dir, '.pipe', 'cache', 'objects', 'zz', 'junk'), 'x');

    const r = await rig.run('verify');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const lines = r.stdout.split('\n');
    assert.ok(lines.includes(`problem: cache object ${one} is corrupt: its content hashes to ${sha('0\n')}`), r.stdout);
    assert.ok(lines.includes('problem: .pipe/cache/objects/zz/junk is not named as an object'), r.stdout);
    assert.ok(lines.some((l) => /^problem: run record \.pipe\/cache\/runs\/[0-9a-f]{64}\.json is damaged: it fails its integrity check \(edited or damaged\)$/.test(l)), r.stdout);
    assert.ok(lines.some((l) => new RegExp(`^problem: run record .*: output "e": cache object ${one} \\(file "one"\\) is corrupt`).test(l)), r.stdout);
    assert.ok(lines.some((l) => new RegExp(`^problem: pipe\\.lock: stage "e", output "e": cache object ${one} \\(file "one"\\) is corrupt`).test(l)), r.stdout);
    assert.ok(lines.some((l) => /^problem: pipe\.lock: stage "d" records other outputs \(d\.txt\) than the run record of its key/.test(l)), r.stdout);
    assert.match(r.stdout, /^6 problems found \(`pipe verify --quarantine` moves bad objects aside/m);
    const j = await rig.json('verify');
    assert.equal(j.code, 1);
    assert.equal(j.doc.ok, false);
    assert.deepEqual(j.doc.problems.map((x: { kind: string }) => x.kind).sort(),
      ['corrupt-object', 'damaged-run', 'lock-disagrees', 'lock-output', 'run-output', 'stray-file']);
    assert.deepEqual(j.doc.quarantined, []);
    assert.ok(readFileSync(p, 'utf8') === '0\n', 'a plain verify moves nothing');
  });

  test('--quarantine moves bad objects aside and drops the run records naming them', async () => {
    const r = await rig.json('verify', '--quarantine');
    assert.equal(r.code, 1);
    assert.equal(r.doc.quarantined.length, 2);
    assert.ok(r.doc.quarantined.every((q: string) => q.startsWith('.pipe/cache/quarantine/')));
    assert.equal(r.doc.dropped_runs.length, 2);
    assert.equal(readdirSync(join(rig.dir, '.pipe', 'cache', 'quarantine')).length, 2);
    // What remains: the lock that disagrees with its run record; e is no longer cached.
    const again = await rig.json('verify');
    assert.equal(again.code, 1);
    assert.deepEqual(again.doc.problems.map((x: { kind: string }) => x.kind), ['lock-disagrees']);
    assert.deepEqual(again.doc.not_cached.map((x: { stage: string }) => x.stage), ['e']);
  });

  test('the next run repairs the rest; verify is clean', async () => {
    const r = await rig.json('run');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(statuses(r.doc), { c: 'fresh', d: 'restored', e: 'ran' });
    assert.equal(rig.read('d.txt'), 'D\n');
    const v = await rig.run('verify');
    assert.equal(v.code, 0, v.stdout);
    assert.match(v.stdout, /the cache is sound\n$/);
  });

  test('flags and arguments', async () => {
    assert.equal((await rig.run('verify', 'c')).code, 2);
    const q = await rig.run('run', '--quarantine');
    assert.equal(q.code, 2);
    assert.match(q.stderr, /--quarantine goes with `pipe verify`/);
  });
});
