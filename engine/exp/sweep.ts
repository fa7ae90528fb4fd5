/**
 * `pipe sweep NAME=SPEC... [--metric M] [--random N] [--apply best] [-j N]`:
 * runs a grid (or N random points) of param values, each point's stale suffix
 * only, on the cached upstream artifacts, points side by side within -j warm
 * workers (sweep-run.ts). Each point is an experiment; the table sorted by the
 * metric is printed and saved with a chart per param (sweep-output.ts).
 */
import { join } from 'node:path';
import { cpus } from 'node:os';
import { cmdRun, EXIT, pipeVersion, report, type CommandEnv } from '../commands.js';
import { readFileSync } from 'node:fs';
import { loadConfig, parseConfig, type Override } from '../config.js';
import { downstreamOf, selectStages } from '../executor.js';
import { buildGraph, type Graph } from '../graph.js';
import { fail, ok, type Failure, type Result } from '../result.js';
import { readLock, type Lock } from '../lockfile.js';
import { sweepDir } from '../layout.js';
import { textLogger } from '../logger.js';
import { ensureDotDir, openProject, saveProjectState } from '../project.js';
import { acquireRunLock } from '../run-lock.js';
import type { ParamValue } from '../stage-api.js';
import { lightStageLikelyToRun } from '../executors/local.js';
import { withEarlyPool, type EarlyPool } from '../early-pool.js';
import { WarmPool } from '../warm-pool.js';
import { apply } from './commands.js';
import { machineInfo } from './machine.js';
import { effectiveOverrides, formatOverrides, overrideMap } from './overrides.js';
import { codeFilesOf } from './run-hooks.js';
import { grid, parseAxis, pointOverrides, sample, type SweepAxis } from './sweep-grid.js';
import { formatTable, sortRows, writeOutputs, type SweepRow } from './sweep-output.js';
import { runPoint, type SweepContext } from './sweep-run.js';
import { ExperimentStore, gitCommit } from './store.js';
import { cell } from './table.js';
import { hashBytes } from '../../cache/digest.js';

/** Options of `pipe sweep`. */
export interface SweepOptions {
  readonly specs: readonly string[];
  readonly metric: string | undefined;
  readonly random: number | undefined;
  readonly applyBest: boolean;
  /** Run every stale stage of each point, not only the stages its metric needs. */
  readonly allStages: boolean;
  readonly jobs: number;
  readonly signal: AbortSignal;
}

/** The flat metric (`stage.metric`) that `wanted` names among `names` (stage order): exact, else the last stage's. */
export function pickMetric(wanted: string | undefined, names: readonly string[]): string | undefined {
  const find = (m: string): string | undefined => (names.includes(m) ? m : names.filter((n) => n.endsWith(`.${m}`)).pop());
  if (wanted !== undefined) return find(wanted);
  return find('val_dice') ?? names[names.length - 1];
}

/**
 * The stages a point runs: the one that reports the metric and what it needs
 * (a gate sweep leaves out submit and report, which nothing in the table
 * reads). The metric's stage is found among the workspace lock's metrics;
 * undefined (every stage) with `all`, or when no stage there reports it yet.
 */
