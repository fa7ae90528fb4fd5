/**
 * Runs one sweep point: the pipeline with the point's overrides, stage by
 * stage, planned by the same `decide` as `pipe run`. Upstream stages are fresh
 * (their outputs are taken from the workspace's lock, nothing is copied), keys
 * seen before are restored from the run cache, and only the stale suffix runs,
 * in warm workers. The workspace is left alone: stages with workspace outs run
 * against a scratch folder, and the point's lock goes into its experiment, not
 * into pipe.lock.
 *
 * Points share in-flight work: two points that need the same stage key (a
 * training both grid points depend on) run it once.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { StoredRef } from '../../cache/store.js';
import type { EventSink } from '../events.js';
import type { KeyMaterial } from '../fingerprint.js';
import type { Graph, ResolvedStage } from '../graph.js';
import type { LockEntry } from '../lockfile.js';
import { decide, type Outputs, type PlanEnv } from '../planner.js';
import { describeStageFailure } from '../result.js';
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
  const tmp = join(c.tmpDir, `${stage.name}-${process.pid}-${(serial++).toString(36)}`);
  const failed = (message: string): Ran => ({ ok: false, message, outputs: {}, metrics: {}, info: {}, durationMs: 0, finishedAt: '' });
  try {
    await mkdir(join(tmp, 'out'), { recursive: true });
    let res: RunResult;
    // A module stage that writes workspace outs and reads no workspace deps writes them into a
    // scratch root; other stages with outs take turns in the real one (restored after the sweep).
    const scratch = stage.runner.type === 'module' && stage.outs.length > 0 && stage.deps.length === 0;
    const root = scratch ? join(tmp, 'root') : c.env.root;
    let release: (() => void) | undefined;
    if (stage.outs.length && !scratch) {
      const prev = c.outsLock;
      c.outsLock = new Promise<void>((r) => (release = r));
      await prev;
      c.touched.add(stage.name);
    }
    // Input artifacts as read-only cache paths: by name for a module, by stage and name for a command.
    const inputs: Record<string, string> = {};
    const byStage: Record<string, Record<string, string>> = {};
    for (const n of stage.needs) {
      const up = upstream.get(n) ?? {};
      for (const name of graph.stages.get(n)?.artifacts ?? []) {
        const ref = up[name];
        if (ref) inputs[name] = (byStage[n] ??= {})[name] = await c.env.store.view(ref);
      }
    }
    if (stage.runner.type === 'cmd') {
      const io = { inputs: byStage, artifacts: stage.artifacts, ...(stage.artifacts.length > 0 ? { outDir: join(tmp, 'out') } : {}) };
      const cmd = stage.runner.cmd;
      res = await c.commands.add(() => runCommand(stage, cmd, root, c.signal, c.emit, io)) as RunResult;
    } else {
      await mkdir(root, { recursive: true });
      res = await c.pool.run(stage, stage.runner.module, inputs, tmp, root, c.signal);
    }
    const runMs = performance.now() - t0;
    try {
      if (!res.ok) return failed(describeStageFailure(res.failure));
      const outputs: Record<string, StoredRef> = {};
      for (const a of stage.artifacts) outputs[a] = await c.env.store.putPath(join(tmp, 'out', a));
      for (const o of stage.outs) outputs[o] = await c.env.store.putPath(resolve(root, o));
      const ran = { outputs, metrics: res.metrics, info: res.info, durationMs: performance.now() - t0, finishedAt: new Date().toISOString() };
      await c.env.runs.put({ key, outputs, metrics: ran.metrics, info: { ...c.versions, ...ran.info }, durationMs: Math.round(ran.durationMs), finishedAt: ran.finishedAt });
      return { ok: true, ...ran, runMs, storeMs: performance.now() - t0 - runMs };
    } catch (e) {
      return failed(`stage did not write its outputs: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      release?.();
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Runs the stale suffix of `graph` (the pipeline with one point's overrides). */
export async function runPoint(graph: Graph, c: SweepContext): Promise<PointResult> {
  const t0 = performance.now();
  const outputs = new Map<string, Outputs>();
  const entries: Record<string, LockEntry> = {};
  const ran: string[] = [];
  const restored: string[] = [];
  const timing: PointTiming = {};
  const end = (ok: boolean, message?: string): PointResult => ({ ok, ...(message ? { message } : {}), entries, ran, restored, ms: performance.now() - t0, timing });
  for (const name of graph.order) {
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
