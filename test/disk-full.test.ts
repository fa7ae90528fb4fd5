import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { Rig, statuses } from './util/rig.js';

// A project on a 2 MiB tmpfs. Mounting needs root (the CI runs as root); if it
// cannot mount, `before` throws and every test here fails: nothing is skipped.
const rig = new Rig();
before(() => {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', rig.dir]);
});
after(() => {
  try {
    execFileSync('umount', [rig.dir]);
  } finally {
    rig.cleanup();
  }
});

function lockStages(): string[] {
  return Object.keys((parse(rig.read('pipe.lock')) as { stages: object }).stages);
}

/** pipeline.yaml: stage `a` writes a.txt; `name` needs it, runs `cmd` and writes `out`. */
function twoStages(name: string, cmd: string, out: string): string {
  return `stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n  ${name}:\n    cmd: ${cmd}\n    needs: [a]\n    outs: [${out}]\n`;
}

/**
 * Runs the {@link twoStages} pipeline and checks the failure every test here
 * expects: exit 1, `a` with status `aStatus` and in the lock, `name` failed
 * with a message and no stack trace. Returns `name`'s message.
 */
async function runFailing(name: string, aStatus: 'ran' | 'fresh'): Promise<string> {
  const r = await rig.json('run');
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(statuses(r.doc), { a: aStatus, [name]: 'failed' });
  assert.doesNotMatch(r.stderr, /did not write|internal error|\n\s+at /);
  assert.deepEqual(lockStages(), ['a']);
  return r.doc.stages.find((s: { stage: string }) => s.stage === name).message;
}

function cacheTmp(): string[] {
  try {
    return readdirSync(join(rig.dir, '.pipe', 'cache', 'tmp'));
  } catch {
    return [];
  }
}

describe('out of disk space', () => {
  test('an output too big to store: ENOSPC naming the file, the finished stage kept', async () => {
    rig.write({
      'pipeline.yaml': twoStages('big', 'head -c 1200000 /dev/zero > big.bin', 'big.bin'),
    });
    assert.match(await runFailing('big', 'ran'), /^cannot store output "big\.bin" in the cache: cannot write \.pipe\/cache\/tmp\/\d+\.[0-9a-f]+\.obj: no space left on device \(ENOSPC\)$/);
    assert.deepEqual(cacheTmp(), [], 'the half-written object is removed');
    rmSync(join(rig.dir, 'big.bin'));
  });

  test('the run record cannot be written: a failure naming it, earlier stages kept', async () => {
    // fill takes all the space, then writes a tiny (empty) output: storing it needs no block, its run record does.
    rig.write({ 'fill.flag': '' });
    rig.write({
      'pipeline.yaml': twoStages('fill', '(test ! -f fill.flag || head -c 4000000 /dev/zero > filler.bin 2>/dev/null || true) && touch f.txt', 'f.txt'),
    });
    assert.match(await runFailing('fill', 'fresh'), /^cannot write \.pipe\/cache\/runs\/[0-9a-f]{64}\.json: no space left on device \(ENOSPC\)$/);
    // Space again: the next run completes.
    rmSync(join(rig.dir, 'filler.bin'));
    rmSync(join(rig.dir, 'fill.flag'));
    const again = await rig.json('run');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(lockStages(), ['a', 'fill']);
    assert.equal((await rig.run('verify')).code, 0);
  });

  test('the lock cannot be written: a failure naming it, the lock keeps what it had, the next run restores', async () => {
    // One free page (the spare file's) left: the run record takes it, the lock finds none.
    rig.write({
      'pipeline.yaml': twoStages('tight', 'head -c 4096 /dev/zero > spare && (test ! -f fill.flag || head -c 4000000 /dev/zero > filler.bin 2>/dev/null || true) && rm spare && touch t.txt', 't.txt'),
      'fill.flag': '',
    });
    // fill left the pipeline (pruned before the disk filled): the lock holds a only.
    assert.equal(await runFailing('tight', 'fresh'), 'cannot write pipe.lock: no space left on device (ENOSPC)');
    rmSync(join(rig.dir, 'filler.bin'));
    rmSync(join(rig.dir, 'fill.flag'));
    const again = await rig.json('run');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(statuses(again.doc), { a: 'fresh', tight: 'restored' });
    assert.deepEqual(lockStages(), ['a', 'tight']);
  });
});
