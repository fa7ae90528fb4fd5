/**
 * The executor: runs the selected stages of a graph, each as soon as the stages
 * it needs have finished, up to `jobs` at once (p-queue).
 *
 *   per stage:  wait for needs --any failed--> skipped
 *                    |
 *                 decide (planner) --fresh--> done
 *                    |        \--restore--> write outs back from the cache
 *                    |--run--> cmd (execa, shell) | module (worker process)
 *                    v
 *               store outputs -> run cache -> pipe.lock (atomic, per stage)
 *
 * A failed stage stops its dependents; independent stages go on. Abort (Ctrl-C)
 * kills running stages; everything completed is already in the lock.
 */
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { outProblem, removeOut, reservedFor, workspaceAbs, type Reserved } from './paths.js';
import { PathProblemError } from '../cache/dir-manifest.js';
import { CacheObjectError, describeProblem, type StoredRef } from '../cache/store.js';
import type { EngineEvent, EventSink, StageStatus } from './events.js';
import type { Graph, ResolvedStage } from './graph.js';
import type { LockEntry, LockWriter } from './lockfile.js';
import type { KeyMaterial } from './fingerprint.js';
import { decide, type Decision, type Outputs, type PlanEnv } from './planner.js';
import { describeStageFailure, type StageFailure } from './result.js';
import type { GroupTracker, RunResult } from './run-stage.js';
import { localExecutor } from './executors/local.js';
import type { StageExecutor } from './executors/types.js';
import type { RemoteLookup } from './remote.js';

/** Options of one run. */
export interface ExecuteOptions {
  /** Stages to run, with what they need; empty: all. */
  readonly targets: readonly string[];
  /** Stages to run even when fresh. */
  readonly force: ReadonlySet<string>;
  readonly jobs: number;
  readonly signal: AbortSignal;
  readonly emit: EventSink;
  /** Where temp folders for stage outputs go (inside the cache's volume). */
  readonly tmpDir: string;
  /** Versions recorded in every lock entry. */
  readonly versions: Readonly<Record<string, string>>;
  /**
   * Compute threads a module stage may use (PIPE_THREADS in its environment),
   * so that `jobs` stages running at once share the cores instead of
   * oversubscribing them. A PIPE_THREADS set by the user wins.
   */
  readonly threadsPerStage: number;
  /** Told about each stage process group (the run lock records them). */
  readonly groups?: GroupTracker;
  /** Where stages run (default: this machine). */
  readonly executor?: StageExecutor;
  /** Asked before a stale stage runs: true when the remote cache had its run and it is now local. */
  readonly remote?: RemoteLookup;
}

/** The result of one stage in a run. */
export interface StageResult {
  readonly stage: string;
  readonly status: StageStatus;
  readonly key?: string;
  readonly durationMs: number;
  /** The line a person reads: why it failed or was skipped. */
  readonly message?: string;
  /** Why it failed or was skipped, as data (set exactly when status is failed or skipped). */
  readonly failure?: StageFailure;
  readonly why?: readonly string[];
  readonly metrics?: Readonly<Record<string, number | string>>;
}

/** The stages `targets` select: themselves and everything they need. */
export function selectStages(graph: Graph, targets: readonly string[]): string[] {
  if (targets.length === 0) return [...graph.order];
  const want = new Set<string>();
  const add = (n: string): void => {
    if (want.has(n)) return;
    want.add(n);
    for (const m of graph.stages.get(n)?.needs ?? []) add(m);
  };
  for (const t of targets) add(t);
  return graph.order.filter((n) => want.has(n));
}

/** `names` and every stage downstream of them. */
export function downstreamOf(graph: Graph, names: Iterable<string>): Set<string> {
  const out = new Set<string>();
  const add = (n: string): void => {
    if (out.has(n)) return;
    out.add(n);
    for (const d of graph.dependents.get(n) ?? []) add(d);
  };
  for (const n of names) add(n);
  return out;
}

