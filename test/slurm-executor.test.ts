import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { Rig, statuses, trackRigs } from './util/rig.js';
import { lockDigests, TINY_MODULE, tinyRig } from './util/remote-rig.js';
import { until } from './util/until.js';

// Needs the one-node cluster of test/services/slurm.sh (started by .ci/run).
process.env['PIPE_SLURM_POLL_MS'] = '200';
const track = trackRigs();

/** The Slurm job ids a run's output names ("submitted as Slurm job N"). */
function jobIds(stderr: string): string[] {
  return [...stderr.matchAll(/\[([\w-]+)\] submitted as Slurm job (\d+)/g)].map((m) => m[2] as string);
}

/** `sacct -c` rows (id, name, state) of the jobs. */
function sacct(ids: readonly string[]): { id: string; name: string; state: string }[] {
  const out = execFileSync('sacct', ['-c', '-j', ids.join(','), '-n', '-P', '-o', 'JobID,JobName,State'], { encoding: 'utf8' });
  return out.trim().split('\n').filter(Boolean).map((l) => {
    const [id = '', name = '', state = ''] = l.split('|');
    return { id, name, state };
  });
}

describe('executor: slurm (one-node cluster)', () => {
  test('the tiny pipeline runs as one job per stale stage, with the same output digests as a local run', async () => {
    const local = track(tinyRig());
    const l = await local.json('run');
    assert.equal(l.code, 0, l.stderr);

    const rig = track(tinyRig('executor: slurm\n', `    resources: { cpus: 1, mem: 256M, time: "10" }\n`));
    // The module stage also reports 40 progress steps at once: they reach the log throttled, timed from the stage's start.
    rig.write({ 'sum.mjs': TINY_MODULE.replace("ctx.log('module stage ran');", "ctx.log('module stage ran');\n    for (let i = 1; i <= 40; i++) ctx.progress({ done: i, total: 40, unit: 'steps' });") });
    const r = await rig.json('run');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(statuses(r.doc), { hello: 'ran', words: 'ran', sum: 'ran', join: 'ran' });
    assert.match(r.stderr, /\[sum\] module stage ran/, 'the job log is streamed under the stage name');
    const progress = [...r.stderr.matchAll(/^\[sum\] (\d+)\/40 steps \(\d+%(?:, ETA ([^)]+))?\)$/gm)];
    assert.ok(progress.length >= 2 && progress.length < 10, `throttled progress lines: ${progress.map((m) => m[0]).join(' | ')}`);
    assert.equal(progress.at(-1)?.[1], '40', 'the last step always shows');
    const eta = progress[0]?.[2];
    assert.ok(eta !== undefined && eta !== '0ms', `the first step's ETA counts the time since the stage started: ${progress[0]?.[0]}`);
    const ids = jobIds(r.stderr);
    assert.equal(ids.length, 4);
    const rows = sacct(ids);
    assert.deepEqual(rows.map((x) => x.name).sort(), ['pipe:hello', 'pipe:join', 'pipe:sum', 'pipe:words']);
    assert.ok(rows.every((x) => x.state === 'COMPLETED'), JSON.stringify(rows));
    assert.deepEqual(lockDigests(rig), lockDigests(local));
    assert.equal((parse(rig.read('pipe.lock')) as { stages: { sum: { metrics: { k: number } } } }).stages.sum.metrics.k, 3);

    // One param changed: one stale stage, one more job; the rest fresh.
    const again = await rig.json('run', '--set', 'sum.k=5');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(statuses(again.doc), { hello: 'fresh', words: 'fresh', sum: 'ran', join: 'fresh' });
    const more = jobIds(again.stderr);
    assert.equal(more.length, 1);
    assert.deepEqual(sacct(more).map((x) => x.name), ['pipe:sum']);
  });

  test('--executor slurm on the command line; a stage that exits 1 fails with its Slurm state and log', async () => {
    const rig = track(new Rig({
      'pipeline.yaml': `stages:
  ok:
    cmd: echo fine > ok.txt
    outs: [ok.txt]
  broken:
    cmd: echo "about to fail" && echo "on stderr" >&2 && exit 1
    needs: [ok]
  after:
    cmd: echo never
    needs: [broken]
`,
    }));
    const r = await rig.json('run', '--executor', 'slurm');
    assert.equal(r.code, 1);
    const st = statuses(r.doc);
    assert.deepEqual(st, { ok: 'ran', broken: 'failed', after: 'skipped' });
    const broken = r.doc.stages.find((s: { stage: string }) => s.stage === 'broken');
    assert.match(broken.message, /^Slurm job \d+ ended FAILED \(exit code 1:0\); the last lines of its log:\n {2}about to fail\n {2}on stderr$/);
    const ids = jobIds(r.stderr);
    assert.deepEqual(sacct(ids).map((x) => [x.name, x.state]), [['pipe:ok', 'COMPLETED'], ['pipe:broken', 'FAILED']]);
    const bad = await rig.run('run', '--executor', 'cloud');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--executor expects local or slurm, got "cloud"/);
  });

  test('Ctrl-C cancels the running jobs and exits 130', async () => {
    const rig = track(new Rig({
      'pipeline.yaml': `executor: slurm
stages:
  slow:
    cmd: echo started >> runs.log && sleep 120
  slow2:
    cmd: echo started >> runs.log && sleep 120
`,
    }));
    const { child, done } = rig.start(['run', '-j', '2']);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => rig.lines('runs.log').length >= 2, 30_000, 100);
    const ids = jobIds(out);
    child.kill('SIGINT');
    const r = await done;
    assert.equal(rig.lines('runs.log').length, 2, 'both jobs had started');
    assert.equal(ids.length, 2);
    assert.equal(r.code, 130);
    const left = execFileSync('squeue', ['-h', '-j', ids.join(','), '-o', '%i'], { encoding: 'utf8' }).trim();
    assert.equal(left, '', 'no job left in the queue');
    let rows: ReturnType<typeof sacct> = [];
    await until(() => (rows = sacct(ids)).length >= 2, 5_000, 100);
    assert.deepEqual(rows.map((x) => x.state.split(' ')[0]), ['CANCELLED', 'CANCELLED']);
  });
});
