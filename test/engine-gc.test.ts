import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { hashBytes } from '../cache/digest.js';
import { keptEntries } from '../engine/gc.js';
import { Rig, statuses } from './util/rig.js';

function countObjects(dir: string): number {
  const root = join(dir, '.pipe', 'cache', 'objects');
  return readdirSync(root).reduce((n, shard) => n + readdirSync(join(root, shard)).length, 0);
}

describe('pipe gc', () => {
  const rig = new Rig({
    'pipeline.yaml': 'params:\n  n: 1\nstages:\n  gen:\n    cmd: echo ${n} >> runs.log && seq ${n} > out.txt\n    outs: [out.txt]\n',
  });
  after(() => rig.cleanup());

  test('keeps what the lock points at, drops older runs and their objects (--keep-last 1: only the newest experiment)', async () => {
    assert.equal((await rig.run('run', '--set', 'n=2')).code, 0);
    assert.equal((await rig.run('run')).code, 0); // n=1 is the current lock
    assert.equal(countObjects(rig.dir), 2);
    const dry = await rig.json('gc', '--dry-run', '--keep-last', '1');
    assert.equal(dry.doc.removedObjects, 1);
    assert.equal(dry.doc.removedRuns, 1);
    assert.equal(countObjects(rig.dir), 2, 'a dry run removes nothing');
    const r = await rig.run('gc', '--keep-last', '1');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^removed 1 objects \(0\.0 MB\), 1 run records and 1 experiments; kept 1 objects .* referenced by pipe\.lock and 1 experiments$/m);
    assert.equal(countObjects(rig.dir), 1);
    // The current outputs are still fresh; the collected value must run again.
    const now = await rig.json('run');
    assert.deepEqual(statuses(now.doc), { gen: 'fresh' });
    const old = await rig.json('run', '--set', 'n=2');
    assert.deepEqual(statuses(old.doc), { gen: 'ran' });
    assert.deepEqual(rig.lines('runs.log'), ['2', '1', '2']);
  });

  test('--force is not a gc flag', async () => {
    const r = await rig.run('gc', '--force');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--force goes with `pipe run`/);
  });
});

describe('gc reads the locks through their JSON mirrors', () => {
  const gen = (n: number): string => `params:\n  n: ${n}\nstages:\n  gen:\n    cmd: seq \${n} > out-${n}.txt\n    outs: [out-${n}.txt]\n`;
  const rig = new Rig({ 'pipeline.yaml': gen(1), 'other.yaml': gen(2) });
  after(() => rig.cleanup());
  const mirrors = ['pipe.lock.json', 'other.lock.json'].map((m) => join(rig.dir, '.pipe', 'state', m));
  const kept = (): string => JSON.stringify(keptEntries(rig.dir, []));

  test('the same entries with and without mirrors; a mirror is read only for the text it vouches for', async () => {
    assert.equal((await rig.run('run')).code, 0);
    assert.equal((await rig.run('run', '-f', 'other.yaml')).code, 0);
    const saved = mirrors.map((m) => readFileSync(m, 'utf8'));
    const withMirrors = keptEntries(rig.dir, []);
    assert.deepEqual(withMirrors.locks, ['other.lock', 'pipe.lock']);
    assert.equal(withMirrors.entries.length, 2);
    const expected = kept();
    for (const m of mirrors) rmSync(m);
    assert.equal(kept(), expected, 'without mirrors (the YAML parsed): the same entries');
    // A mirror that vouches for the lock's text is what gc reads (here one whose data lost the stage, which shows it).
    const forged = (i: number, text: string): string => {
      const m = JSON.parse(saved[i] as string) as { text: string; data: { stages: object } };
      return JSON.stringify({ ...m, text, data: { ...m.data, stages: {} } });
    };
    writeFileSync(mirrors[0] as string, forged(0, hashBytes(rig.read('pipe.lock'))));
    assert.equal(keptEntries(rig.dir, []).entries.length, 1, 'the mirror of pipe.lock is read');
    writeFileSync(mirrors[1] as string, forged(1, hashBytes(rig.read('other.lock'))));
    assert.equal(keptEntries(rig.dir, []).entries.length, 0, 'the mirror of other.lock is read');
    // Stale mirrors (for another text: the lock changed since) are not trusted.
    for (const [i, m] of mirrors.entries()) writeFileSync(m, forged(i, hashBytes('another text')));
    assert.equal(kept(), expected, 'stale mirrors: the YAML is parsed');
    // And gc itself keeps by them: both locks' outputs stay.
    const r = await rig.json('gc', '--dry-run');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.doc.removedObjects, 0);
    assert.equal(r.doc.keptObjects, 2);
    assert.deepEqual(r.doc.locks, ['other.lock', 'pipe.lock']);
  });
});
