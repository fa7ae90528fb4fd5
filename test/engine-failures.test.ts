import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { Rig, statuses, trackRigs } from './util/rig.js';
import { until } from './util/until.js';

const track = trackRigs();

/** Starts `pipe run` on first -> slow (a `sleep` of `seconds`) and resolves once slow has started. */
async function startSlowRun(seconds: number): Promise<{ rig: Rig; a: ReturnType<Rig['start']> }> {
  const rig = new Rig({
    'pipeline.yaml': `stages:
  first:
    cmd: echo 1 > first.txt
    outs: [first.txt]
  slow:
    cmd: echo slow-start >> runs.log && sleep ${seconds} && echo done > slow.txt
    needs: [first]
    outs: [slow.txt]
`,
  });
  track(rig);
  const a = rig.start(['run']);
  await until(() => rig.lines('runs.log').includes('slow-start'), 10_000, 100);
  return { rig, a };
}

describe('failures and interruptions', () => {
  test('a failing command stops its dependents, keeps the others and exits 1', async () => {
    const rig = new Rig({
      'pipeline.yaml': `stages:
  good:
    cmd: echo good >> runs.log && echo ok > good.txt
    outs: [good.txt]
  bad:
    cmd: echo bad >> runs.log && echo "something broke" >&2 && exit 3
  after_bad:
    cmd: echo after_bad >> runs.log
    needs: [bad]
  after_good:
    cmd: echo after_good >> runs.log && cat good.txt > after.txt
    needs: [good]
    outs: [after.txt]
`,
    });
    track(rig);
    const r = await rig.json('run');
    assert.equal(r.code, 1);
    assert.deepEqual(statuses(r.doc), { good: 'ran', bad: 'failed', after_bad: 'skipped', after_good: 'ran' });
    const bad = r.doc.stages.find((s: any) => s.stage === 'bad');
    assert.match(bad.message, /exited with code 3/);
    assert.match(r.stderr, /\[bad\] something broke/);
    assert.deepEqual(rig.lines('runs.log').sort(), ['after_good', 'bad', 'good']);
    const lock = parse(rig.read('pipe.lock'));
    assert.deepEqual(Object.keys(lock.stages).sort(), ['after_good', 'good']);
    // The next run only retries what failed.
    const again = await rig.json('run');
    assert.deepEqual(statuses(again.doc), { good: 'fresh', bad: 'failed', after_bad: 'skipped', after_good: 'fresh' });
  });

  test('two concurrent runs do not corrupt pipe.lock and run each stage once', async () => {
    const rig = new Rig({
      'pipeline.yaml': `stages:
  s1:
    cmd: echo s1 >> runs.log && sleep 1 && echo 1 > s1.txt
    outs: [s1.txt]
  s2:
    cmd: echo s2 >> runs.log && sleep 1 && cat s1.txt > s2.txt
    needs: [s1]
    outs: [s2.txt]
`,
    });
    track(rig);
    const a = rig.start(['run', '--json']);
    const b = rig.start(['run', '--json']);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.equal(ra.code, 0, ra.stderr);
    assert.equal(rb.code, 0, rb.stderr);
    assert.deepEqual(rig.lines('runs.log').sort(), ['s1', 's2']);
    const docs = [JSON.parse(ra.stdout), JSON.parse(rb.stdout)];
    const all = docs.map((d) => Object.values(statuses(d)).sort().join(','));
    assert.deepEqual(all.sort(), ['fresh,fresh', 'ran,ran']);
    assert.match(ra.stderr + rb.stderr, /waiting: another pipe run \(pid \d+/);
    const lock = parse(rig.read('pipe.lock'));
    assert.deepEqual(Object.keys(lock.stages), ['s1', 's2']);
    assert.equal(rig.exists('.pipe/run.lock'), false);
    // --no-wait fails at once while a run holds the project.
    const c = rig.start(['run', '--force']);
    // Holding the project once its first stage has started (a fixed sleep flaked under load).
    await until(() => rig.lines('runs.log').length >= 3, 30_000, 20);
    const d = await rig.run('run', '--no-wait');
    assert.equal(d.code, 1);
    assert.match(d.stderr, /another pipe run \(pid \d+/);
    assert.equal((await c.done).code, 0);
  });

  test('a run killed with SIGKILL mid-stage is followed by a run that completes', async () => {
    const { rig, a } = await startSlowRun(2);
    a.child.kill('SIGKILL');
    await a.done;
    assert.ok(rig.exists('.pipe/run.lock'), 'the killed run leaves its lock behind');
    const lock = parse(rig.read('pipe.lock'));
    assert.deepEqual(Object.keys(lock.stages), ['first']);
    const r = await rig.json('run');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(statuses(r.doc), { first: 'fresh', slow: 'ran' });
    assert.equal(rig.read('slow.txt'), 'done\n');
    assert.deepEqual(Object.keys(parse(rig.read('pipe.lock')).stages), ['first', 'slow']);
  });

  test('Ctrl-C stops the running stage, keeps completed ones, exits 130', async () => {
    const { rig, a } = await startSlowRun(20);
    const t0 = Date.now();
    a.child.kill('SIGINT');
    const r = await a.done;
    assert.equal(r.code, 130);
    assert.ok(Date.now() - t0 < 10_000, 'stops well before the stage would have ended');
    assert.match(r.stdout, /interrupted: completed stages are kept/);
    assert.deepEqual(Object.keys(parse(rig.read('pipe.lock')).stages), ['first']);
    assert.equal(rig.exists('.pipe/run.lock'), false);
  });
});