export function sweepScope(graph: Graph, base: Lock, wanted: string | undefined, all: boolean): Set<string> | undefined {
  if (all) return undefined;
  const named = graph.order.flatMap((n) => Object.keys(base.stages[n]?.metrics ?? {}).map((k) => [n, `${n}.${k}`] as const));
  const metric = pickMetric(wanted, named.map(([, flat]) => flat));
  const stage = named.find(([, flat]) => flat === metric)?.[0];
  return stage === undefined ? undefined : new Set(selectStages(graph, [stage]));
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** `pipe sweep`. */
export async function cmdSweep(env: CommandEnv, o: SweepOptions): Promise<number> {
  const t0 = performance.now();
  const human = env.json ? env.stderr : env.stdout;
  if (o.specs.length === 0) return report(env, { reason: 'usage', message: '`pipe sweep` takes at least one NAME=lo:hi:step or NAME=v1,v2,...' });
  const axes: SweepAxis[] = [];
  for (const s of o.specs) {
    const a = parseAxis(s);
    if ('error' in a) return report(env, { reason: 'usage', message: a.error });
    axes.push(a);
  }
  const all = grid(axes);
  const points = o.random === undefined ? all : sample(all, o.random, o.specs.join(' '));
  // The points' warm workers: the first starts now, its Node start-up overlapping the set-up below
  // (it dies with pipe meanwhile: a lifeline); the run lock learns of them once held.
  return withEarlyPool(
    (groups, onJob) => new WarmPool(o.jobs, Math.max(1, Math.floor(cpus().length / o.jobs)), textLogger(human), { quiet: true, onJob, groups }),
    (pool) => pool.prewarm(),
    (early) => sweepWith(env, o, { t0, human, axes, points, early }),
  );
}

/** cmdSweep once its grid is parsed and its first worker is starting (`s.early`: closed once the points are done). */
async function sweepWith(
  env: CommandEnv, o: SweepOptions,
  s: { t0: number; human: CommandEnv['stdout']; axes: SweepAxis[]; points: ParamValue[][]; early: EarlyPool<WarmPool> },
): Promise<number> {
  const { t0, human, axes, points } = s;
  const pool = s.early.pool;
  const opened = await openProject(env.file, env.overrides, env.registry);
  if (!opened.ok) return report(env, opened.error);
  const p = opened.value;
  const plain = loadConfig(env.file);
  if (!plain.ok) return report(env, { reason: 'invalid-config', diagnostics: plain.error });
  const text = readFileSync(env.file, 'utf8');
  // A point's graph: the pipeline with its overrides. The first is built before anything runs, so a
  // bad NAME fails at once; the others while earlier points run.
  const graphOf = async (values: readonly ParamValue[]): Promise<Result<{ values: readonly ParamValue[]; overrides: Override[]; graph: Graph }, Failure>> => {
    const overrides: Override[] = [...env.overrides, ...pointOverrides(axes, values)];
    const config = parseConfig(env.file, text, overrides);
    if (!config.ok) return fail({ reason: 'invalid-config', diagnostics: config.error });
    const g = await buildGraph(config.value, p.root, env.registry);
    return g.ok ? ok({ values, overrides, graph: g.value }) : fail({ reason: 'invalid-config', diagnostics: g.error });
  };
  const first = await graphOf(points[0] ?? []);
  if (!first.ok) return report(env, first.error);
  // The first point's light stage (gate) most likely runs: the worker prepares for it while the points are
  // planned (a guess from the lock as opened: reading it needs no run lock).
  const guessScope = sweepScope(first.value.graph, p.lock, o.metric, o.allStages);
  const expected = await lightStageLikelyToRun(first.value.graph, p.env, first.value.graph.order.filter((n) => guessScope?.has(n) ?? true));
  if (expected !== undefined) pool.prewarm(expected.module, expected);
  // Charts come at the end: their libraries load while the points run, once a worker has a job (not while the points are planned).
  let charts: Promise<unknown> | undefined;
  const loadCharts = (): Promise<unknown> => (charts ??= import('../charts.js').then((m) => m.preload()).catch(() => undefined));
  const tPoints = performance.now();
  const id = hashBytes(`${o.specs.join(' ')} ${Date.now()} ${process.pid}`).slice(7, 15);
  human.write(`sweep ${id}: ${points.length} point${points.length === 1 ? '' : 's'} of ${axes.map((a) => `${a.name} (${a.values.length})`).join(' x ')}, -j ${o.jobs}\n`);

  ensureDotDir(p);
  const held = await acquireRunLock(join(p.dotDir, 'run.lock'), { wait: true, signal: o.signal, onWait: (who) => human.write(`waiting: ${who}\n`) });
  if (!held.ok) return report(env, { reason: 'io', message: held.message });
  const store = new ExperimentStore(p.dotDir);
  // The lock as opened, unless another run held the run lock meanwhile (as `pipe run` re-opens its project).
  const workspace = held.waited ? readLock(p.lockPath, p.layout.lockMirror) : { lock: p.lock };
  const base: Lock = 'lock' in workspace ? workspace.lock : { version: 1, stages: {} };
  const log = textLogger(human);
  s.early.hold(held.lock);
  s.early.onJob = () => void loadCharts();
  // The workspace holds still while the sweep holds the run lock: hash each dep and out once, not once per point.
  const hashed = new Map<string, ReturnType<typeof p.env.files.hashPath>>();
  const stillFiles = Object.create(p.env.files) as typeof p.env.files;
  stillFiles.hashPath = (abs: string) => {
    let h = hashed.get(abs);
    if (!h) hashed.set(abs, (h = p.env.files.hashPath(abs)));
    return h;
  };
  const c: SweepContext = {
    env: { ...p.env, files: stillFiles }, pool, tmpDir: join(p.dotDir, 'tmp', `sweep-${id}`), versions: { pipe: pipeVersion(), ...machineInfo() },
    signal: o.signal, emit: log, inflight: new Map(), outsLock: Promise.resolve(), touched: new Set(),
    commands: new (await import('p-queue')).default({ concurrency: o.jobs }),
  };
  const scope = base === p.lock ? guessScope : sweepScope(first.value.graph, base, o.metric, o.allStages);
  if (scope) human.write(`each point runs what its metric needs: ${[...scope].join(', ')} (--all-stages: every stale stage)\n`);
  const commit = gitCommit(p.root) ?? null;
  const codeFiles = codeFilesOf(p.graph);
  let metric: string | undefined;
  const rows: SweepRow[] = [];
  let done = 0;
  try {
    const { default: PQueue } = await import('p-queue');
    // One point more than workers in flight: its planning overlaps their work.
    const queue = new PQueue({ concurrency: o.jobs + 1 });
    await Promise.all(points.map((values, i) => queue.add(async () => {
      const built = i === 0 ? first : await graphOf(values);
      if (!built.ok) {
        rows.push({ values, metric: undefined, metrics: {}, ran: [], restored: [], ms: 0, error: 'invalid pipeline for this point' });
        return;
      }
      const pt = built.value;
      const r = await runPoint(pt.graph, c, scope);
      const stages = { ...base.stages, ...r.entries };
      // Stages left out of the point that depend on what it changed: the workspace's entries are not this point's.
      const changed = [...(scope ?? [])].filter((n) => r.entries[n]?.key !== base.stages[n]?.key);
      for (const n of downstreamOf(pt.graph, changed)) if (!scope?.has(n)) delete stages[n];
      const flat: Record<string, number | string> = {};
      for (const n of pt.graph.order) for (const [k, v] of Object.entries(r.entries[n]?.metrics ?? {})) flat[`${n}.${k}`] = v;
      if (r.ok) metric ??= pickMetric(o.metric, Object.keys(flat));
      let experiment: SweepRow['experiment'];
      if (r.ok) {
        const lock: Lock = { version: 1, overrides: effectiveOverrides(plain.value, pt.overrides), stages, code_files: codeFiles };
        const e = await store.record(lock, { kind: 'sweep', pipeline: env.file.split('/').pop() ?? env.file, root: p.root, overrides: lock.overrides ?? {}, sweep: id, commit });
        experiment = { id: e.id, name: e.name };
      }
      const value = metric === undefined ? undefined : flat[metric];
      rows.push({ values: pt.values, metric: undefined, metrics: flat, ...(experiment ? { experiment } : {}), ran: r.ran, restored: r.restored, ms: r.ms, timing: r.timing, ...(r.message ? { error: r.message } : {}) });
      done++;
      human.write(`point ${done}/${points.length} ${formatOverrides(overrideMap(pointOverrides(axes, pt.values)))}: ` +
        `${r.ok ? `${metric ?? 'metric'} ${value === undefined ? '-' : cell(value)}` : `FAILED ${r.message ?? ''}`} (${r.ran.length ? `ran ${r.ran.join(', ')}` : 'nothing ran'}, ${Math.round(r.ms)} ms)\n`);
    })));
    // Stages that had to write into the workspace: put back what pipe.lock says is there.
    for (const n of c.touched) {
      const s = p.graph.stages.get(n);
      const e = base.stages[n];
      for (const out of s && e ? s.outs : []) {
        const ref = e?.outputs[out];
        if (ref && (await p.env.store.has(ref))) await p.env.store.restore(ref, join(p.root, out));
      }
    }
  } finally {
    await saveProjectState(p);
    // The workers end, then the run lock is released (--apply best runs the rest of the pipeline under it again).
    await s.early.close();
  }
  if (o.metric !== undefined && metric === undefined) return report(env, { reason: 'usage', message: `no stage reported a metric "${o.metric}"` });
  const pointsMs = performance.now() - tPoints;
  const name = metric ?? 'metric';
  const sorted = sortRows(rows.map((r) => {
    const v = r.metrics[name];
    return { ...r, metric: r.error || typeof v !== 'number' ? undefined : v };
  }), name);
  const ms = performance.now() - t0;
  const dir = sweepDir(p.layout, id);
  const doc = {
    sweep: id, metric: name, axes: axes.map((a) => ({ name: a.name, values: a.values })), duration_ms: Math.round(ms),
    // Before the points (open, plan every point's graph), the points (side by side), after (outputs, charts: in files_ms below).
    setup_ms: Math.round(tPoints - t0), points_ms: Math.round(pointsMs),
    worker_ms: Object.fromEntries(Object.entries(pool.busyTime()).map(([k, v]) => [k, Math.round(v)])),
    points: sorted.map((r) => ({ params: Object.fromEntries(axes.map((a, i) => [a.name, r.values[i] as ParamValue])), [name]: r.metric ?? null, metrics: r.metrics,
      experiment: r.experiment ?? null, ran: r.ran, restored: r.restored, ms: Math.round(r.ms),
      timing: Object.fromEntries(Object.entries(r.timing ?? {}).map(([k, v]) => [k, { plan_ms: round1(v.plan), run_ms: round1(v.run), store_ms: round1(v.store) }])),
      ...(r.error ? { error: r.error } : {}) })),
  };
  await loadCharts();
  const tFiles = performance.now();
  const files = await writeOutputs(dir, axes, sorted, name, doc);
  const filesMs = performance.now() - tFiles;
  const failed = rows.filter((r) => r.error).length;
  if (env.json) env.stdout.write(JSON.stringify({ ok: failed === 0, ...doc, files, files_ms: Math.round(filesMs) }, null, 2) + '\n');
  human.write('\n' + formatTable(axes, sorted, name));
  human.write(`${points.length} points in ${(pointsMs / 1000).toFixed(1)} s (${Math.round(pointsMs / Math.max(1, points.length))} ms a point; ${((ms + filesMs) / 1000).toFixed(1)} s with set-up, table and charts)${failed ? `, ${failed} FAILED` : ''}; ` +
    `${files.map((f) => f.slice(p.root.length + 1)).join(', ')}\n`);
  const best = sorted[0];
  if (o.applyBest && best?.experiment && !o.signal.aborted) {
    const e = store.get(best.experiment.id);
    if (e) {
      const applied = await apply({ ...env, json: false, stdout: human }, p, e, { write: false, signal: o.signal });
      if (applied !== EXIT.ok || scope === undefined) return applied;
      // The point ran only what its metric needs: run the rest of the pipeline for it.
      return cmdRun({ ...env, json: false, stdout: human, overrides: [...env.overrides, ...pointOverrides(axes, best.values)] },
        { targets: [], force: false, dryRun: false, jobs: o.jobs, wait: true, signal: o.signal });
    }
  }
  return o.signal.aborted ? EXIT.interrupted : failed ? EXIT.failed : EXIT.ok;
}