/** Runs the selected stages; resolves when all have ended. */
export async function execute(graph: Graph, env: PlanEnv, lock: LockWriter, opts: ExecuteOptions): Promise<StageResult[]> {
  const { default: PQueue } = await import('p-queue');
  const queue = new PQueue({ concurrency: Math.max(1, opts.jobs) });
  const selected = selectStages(graph, opts.targets);
  const done = new Map<string, Promise<{ ok: boolean; outputs: Outputs }>>();
  const results: StageResult[] = [];

  const stageTask = async (stage: ResolvedStage): Promise<{ ok: boolean; outputs: Outputs }> => {
    // The selection holds every need (selectStages), and needs come first in it.
    const ups = await Promise.all(stage.needs.map(async (n) => [n, await needed(done.get(n), n)] as const));
    const failedNeed = ups.find(([, r]) => !r.ok);
    if (failedNeed || opts.signal.aborted) {
      const message = failedNeed ? `not run: "${failedNeed[0]}" did not complete` : 'not run: interrupted';
      end(stage.name, 'skipped', 0, { message, failure: failedNeed ? { reason: 'need-failed', need: failedNeed[0] } : { reason: 'interrupted' } });
      return { ok: false, outputs: {} };
    }
    return queue.add(() => runOne(stage, new Map(ups.map(([n, r]) => [n, r.outputs]))));
  };

  const end = (stage: string, status: StageStatus, durationMs: number, extra: Partial<StageResult> = {}): void => {
    const r: StageResult = { stage, status, durationMs, ...extra };
    results.push(r);
    opts.emit({
      type: 'stage-end', stage, status, durationMs,
      ...(r.key ? { key: r.key } : {}), ...(r.message ? { message: r.message } : {}), ...(r.failure ? { failure: r.failure } : {}),
      ...(r.metrics ? { metrics: r.metrics } : {}),
    });
  };

  const runOne = async (stage: ResolvedStage, upstream: Map<string, Outputs>): Promise<{ ok: boolean; outputs: Outputs }> => {
    const t0 = performance.now();
    if (opts.signal.aborted) {
      end(stage.name, 'skipped', 0, { message: 'not run: interrupted', failure: { reason: 'interrupted' } });
      return { ok: false, outputs: {} };
    }
    const failed = (durationMs: number, failure: StageFailure, extra: Partial<StageResult> = {}): { ok: false; outputs: Outputs } => {
      end(stage.name, 'failed', durationMs, { message: describeStageFailure(failure), ...extra, failure });
      return { ok: false, outputs: {} };
    };
    let d: Decision;
    try {
      d = await decide(stage, upstream, env, opts.force.has(stage.name));
      // A stale stage another machine already ran: fetch its outputs from the remote cache instead.
      if (d.action === 'run' && opts.remote && !opts.force.has(stage.name) && await opts.remote(stage.name, d.key)) {
        d = await decide(stage, upstream, env, false);
      }
    } catch (e) {
      return failed(performance.now() - t0, thrown(e));
    }
    switch (d.action) {
      case 'fresh':
        end(stage.name, 'fresh', 0, { key: d.key, why: d.why });
        return { ok: true, outputs: d.outputs };
      case 'blocked':
        return failed(0, { reason: 'threw', message: `bug: stage "${stage.name}" was planned before what it needs` }, { message: d.why.join('; '), why: d.why });
      case 'error':
        return failed(0, d.failure ?? { reason: 'threw', message: d.why.join('; ') }, { message: d.why.join('; '), why: d.why });
      case 'restore': {
        opts.emit({ type: 'stage-start', stage: stage.name, action: 'restore', why: d.why });
        try {
          for (const o of stage.outs) {
            const ref = d.outputs[o];
            const refused = outProblem(env.root, o, reservedFor(graph.config.file));
            if (refused !== undefined) {
              end(stage.name, 'failed', 0, { message: `refusing to restore output "${o}": it ${refused}` });
              return { ok: false, outputs: {} };
            }
            if (ref) await env.store.restore(ref, workspaceAbs(env.root, o));
          }
          await lock.set(stage.name, entryFor(stage, d.key, d.material, d.outputs, d.metrics, d.info, d.durationMs, opts.versions));
        } catch (e) {
          return failed(performance.now() - t0, storeFailure(e, lock.path), { key: d.key, why: d.why });
        }
        end(stage.name, 'restored', performance.now() - t0, { key: d.key, why: d.why, metrics: d.metrics });
        return { ok: true, outputs: d.outputs };
      }
      case 'run': {
        opts.emit({ type: 'stage-start', stage: stage.name, action: 'run', why: d.why });
        for (const p of d.corrupt ?? []) {
          const moved = await env.store.quarantine(p.digest).catch(() => undefined);
          opts.emit({ type: 'note', level: 'warn', stage: stage.name, message: `${describeProblem(p)}; ${moved ? `moved to ${relative(env.root, moved)}` : 'could not be moved aside'}; the stage runs again` });
        }
        let res: Awaited<ReturnType<typeof runStage>>;
        try {
          res = await runStage(stage, upstream, (n) => graph.stages.get(n)?.artifacts ?? [], env, opts, reservedFor(graph.config.file));
        } catch (e) {
          res = { ok: false, failure: thrown(e) };
        }
        const durationMs = performance.now() - t0;
        if (!res.ok) return failed(durationMs, res.failure, { key: d.key, why: d.why, ...(res.message ? { message: res.message } : {}) });
        const prev = env.lock[stage.name];
        if (prev && prev.key === d.key) {
          const differs = Object.keys(res.outputs).filter((k) => prev.outputs[k] && prev.outputs[k]?.digest !== res.outputs[k]?.digest);
          if (differs.length > 0) {
            opts.emit({ type: 'note', level: 'warn', stage: stage.name, message: `same key as pipe.lock but different outputs (${differs.join(', ')}): this stage is not deterministic` });
          }
        }
        const finishedAt = new Date().toISOString();
        try {
          await env.runs.put({ key: d.key, outputs: res.outputs, metrics: res.metrics, info: { ...opts.versions, ...res.info }, durationMs: Math.round(durationMs), finishedAt });
          await lock.set(stage.name, entryFor(stage, d.key, d.material, res.outputs, res.metrics, res.info, durationMs, opts.versions, finishedAt));
        } catch (e) {
          const f = storeFailure(e, lock.path);
          return failed(durationMs, f.reason === 'io' ? { ...f, path: relative(env.root, f.path) } : f, { key: d.key, why: d.why });
        }
        end(stage.name, 'ran', durationMs, { key: d.key, why: d.why, metrics: res.metrics });
        return { ok: true, outputs: res.outputs };
      }
    }
  };

  for (const name of selected) done.set(name, stageTask(graph.stages.get(name) as ResolvedStage));
  await Promise.all(done.values());
  await queue.onIdle();
  const order = new Map(selected.map((n, i) => [n, i]));
  return results.sort((a, b) => (order.get(a.stage) ?? 0) - (order.get(b.stage) ?? 0));
}

