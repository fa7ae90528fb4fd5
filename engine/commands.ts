/**
 * The commands behind the CLI: run, status, dag. Each takes its effects (output
 * streams, abort signal) as arguments and returns an exit code; only cli.ts
 * touches `process`.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { cpus } from 'node:os';
import type { ExecutorName, Override } from './config.js';
import { lightStageLikelyToRun, localExecutor, localRun, type LocalRun } from './executors/local.js';
import { withEarlyPool, type EarlyPool } from './early-pool.js';
import { projectLayout } from './layout.js';
import { declaredExecutor, openExecutor } from './executors/open.js';
import { DEFAULT_REMOTE_JOBS, projectRemote, remoteLookup } from './remote.js';
import { formatDiagnostic, LineIndex } from './diagnostic.js';
import { formatDag, type DagFormat } from './dag-format.js';
import type { EngineEvent } from './events.js';
import { downstreamOf, execute, selectStages, type StageResult } from './executor.js';
import type { Graph, KindRegistry } from './graph.js';
import { summary, textLogger, type Out } from './logger.js';
import { LockWriter, type LockEntry } from './lockfile.js';
import { etaTracker } from './progress-eta.js';
import { planStages } from './plan.js';
import { ensureDotDir, openProject, saveProjectState, type Project } from './project.js';
import { unreachable, type Failure } from './result.js';
import { cleanLeftovers } from './leftovers.js';
import { acquireRunLock } from './run-lock.js';
import { collectGarbage } from './gc.js';
import { finishRun, prepareLock } from './exp/run-hooks.js';
import { ExperimentStore } from './exp/store.js';
import { machineInfo } from './exp/machine.js';
import { describeOverrides, heldLine } from './exp/status.js';
import { openForStatus, stageState } from './status.js';

/** Exit codes: 0 success, 1 a stage failed, 2 bad usage or pipeline, 130 interrupted. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** What every command gets. */
export interface CommandEnv {
  readonly file: string;
  readonly overrides: readonly Override[];
  readonly json: boolean;
  readonly registry: KindRegistry;
  readonly stdout: Out;
  readonly stderr: Out;
}

/** The package version, recorded in locks. */
export function pipeVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** Prints a failure (text to stderr, or the JSON document to stdout) and returns its exit code. */
export function report(env: CommandEnv, f: Failure): number {
  if (env.json) {
    const error = f.reason === 'invalid-config'
      ? { reason: f.reason, diagnostics: f.diagnostics.map((d) => ({ message: d.message, ...(d.location ?? {}) })) }
      : f;
    env.stdout.write(JSON.stringify({ ok: false, error }, null, 2) + '\n');
  }
  switch (f.reason) {
    case 'invalid-config': {
      const sources = new Map<string, LineIndex>();
      try {
        sources.set(env.file, new LineIndex(readFileSync(env.file, 'utf8')));
      } catch { /* unreadable: messages without frames */ }
      for (const d of f.diagnostics) env.stderr.write(formatDiagnostic(d, sources) + '\n');
      return EXIT.usage;
    }
    case 'usage':
      env.stderr.write(`pipe: ${f.message}\n`);
      return EXIT.usage;
    case 'io':
      env.stderr.write(`pipe: ${f.message}\n`);
      return EXIT.failed;
    case 'stage-failed':
      env.stderr.write(`pipe: stage ${f.stage} failed: ${f.message}\n`);
      return EXIT.failed;
    default:
      return unreachable(f);
  }
}

function unknownTargets(p: Project, targets: readonly string[]): Failure | undefined {
  const bad = targets.filter((t) => !p.graph.stages.has(t));
  if (bad.length === 0) return undefined;
  return { reason: 'usage', message: `no stage named ${bad.map((b) => `"${b}"`).join(', ')} in ${p.graph.config.file} (stages: ${p.graph.order.join(', ')})` };
}

/** Options of `pipe run`. */
export interface RunOptions {
  readonly targets: readonly string[];
  readonly force: boolean;
  readonly dryRun: boolean;
  readonly jobs: number;
  readonly wait: boolean;
  readonly signal: AbortSignal;
  /** Where stale stages run (default: the pipeline file's `executor:`, else local). */
  readonly executor?: ExecutorName;
}

