/**
 * Runs one sweep point: the pipeline with the point's overrides, stage by
 * stage, planned by the same `decide` as `pipe run`. Upstream stages are fresh
 * (their outputs are taken from the workspace's lock, nothing is copied), keys
 * seen before are restored from the run cache, and only the stale suffix runs,
 * through run-outputs.ts `runStage` as in `pipe run`, with an executor that
 * sends module stages to warm workers. The workspace is left alone: stages with workspace outs run
 * against a scratch folder, and the point's lock goes into its experiment, not
 * into pipe.lock.
 *
 * Points share in-flight work: two points that need the same stage key (a
 * training both grid points depend on) run it once.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventSink } from '../events.js';
import type { KeyMaterial } from '../fingerprint.js';
import type { Graph, ResolvedStage } from '../graph.js';
import type { LockEntry } from '../lockfile.js';
import type { StageExecutor } from '../executors/types.js';
import { reservedFor } from '../paths.js';
import { decide, type Outputs, type PlanEnv } from '../planner.js';
import { describeStageFailure } from '../result.js';
import { runStage, storeFailure, thrown } from '../run-outputs.js';
import { runCommand, type RunResult } from '../run-stage.js';
import type { WarmPool } from '../warm-pool.js';

/** What the points of one sweep share. */
export interface SweepContext {
  readonly env: PlanEnv;
  readonly pool: WarmPool;
  /** Runs command stages, at most -j at once (module stages are bounded by the pool). */
  readonly commands: { add<T>(f: () => Promise<T>): Promise<T | void> };
  readonly tmpDir: string;
  readonly versions: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  readonly emit: EventSink;
  /** Stage key -> the run of it in progress (or done) in this sweep. */
  readonly inflight: Map<string, Promise<Ran>>;
  /** Serialises stages that write workspace outs in the real root. */
  outsLock: Promise<void>;
  /** Stages that wrote workspace outs in the real root: restored from pipe.lock after the sweep. */
  readonly touched: Set<string>;
}

interface Ran {
  readonly ok: boolean;
  readonly message?: string;
  readonly outputs: Outputs;
  readonly metrics: Readonly<Record<string, number | string>>;
  readonly info: Readonly<Record<string, string>>;
  readonly durationMs: number;
  readonly finishedAt: string;
  /** Of durationMs: in the stage's process (inputs, compute, writing), and storing the outputs. */
  readonly runMs?: number;
  readonly storeMs?: number;
}

/** Where a point's time went, per stage: planning (keys, cache look-ups), running, storing outputs. */
export type PointTiming = Record<string, { plan: number; run: number; store: number }>;

/** The outcome of one point. */
export interface PointResult {
  readonly ok: boolean;
  readonly message?: string;
  /** The point's lock entries (every stage of the graph that completed). */
  readonly entries: Readonly<Record<string, LockEntry>>;
  /** Stages that ran for this point (not shared with another point), restored, or came fresh. */
  readonly ran: readonly string[];
  readonly restored: readonly string[];
  readonly ms: number;
  readonly timing: PointTiming;
}

function entry(stage: ResolvedStage, key: string, m: KeyMaterial, r: Omit<Ran, 'ok'>, versions: Readonly<Record<string, string>>): LockEntry {
  return {
    kind: m.kind, key: key as LockEntry['key'], code: m.code, params: stage.config.params, inputs: m.inputs, deps: m.deps,
    outputs: r.outputs, metrics: r.metrics, info: { ...versions, ...r.info }, duration_ms: Math.round(r.durationMs), finished_at: r.finishedAt,
  };
}

let serial = 0;

