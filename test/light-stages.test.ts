/**
 * Light stage kinds (StageKind.light) in `pipe run`: they share a warm worker
 * process for the run instead of a process each, the worker ends with the
 * run, and when the engine guesses before planning that one will run (its
 * params changed), the worker starts early and the kind prepares for the
 * job's params and inputs (StageKind.prepare).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import { isAlive } from '../cache/atomic.js';
import { withEarlyPool } from '../engine/early-pool.js';
import { laterGroups } from '../engine/executors/local.js';
import { executorNamedIn } from '../engine/executors/open.js';
import type { HeldLock } from '../engine/run-lock.js';
import type { ResolvedStage } from '../engine/graph.js';
import { WarmPool } from '../engine/warm-pool.js';
import { Rig, statuses } from './util/rig.js';

/** A stage kind (plain JS) that records its process and what it was prepared for as metrics. */
const kind = (light: boolean): string => `import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
export default {
  description: 'records its pid',
  light: ${light},
  artifacts: () => ['out.json'],
  async prepare(params, inputs) {
    globalThis.prepared = JSON.stringify({ params, inputs: Object.keys(inputs).sort() });
  },
  async run(ctx) {
    await writeFile(join(ctx.outDir, 'out.json'), JSON.stringify({ name: ctx.name, params: ctx.params }));
    ctx.metric('pid', process.pid);
    ctx.metric('prepared', globalThis.prepared ?? '');
  },
};
`;

const PIPELINE = `stages:
  heavy:
    uses: ./heavy.js
    params: {x: 1}
  light1:
    uses: ./light.js
    needs: [heavy]
    params: {x: 1}
  light2:
    uses: ./light.js
    needs: [light1]
    params: {x: 1}
`;

describe('light stages in pipe run', () => {
  const rig = new Rig({ 'pipeline.yaml': PIPELINE, 'heavy.js': kind(false), 'light.js': kind(true) });
  after(() => rig.cleanup());
  const metrics = (): Record<string, Record<string, number | string>> =>
    Object.fromEntries(Object.entries(parse(rig.read('pipe.lock')).stages as Record<string, { metrics: Record<string, number | string> }>).map(([n, e]) => [n, e.metrics]));

  test('two light stages run in one worker process, not the heavy one\'s; it ends with the run', async () => {
    const r = await rig.json('run');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(statuses(r.doc), { heavy: 'ran', light1: 'ran', light2: 'ran' });
    const m = metrics();
    assert.equal(m['light1']?.['pid'], m['light2']?.['pid'], 'light1 and light2 share a process');
    assert.notEqual(m['light1']?.['pid'], m['heavy']?.['pid'], 'the heavy stage has a process of its own');
    assert.equal(isAlive(Number(m['light1']?.['pid'])), false, 'the warm worker is gone when pipe run returns');
  });

  test('a changed param of a light stage: a worker starts early and the stage prepares for its params and inputs', async () => {
    const r = await rig.json('run', '--set', 'light1.x=2');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(statuses(r.doc), { heavy: 'fresh', light1: 'ran', light2: 'ran' });
    const m = metrics();
    assert.deepEqual(JSON.parse(String(m['light1']?.['prepared'])), { params: { x: 2 }, inputs: ['out.json'] });
  });

  test('the same overrides again: a no-op run', async () => {
    const r = await rig.json('run', '--set', 'light1.x=2');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(statuses(r.doc), { heavy: 'fresh', light1: 'fresh', light2: 'fresh' });
  });
});

