import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
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