function entryFor(
  stage: ResolvedStage,
  key: string,
  m: KeyMaterial,
  outputs: Outputs,
  metrics: Readonly<Record<string, number | string>>,
  info: Readonly<Record<string, string>>,
  durationMs: number,
  versions: Readonly<Record<string, string>>,
  finishedAt = new Date().toISOString(),
): LockEntry {
  return {
    kind: m.kind,
    key: key as LockEntry['key'],
    code: m.code,
    params: stage.config.params,
    inputs: m.inputs,
    deps: m.deps,
    outputs,
    metrics,
    info: { ...versions, ...info },
    duration_ms: Math.round(durationMs),
    finished_at: finishedAt,
  };
}

/**
 * The failure of storing or restoring through the cache, or of writing the
 * run cache or `lockPath`: a corrupt object, or an I/O error (ENOSPC) naming
 * the file that could not be written.
 */
function storeFailure(e: unknown, fallbackPath: string): StageFailure {
  if (e instanceof CacheObjectError) return { reason: 'cache-corrupt', digest: e.detail.digest, detail: describeProblem(e.detail) };
  const err = e as NodeJS.ErrnoException;
  return { reason: 'io', path: err.path ?? fallbackPath, message: ioMessage(err) };
}

/** "no space left on device (ENOSPC)" for errno errors, else the message. */
function ioMessage(err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOSPC') return 'no space left on device (ENOSPC)';
  return err.code && err.syscall ? `${err.code} (${err.syscall})` : err.message ?? String(err);
}

/**
 * Why storing the declared output (or artifact) `name` at `abs` failed: not
 * written, not a file or folder, or an I/O error; with the line a person
 * reads when it says more than the failure alone.
 */
