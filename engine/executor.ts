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
import { relative } from 'node:path';
import { outProblem, reservedFor, workspaceAbs } from './paths.js';
import { describeProblem } from '../cache/store.js';
import type { EventSink, StageStatus } from './events.js';
import type { Graph, ResolvedStage } from './graph.js';
import type { LockEntry, LockWriter } from './lockfile.js';
import type { KeyMaterial } from './fingerprint.js';
import { decide, type Decision, type Outputs, type PlanEnv } from './planner.js';
import { describeStageFailure, type StageFailure } from './result.js';
import type { GroupTracker } from './run-stage.js';
import type { StageExecutor } from './executors/types.js';
import type { RemoteLookup } from './remote.js';
import { runStage, storeFailure, thrown } from './run-outputs.js';

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
  /**
   * Where module stages get their scratch space (`<scratchDir>/<stage>/<key>`,
   * StageContext.scratchDir): kept when a stage fails or is interrupted, so
   * its next attempt with the same key resumes; removed when it succeeds.
   * Undefined: no scratch space.
   */
  readonly scratchDir?: string;
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
              // Named as a run's refused out is (run-outputs.ts): an io failure at the out.
              const message = `refusing to restore output "${o}": it ${refused}`;
              return failed(0, { reason: 'io', path: o, message }, { key: d.key, why: d.why, message });
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
          res = await runStage(stage, upstream, (n) => graph.stages.get(n)?.artifacts ?? [], env, opts, reservedFor(graph.config.file), d.key);
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


/** A need's result; a need outside the selection is a bug in the caller. */
function needed<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`bug: stage "${name}" is needed but not selected`);
  return value;
}