async function runOnce(stage: ResolvedStage, graph: Graph, upstream: ReadonlyMap<string, Outputs>, key: string, c: SweepContext): Promise<Ran> {
  const t0 = performance.now();
  const failed = (message: string): Ran => ({ ok: false, message, outputs: {}, metrics: {}, info: {}, durationMs: 0, finishedAt: '' });
  // A module stage that writes workspace outs and reads no workspace deps writes them into a
  // scratch root; other stages with outs take turns in the real one (restored after the sweep).
  const scratch = stage.runner.type === 'module' && stage.outs.length > 0 && stage.deps.length === 0;
  const root = scratch ? join(c.tmpDir, `${stage.name}-root-${process.pid}-${(serial++).toString(36)}`) : c.env.root;
  let release: (() => void) | undefined;
  if (stage.outs.length && !scratch) {
    const prev = c.outsLock;
    c.outsLock = new Promise<void>((r) => (release = r));
    await prev;
    c.touched.add(stage.name);
  }
  // The work runs where the executor's runModule/runCommand sends it (warm workers, the command
  // queue); its end splits the time into running and storing.
  let ranAt = t0;
  const timed = async (p: Promise<RunResult>): Promise<RunResult> => {
    const r = await p;
    ranAt = performance.now();
    return r;
  };
  const executor: StageExecutor = {
    name: 'warm',
    runModule: (s, module, inputs, tmp, r, signal) => timed(c.pool.run(s, module, inputs, tmp, r, signal)),
    runCommand: (s, cmd, r, signal, emit, io) => timed(c.commands.add(() => runCommand(s, cmd, r, signal, emit, io)) as Promise<RunResult>),
  };
  try {
    if (scratch) await mkdir(root, { recursive: true });
    const env: PlanEnv = scratch ? { ...c.env, root } : c.env;
    const opts = { signal: c.signal, emit: c.emit, tmpDir: c.tmpDir, executor, threadsPerStage: 1 };
    let res: Awaited<ReturnType<typeof runStage>>;
    try {
      res = await runStage(stage, upstream, (n) => graph.stages.get(n)?.artifacts ?? [], env, opts, reservedFor(graph.config.file));
    } catch (e) {
      return failed(describeStageFailure(thrown(e)));
    }
    if (!res.ok) return failed(res.message ?? describeStageFailure(res.failure));
    const runMs = ranAt - t0;
    const ran = { outputs: res.outputs, metrics: res.metrics, info: res.info, durationMs: performance.now() - t0, finishedAt: new Date().toISOString() };
    try {
      await c.env.runs.put({ key, outputs: ran.outputs, metrics: ran.metrics, info: { ...c.versions, ...ran.info }, durationMs: Math.round(ran.durationMs), finishedAt: ran.finishedAt });
    } catch (e) {
      return failed(describeStageFailure(storeFailure(e, c.env.root)));
    }
    return { ok: true, ...ran, runMs, storeMs: performance.now() - t0 - runMs };
  } finally {
    release?.();
    if (scratch) await rm(root, { recursive: true, force: true });
  }
}

/** Runs the stale suffix of `graph` (the pipeline with one point's overrides), within `scope` when given. */
export async function runPoint(graph: Graph, c: SweepContext, scope?: ReadonlySet<string>): Promise<PointResult> {
  const t0 = performance.now();
  const outputs = new Map<string, Outputs>();
  const entries: Record<string, LockEntry> = {};
  const ran: string[] = [];
  const restored: string[] = [];
  const timing: PointTiming = {};
  const end = (ok: boolean, message?: string): PointResult => ({ ok, ...(message ? { message } : {}), entries, ran, restored, ms: performance.now() - t0, timing });
  for (const name of graph.order) {
    if (scope && !scope.has(name)) continue;
    const stage = graph.stages.get(name) as ResolvedStage;
    if (c.signal.aborted) return end(false, 'interrupted');
    const tPlan = performance.now();
    const d = await decide(stage, outputs, c.env);
    const t: PointTiming[string] = { plan: performance.now() - tPlan, run: 0, store: 0 };
    timing[name] = t;
    switch (d.action) {
      case 'blocked':
      case 'error':
        return end(false, `${name}: ${d.why.join('; ')}`);
      case 'fresh': {
        const e = c.env.lock[name];
        if (!e) return end(false, `${name}: fresh without a lock entry (bug)`);
        entries[name] = e;
        outputs.set(name, d.outputs);
        break;
      }
      case 'restore':
        entries[name] = entry(stage, d.key, d.material, { outputs: d.outputs, metrics: d.metrics, info: d.info, durationMs: d.durationMs, finishedAt: new Date().toISOString() }, {});
        outputs.set(name, d.outputs);
        restored.push(name);
        break;
      case 'run': {
        let p = c.inflight.get(d.key);
        if (p) restored.push(name);
        else {
          p = runOnce(stage, graph, outputs, d.key, c);
          c.inflight.set(d.key, p);
          ran.push(name);
        }
        const r = await p;
        if (!r.ok) return end(false, `${name}: ${r.message ?? 'failed'}`);
        if (ran.includes(name)) Object.assign(t, { run: r.runMs ?? 0, store: r.storeMs ?? 0 });
        entries[name] = entry(stage, d.key, d.material, r, c.versions);
        outputs.set(name, r.outputs);
        break;
      }
    }
  }
  return end(true);
}