function outputFailure(name: string, artifact: boolean, abs: string, e: unknown, env: PlanEnv): { failure: StageFailure; message?: string } {
  const what = `${artifact ? 'artifact' : 'output'} "${name}"`;
  if (e instanceof PathProblemError) {
    if (e.path === abs && e.what === 'does not exist') return { failure: { reason: 'output-missing', output: name, ...(artifact ? { artifact } : {}) } };
    const rel = relative(env.root, e.path) || '.';
    return { failure: { reason: 'io', path: rel, message: e.what }, message: `${what}: ${rel} ${e.what}` };
  }
  // Without a path on the error, it was writing the temp object that failed.
  const f = storeFailure(e, env.store.paths.tmp);
  if (f.reason !== 'io') return { failure: f };
  const rel = { ...f, path: relative(env.root, f.path) };
  return { failure: rel, message: `cannot store ${what} in the cache: ${describeStageFailure(rel)}` };
}

/** An exception thrown while running a stage's work (a bug, or an error the cache did not name), as a failure. */
function thrown(e: unknown): StageFailure {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.syscall === 'string') return { reason: 'io', path: err.path ?? '?', message: ioMessage(err) };
  return { reason: 'threw', message: e instanceof Error ? e.message : String(e), ...(e instanceof Error && e.stack ? { stack: e.stack } : {}) };
}

/** A need's result; a need outside the selection is a bug in the caller. */
function needed<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`bug: stage "${name}" is needed but not selected`);
  return value;
}

/** Runs a stage's work and stores its outputs. */
async function runStage(
  stage: ResolvedStage,
  upstream: ReadonlyMap<string, Outputs>,
  artifactsOf: (stage: string) => readonly string[],
  env: PlanEnv,
  opts: ExecuteOptions,
  reserved: Reserved,
): Promise<{ ok: true; outputs: Record<string, StoredRef>; metrics: Record<string, number | string>; info: Record<string, string> } | { ok: false; failure: StageFailure; message?: string }> {
  // Old outputs must not pass for new ones: clear declared outs first (they are in the cache).
  for (const o of stage.outs) {
    const refused = await removeOut(env.root, o, reserved);
    if (refused !== undefined) return { ok: false, failure: { reason: 'io', path: o, message: refused }, message: refused };
    await mkdir(dirname(workspaceAbs(env.root, o)), { recursive: true });
  }
  const emit = (e: EngineEvent): void => opts.emit(e);
  let res: RunResult;
  const tmp = join(opts.tmpDir, `${stage.name}-${process.pid}-${Date.now().toString(36)}`);
  try {
    // Input artifacts as read-only paths inside the cache, by needed stage and artifact name.
    const byStage: Record<string, Record<string, string>> = {};
    const inputs: Record<string, string> = {};
    for (const n of stage.needs) {
      const up = upstream.get(n) ?? {};
      for (const name of artifactsOf(n)) {
        const ref = up[name];
        if (!ref) continue;
        let path: string;
        try {
          path = await env.store.view(ref);
        } catch (e) {
          const failure = storeFailure(e, env.store.root);
          return { ok: false, failure, message: `input "${n}/${name}": ${describeStageFailure(failure)}` };
        }
        (byStage[n] ??= {})[name] = path;
        inputs[name] = path;
      }
    }
    await mkdir(join(tmp, 'out'), { recursive: true });
    // Where the work runs: this machine, or a cluster job (engine/executors/).
    const where = opts.executor ?? localExecutor;
    if (stage.runner.type === 'cmd') {
      const io = { inputs: byStage, artifacts: stage.artifacts, ...(stage.artifacts.length > 0 ? { outDir: join(tmp, 'out') } : {}) };
      res = await where.runCommand(stage, stage.runner.cmd, env.root, opts.signal, emit, io, opts.groups);
    } else {
      res = await where.runModule(stage, stage.runner.module, inputs, tmp, env.root, opts.signal, emit, opts.threadsPerStage, opts.groups);
    }
    if (!res.ok) return res;
    const outputs: Record<string, StoredRef> = {};
    for (const a of stage.artifacts) {
      try {
        outputs[a] = await env.store.putPath(join(tmp, 'out', a));
      } catch (e) {
        return { ok: false, ...outputFailure(a, true, join(tmp, 'out', a), e, env) };
      }
    }
    for (const o of stage.outs) {
      try {
        outputs[o] = await env.store.putPath(workspaceAbs(env.root, o));
      } catch (e) {
        return { ok: false, ...outputFailure(o, false, workspaceAbs(env.root, o), e, env) };
      }
    }
    return { ok: true, outputs, metrics: res.metrics, info: res.info };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