/** `pipe run`: runs stale stages (or, with dryRun, says which would run). */
export async function cmdRun(env: CommandEnv, o: RunOptions): Promise<number> {
  const t0 = performance.now();
  const human = env.json ? env.stderr : env.stdout;
  const log = textLogger(human);
  const threadsPerStage = Math.max(1, Math.floor(cpus().length / o.jobs));
  // The run's one local executor (early-pool.ts closes it): its warm workers start on demand, except that a
  // --set run (most likely a light stage: gate at a new threshold) that runs locally starts one now, Node's
  // start-up overlapping the planning; the run lock learns of it once held.
  const startNow = !o.dryRun && env.overrides.length > 0 && (o.executor ?? declaredExecutor(env.file)) === 'local';
  return withEarlyPool(
    (groups, onJob) => localRun({ jobs: o.jobs, threads: threadsPerStage, emit: log, root: projectLayout(env.file).root, groups, onJob }),
    startNow ? (pool) => void pool.start() : undefined,
    (early) => runProject(env, o, { t0, human, log, threadsPerStage, early }),
  );
}

/** cmdRun with its local executor (`s.early.pool`, closed by withEarlyPool, or by `s.early.close()` here). */
async function runProject(
  env: CommandEnv, o: RunOptions,
  s: { t0: number; human: Out; log: ReturnType<typeof textLogger>; threadsPerStage: number; early: EarlyPool<LocalRun> },
): Promise<number> {
  const { t0, human, log, threadsPerStage } = s;
  const opened = await openProject(env.file, env.overrides, env.registry);
  if (!opened.ok) return report(env, opened.error);
  const p = opened.value;
  const bad = unknownTargets(p, o.targets);
  if (bad) return report(env, bad);
  // --force STAGE re-runs STAGE and everything downstream of it (which joins the run).
  const force = o.force ? downstreamOf(p.graph, o.targets.length ? o.targets : p.graph.order) : new Set<string>();
  const targets = o.force && o.targets.length ? [...force] : o.targets;
  const selected = selectStages(p.graph, targets);

  if (o.dryRun) {
    const plan = await planStages(p.graph, p.env, selected, force);
    await saveProjectState(p);
    if (env.json) env.stdout.write(JSON.stringify({ ok: true, dry_run: true, stages: plan }, null, 2) + '\n');
    else for (const s of plan) human.write(`${planWord(s.action)} ${s.stage}${s.why.length ? `: ${s.why.join('; ')}` : ''}\n`);
    if (!env.json) human.write('(dry run: nothing was run)\n');
    return EXIT.ok;
  }

  // The team's remote cache, asked before a stale stage runs; and where stages run.
  const remote = await projectRemote(p.graph.config);
  if (remote !== undefined && 'error' in remote) return report(env, { reason: 'usage', message: remote.error });
  const executor = await openExecutor(o.executor ?? p.graph.config.executor ?? 'local', p.layout);
  if ('error' in executor) {
    remote?.close();
    return report(env, { reason: 'usage', message: executor.error });
  }
  // Light stages (gate, submit, score) share warm workers; one starts now when one of them will likely
  // run, and prepares for it (a guess from the lock: reading it needs no run lock) while pipe plans.
  const groups = s.early.groups;
  const local: LocalRun | undefined = executor !== localExecutor ? undefined : s.early.pool;
  // Not used: a worker started early on a wrong guess ends now, not with the (cluster) run.
  if (local === undefined) await s.early.close();
  const warm = local && await lightStageLikelyToRun(p.graph, p.env, selected);
  if (warm !== undefined) void local?.prewarm(warm);
  ensureDotDir(p);
  const held = await acquireRunLock(p.layout.runLock, {
    wait: o.wait, signal: o.signal, onWait: (who) => human.write(`waiting: ${who}\n`),
  });
  if (!held.ok) {
    remote?.close();
    return report(env, { reason: 'io', message: held.message });
  }
  s.early.hold(held.lock);
  if (held.reaped > 0) human.write(`stopped ${held.reaped} process group${held.reaped > 1 ? 's' : ''} left by a killed run\n`);
  let results: StageResult[];
  let experiment: Awaited<ReturnType<typeof finishRun>> | undefined;
  try {
    // What killed runs left (their stages are dead now: acquireRunLock killed them).
    await cleanLeftovers(p);
    ensureDotDir(p);
    // Another run may have changed the lock and cache while we waited: re-open.
    let q = p;
    if (held.waited) {
      const reopened = await openProject(env.file, env.overrides, env.registry);
      if (!reopened.ok) return report(env, reopened.error);
      q = reopened.value;
    }
    // How long each stage took last time, for the whole-pipeline ETA (before the lock changes).
    const eta = runEta(q.graph, q.env.lock, selected, o.jobs);
    const lock = new LockWriter(q.lockPath, q.lock, q.graph.order, q.layout.lockMirror);
    await lock.prune(new Set(q.graph.order));
    prepareLock(q, env.file, lock, env.overrides, selected);
    // While a job runs in a warm worker, the lock's unchanged entries are formatted (once) for its next write.
    s.early.onJob = () => setImmediate(() => lock.prime());
    results = await execute(q.graph, { ...q.env, lock: lock.stages }, lock, {
      targets, force, jobs: o.jobs, signal: o.signal, tmpDir: q.layout.workTmp, scratchDir: q.layout.scratch,
      versions: { pipe: pipeVersion(), ...machineInfo() },
      threadsPerStage,
      groups,
      emit: (e: EngineEvent) => {
        log(e);
        for (const n of eta(e)) log(n);
      },
      executor: local ?? executor,
      ...(remote ? { remote: remoteLookup(remote, q.env.store, q.env.runs, q.graph.config.remote?.jobs ?? DEFAULT_REMOTE_JOBS, o.signal, (e) => log(e)) } : {}),
    });
    await saveProjectState(q);
    if (!o.signal.aborted && !results.some((r) => r.status === 'failed')) experiment = await finishRun(q, env.file, lock, 'run');
  } finally {
    remote?.close();
    // The warm workers end, then the run lock is released (before the summary).
    await s.early.close();
  }
  const ms = performance.now() - t0;
  const failed = results.some((r) => r.status === 'failed');
  const code = o.signal.aborted ? EXIT.interrupted : failed ? EXIT.failed : EXIT.ok;
  if (env.json) {
    env.stdout.write(JSON.stringify({
      ok: code === EXIT.ok,
      ...(o.signal.aborted ? { interrupted: true } : {}),
      duration_ms: Math.round(ms),
      ...(experiment ? { experiment: { id: experiment.exp.id, name: experiment.exp.name, overrides: experiment.exp.overrides } } : {}),
      stages: results.map((r) => ({
        stage: r.stage, status: r.status, ...(r.key ? { key: r.key } : {}), duration_ms: Math.round(r.durationMs),
        ...(r.why?.length ? { why: r.why } : {}), ...(r.message ? { message: r.message } : {}), ...(r.failure ? { failure: r.failure } : {}),
        ...(r.metrics ? { metrics: r.metrics } : {}),
      })),
    }, null, 2) + '\n');
  }
  if (experiment?.changed) human.write(`experiment ${experiment.exp.name} (${experiment.exp.id})${describeOverrides(experiment.exp.overrides)}\n`);
  human.write(`${summary(results, ms)}${o.signal.aborted ? ' (interrupted: completed stages are kept; run again to continue)' : ''}\n`);
  return code;
}

