/**
 * Stage processes die with `pipe`, whatever kills it: SIGKILL (the lifeline),
 * SIGHUP and SIGTERM (stopped like Ctrl-C), and a run that takes over from a
 * dead one kills the stage groups its lock recorded.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { isAlive } from '../cache/atomic.js';
import { Rig, statuses, trackRigs } from './util/rig.js';
import { until } from './util/until.js';

const track = trackRigs();

/** A run whose stage writes its shell's pid, then sleeps before writing its output. */
async function startStage(cmd: string): Promise<{ rig: Rig; run: ReturnType<Rig['start']>; pid: number }> {
  const rig = new Rig({
    'pipeline.yaml': `stages:\n  slow:\n    cmd: ${JSON.stringify(cmd)}\n    outs: [late.txt]\n`,
  });
  track(rig);
  const run = rig.start(['run']);
  assert.ok(await until(() => rig.exists('stage.pid') && rig.read('stage.pid').endsWith('\n')), 'the stage started');
  return { rig, run, pid: Number(rig.read('stage.pid').trim()) };
}

describe('stage processes die with pipe', () => {
  test('SIGKILL of pipe: the stage is stopped by its lifeline and never writes its output', async () => {
    const { rig, run, pid } = await startStage('echo $$ > stage.pid; sleep 30; echo late > late.txt');
    run.child.kill('SIGKILL');
    await run.done;
    assert.ok(await until(() => !isAlive(pid)), 'the stage shell is gone');
    assert.equal(rig.exists('late.txt'), false);
  });

  test('a stage that ignores SIGTERM is SIGKILLed by the next run, which then completes', async () => {
    const { rig, run, pid } = await startStage("trap '' TERM; echo $$ > stage.pid; sleep 30; echo late > late.txt");
    run.child.kill('SIGKILL');
    await run.done;
    assert.ok(isAlive(pid), 'the lifeline gives it a grace period first');
    rig.write({ 'pipeline.yaml': 'stages:\n  slow:\n    cmd: echo new > late.txt\n    outs: [late.txt]\n' });
    const r = await rig.json('run');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(isAlive(pid), false, 'the dead run\'s stage was killed before the new run started');
    assert.equal(rig.read('late.txt'), 'new\n');
  });

  test('pipe repro records its stage groups in the run lock too, as pipe run does', async () => {
    const rig = new Rig({
      'pipeline.yaml': 'stages:\n  slow:\n    cmd: "if [ -f slow.flag ]; then echo $$ > stage.pid; sleep 30; fi; echo done > late.txt"\n    outs: [late.txt]\n',
    });
    track(rig);
    assert.equal((await rig.run('run')).code, 0);
    rig.write({ 'slow.flag': '' });
    const repro = rig.start(['repro', 'pipe.lock', '--no-cache']);
    assert.ok(await until(() => rig.exists('stage.pid') && rig.read('stage.pid').endsWith('\n')), 'the stage started');
    const pid = Number(rig.read('stage.pid').trim());
    const groups = (): { stage: string }[] => (JSON.parse(rig.read('.pipe/run.lock')) as { groups: { stage: string }[] }).groups;
    assert.ok(await until(() => groups().some((g) => g.stage === 'slow')), `the run lock lists slow: ${rig.read('.pipe/run.lock')}`);
    repro.child.kill('SIGKILL');
    await repro.done;
    assert.ok(await until(() => !isAlive(pid)), 'the stage shell is gone');
  });

  for (const sig of ['SIGHUP', 'SIGTERM'] as const) {
    test(`${sig} stops the running stage, keeps completed ones, exits 130`, async () => {
      const { rig, run, pid } = await startStage('echo $$ > stage.pid; sleep 30; echo late > late.txt');
      run.child.kill(sig);
      const r = await run.done;
      assert.equal(r.code, 130, r.stderr);
      assert.equal(isAlive(pid), false);
      assert.equal(rig.exists('.pipe/run.lock'), false);
      assert.equal(rig.exists('late.txt'), false);
    });
  }

  test('a module stage stuck in synchronous code dies with a SIGKILLed pipe', async () => {
    const rig = new Rig({
      'pipeline.yaml': 'stages:\n  spin:\n    uses: ./spin.mjs\n',
      'spin.mjs': `import { writeFileSync } from 'node:fs';
export default { description: 'x', artifacts: () => ['y'], async run() {
  writeFileSync('worker.pid', process.pid + '\\n');
  const t = Date.now(); while (Date.now() - t < 60000) {}
} };
`,
    });
    track(rig);
    const run = rig.start(['run']);
    assert.ok(await until(() => rig.exists('worker.pid') && rig.read('worker.pid').endsWith('\n')));
    const pid = Number(rig.read('worker.pid').trim());
    run.child.kill('SIGKILL');
    await run.done;
    assert.ok(await until(() => !isAlive(pid), 15_000), 'the worker is gone');
  });

  test('a stray background process of a stage is stopped when the stage ends', async () => {
    const rig = new Rig({
      'pipeline.yaml': 'stages:\n  bg:\n    cmd: (sleep 30; echo late > stray.txt) > /dev/null 2>&1 & echo $! > bg.pid; echo ok > out.txt\n    outs: [out.txt]\n',
    });
    track(rig);
    const r = await rig.json('run');
    assert.equal(r.code, 0, r.stderr);
    const pid = Number(rig.read('bg.pid').trim());
    assert.ok(await until(() => !isAlive(pid)), 'the background job is gone');
  });

  test('the run lock records running stage groups; a takeover reaps them before it starts', async () => {
    const rig = new Rig({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n' });
    track(rig);
    // A dead run's leftover: a process group of its own, recorded in a lock whose owner is gone.
    const orphan = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    rig.write({
      '.pipe/run.lock': JSON.stringify({ id: 'abcdef0123456789', pid: dead.pid, host: (await import('node:os')).hostname(), started: 'x', groups: [{ stage: 'a', pgid: orphan.pid }] }),
    });
    const r = await rig.json('run');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(statuses(r.doc), { a: 'ran' });
    assert.equal(isAlive(orphan.pid!), false, 'the leftover group was killed');
    assert.match(r.stderr, /stopped 1 process group left by a killed run/);
    assert.equal(rig.exists('.pipe/run.lock'), false);
    assert.deepEqual(Object.keys(parse(rig.read('pipe.lock')).stages), ['a']);
  });
});