describe('a worker started before the run lock is held', () => {
  test('laterGroups keeps its process group until the run lock\'s tracker is attached, then forwards', () => {
    const g = laterGroups();
    g.started('warm-worker', 11);
    g.started('warm-worker', 12);
    g.ended(11);
    const seen: string[] = [];
    g.attach({ started: (s, pgid) => void seen.push(`+${s}:${pgid}`), ended: (pgid) => void seen.push(`-${pgid}`) });
    g.started('warm-worker', 13);
    g.ended(12);
    assert.deepEqual(seen, ['+warm-worker:12', '+warm-worker:13', '-12']);
  });

  test('withEarlyPool: the pool starts first, is closed once whatever the body does, and before the run lock is released', async () => {
    type Early = { close(): Promise<void>; hold(l: HeldLock): void };
    const runs = async (body: (e: Early, lock: HeldLock) => Promise<void>): Promise<string[]> => {
      const seen: string[] = [];
      const lock: HeldLock = { track: (s, p) => void seen.push(`track ${s}:${p}`), untrack: (p) => void seen.push(`untrack ${p}`), release: async () => void seen.push('release') };
      await withEarlyPool(
        (groups) => {
          groups.started('warm-worker', 7); // before the lock is held: kept for it
          return { close: async () => void seen.push('close'), start: () => void seen.push('start') };
        },
        (pool) => pool.start(),
        async (e) => {
          seen.push('body');
          await body(e, lock);
        },
      ).catch((err: Error) => void seen.push(`threw ${err.message}`));
      return seen;
    };
    assert.deepEqual(await runs(async () => undefined), ['start', 'body', 'close'], 'no lock held: the pool is closed');
    assert.deepEqual(await runs(async (e, lock) => e.hold(lock)), ['start', 'body', 'track warm-worker:7', 'close', 'release']);
    assert.deepEqual(await runs(async (e, lock) => {
      e.hold(lock);
      await e.close();
      await e.close();
    }), ['start', 'body', 'track warm-worker:7', 'close', 'release'], 'closed by the body (twice): once');
    assert.deepEqual(await runs(async (e, lock) => {
      await e.close(); // not used (another executor): closed before the lock is taken
      e.hold(lock);
      throw new Error('boom');
    }), ['start', 'body', 'close', 'track warm-worker:7', 'release', 'threw boom'], 'the lock is released all the same');
  });

  test('a --set run starts a local warm worker early unless the pipeline names another executor (read without parsing)', () => {
    assert.equal(executorNamedIn('stages:\n  a:\n    cmd: x\n'), 'local', 'none: local');
    assert.equal(executorNamedIn('executor: slurm\nstages: {}\n'), 'slurm');
    assert.equal(executorNamedIn('params: {n: 1}\nexecutor: local # here\nstages: {}\n'), 'local');
    assert.equal(executorNamedIn('executor: "slurm"\n'), 'slurm');
    assert.equal(executorNamedIn("'executor' : 'slurm'\n"), 'slurm');
    assert.equal(executorNamedIn('# executor: slurm\nstages:\n  a:\n    params: {executor: slurm}\n    executor: slurm\n'), 'local', 'a comment, a param, an indented key: not the top level');
    assert.equal(executorNamedIn('---\nexecutor: slurm\n'), 'slurm');
  });
});

describe('a warm worker whose guess was wrong', () => {
  // prepare() holds the worker until its signal aborts (10 s at most), then says so in run's metrics.
  const rig = new Rig({
    'slow.js': `export default {
  description: 'slow to prepare',
  light: true,
  artifacts: () => [],
  async prepare(params, inputs, signal) {
    globalThis.prepared = await new Promise((res) => {
      const t = setTimeout(() => res('ran out'), 10000);
      signal?.addEventListener('abort', () => { clearTimeout(t); res('abandoned'); });
    });
  },
  async run(ctx) {
    globalThis.jobs = (globalThis.jobs ?? 0) + 1;
    ctx.metric('prepare', globalThis.prepared ?? 'not started');
    ctx.metric('jobs', globalThis.jobs);
  },
};
`,
  });
  after(() => rig.cleanup());

  test('a job with other params abandons the preparation instead of waiting for it; an interrupted job is never sent', async () => {
    const pool = new WarmPool(1, 1, () => undefined, { cwd: rig.dir });
    const module = join(rig.dir, 'slow.js');
    try {
      pool.prewarm(module, { params: { x: 1 }, inputs: {} });
      const stage = (x: number): ResolvedStage => ({ name: 'slow', config: { params: { x } } }) as unknown as ResolvedStage;
      const r = await pool.run(stage(2), module, {}, join(rig.dir, 'tmp1'), rig.dir, new AbortController().signal);
      assert.ok(r.ok, JSON.stringify(r));
      // Abandoned while it ran, or before it began (the job came first): never waited for.
      assert.ok(['abandoned', 'not started'].includes(String(r.metrics['prepare'])), String(r.metrics['prepare']));
      assert.equal(r.metrics['jobs'], 1);
      const stop = new AbortController();
      stop.abort();
      const r2 = await pool.run(stage(3), module, {}, join(rig.dir, 'tmp2'), rig.dir, stop.signal);
      assert.deepEqual(r2, { ok: false, failure: { reason: 'interrupted' } });
      const r3 = await pool.run(stage(4), module, {}, join(rig.dir, 'tmp3'), rig.dir, new AbortController().signal);
      assert.ok(r3.ok, JSON.stringify(r3));
      assert.equal(r3.metrics['jobs'], 2, 'the interrupted job never reached the worker');
    } finally {
      await pool.close();
    }
  });
});