/** The ETA notes of a run (engine/progress-eta.ts) from the durations in the lock. */
function runEta(graph: Graph, lock: Readonly<Record<string, LockEntry>>, selected: readonly string[], jobs: number): (e: EngineEvent) => EngineEvent[] {
  const previous = new Map(Object.entries(lock).map(([s, e]) => [s, e.duration_ms]));
  const inRun = new Set(selected);
  const g = { order: graph.order, needs: (s: string) => graph.stages.get(s)?.needs ?? [] };
  return etaTracker(g, previous, (s) => [...downstreamOf(graph, [s])].filter((d) => d !== s && inRun.has(d)), jobs);
}

function planWord(a: string): string {
  return a === 'run' ? 'would run' : a === 'restore' ? 'would restore' : a === 'blocked' ? 'would run' : a === 'error' ? 'cannot run' : 'fresh';
}

/** `pipe status`: each stage's state and why, without running or writing anything but the hash state. */
export async function cmdStatus(env: CommandEnv, targets: readonly string[]): Promise<number> {
  // A lock made with --set overrides: plan with them, and say so, instead of calling their stages stale.
  const opened = await openForStatus(env.file, env.overrides, env.registry);
  if (!opened.ok) return report(env, opened.error);
  const { project: p, held: heldInfo } = opened.value;
  const bad = unknownTargets(p, targets);
  if (bad) return report(env, bad);
  const plan = await planStages(p.graph, p.env, selectStages(p.graph, targets), new Set());
  await saveProjectState(p);
  if (env.json) {
    const entries = plan.map((s) => {
      const last = p.env.lock[s.stage];
      return {
        stage: s.stage, state: stageState(s.action), ...(s.key ? { key: s.key } : {}), why: s.why,
        ...(last ? { last_run: { key: last.key, finished_at: last.finished_at, duration_ms: last.duration_ms, metrics: last.metrics } } : {}),
      };
    });
    const exp = heldInfo ? { held: { overrides: heldInfo.overrides, ...(heldInfo.exp ? { id: heldInfo.exp.id, name: heldInfo.exp.name } : {}) } } : {};
    env.stdout.write(JSON.stringify({ ok: true, ...exp, stages: entries }, null, 2) + '\n');
  } else {
    if (heldInfo) env.stdout.write(heldLine(heldInfo, env.file));
    const w = Math.max(...plan.map((s) => s.stage.length));
    for (const s of plan) {
      env.stdout.write(`${s.stage.padEnd(w)}  ${stageState(s.action).padEnd(10)}${s.why.length ? `  ${s.why.join('; ')}` : ''}\n`);
    }
    const stale = plan.filter((s) => s.action !== 'fresh').length;
    env.stdout.write(stale === 0 ? 'everything is up to date\n' : `${stale} of ${plan.length} stages would run or be restored by \`pipe run\`\n`);
  }
  return EXIT.ok;
}

/** `pipe dag`: the graph as text, Mermaid or dot (or JSON nodes and edges). */
export async function cmdDag(env: CommandEnv, format: DagFormat): Promise<number> {
  const opened = await openProject(env.file, env.overrides, env.registry);
  if (!opened.ok) return report(env, opened.error);
  const g = opened.value.graph;
  if (env.json) {
    const stages = g.order.map((n) => {
      const s = g.stages.get(n)!;
      return { stage: n, kind: s.runner.type === 'cmd' ? 'cmd' : s.runner.uses, needs: s.needs, deps: s.deps, outs: s.outs, artifacts: s.artifacts };
    });
    env.stdout.write(JSON.stringify({ ok: true, format, stages, text: formatDag(g, format) }, null, 2) + '\n');
  } else {
    env.stdout.write(formatDag(g, format) + '\n');
  }
  return EXIT.ok;
}

/** `pipe gc`: deletes cached objects and run records no lock in the project points at. */
export async function cmdGc(env: CommandEnv, o: { dryRun: boolean; wait: boolean; keepLast: number; signal: AbortSignal }): Promise<number> {
  const opened = await openProject(env.file, env.overrides, env.registry);
  if (!opened.ok) return report(env, opened.error);
  const p = opened.value;
  const human = env.json ? env.stderr : env.stdout;
  ensureDotDir(p);
  const held = await acquireRunLock(p.layout.runLock, { wait: o.wait, signal: o.signal, onWait: (who) => human.write(`waiting: ${who}\n`) });
  if (!held.ok) return report(env, { reason: 'io', message: held.message });
  try {
    // The newest --keep-last experiments are kept with their outputs (and the run records of those); older ones go.
    const exps = new ExperimentStore(p.dotDir);
    const all = exps.list();
    const kept = all.slice(Math.max(0, all.length - o.keepLast));
    const dropped = all.slice(0, Math.max(0, all.length - o.keepLast));
    if (!o.dryRun) for (const e of dropped) exps.remove(e.id);
    const r = await collectGarbage(p.root, p.env.store, p.env.runs, o.dryRun, kept.map((e) => e.lock));
    // The report's render memo (charts and tiles drawn before): a speed-up only, the next report redraws it.
    if (!o.dryRun) await rm(p.layout.render, { recursive: true, force: true });
    if (env.json) env.stdout.write(JSON.stringify({ ok: true, dry_run: o.dryRun, ...r, keptExperiments: kept.length, removedExperiments: dropped.length }, null, 2) + '\n');
    const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
    human.write(`${o.dryRun ? 'would remove' : 'removed'} ${r.removedObjects} objects (${mb(r.removedBytes)}), ${r.removedRuns} run records and ${dropped.length} experiments; ` +
      `kept ${r.keptObjects} objects (${mb(r.keptBytes)}) referenced by ${r.locks.length ? r.locks.join(', ') : 'no lock'} and ${kept.length} experiments\n`);
    return EXIT.ok;
  } finally {
    await held.lock.release();
  }
}
