/**
 * The local executor: each stage's work is a child process of `pipe`
 * (run-stage.ts). Within one `pipe run`, module stages of a light kind
 * (StageKind.light: gate, submit, score) go to warm workers instead
 * (warm-pool.ts), which the run's light stages share: one Node start-up for
 * a chain like gate -> submit, and none at all once the worker is warm.
 *
 *   pipe run --> LocalRun --light kind--> WarmPool (<= jobs workers, closed with the run)
 *                     \----other---------> worker.js, one process per stage
 */
import { canonicalJson } from '../../cache/digest.js';
import type { EventSink } from '../events.js';
import type { Graph } from '../graph.js';
import { stageKey } from '../fingerprint.js';
import type { LockEntry } from '../lockfile.js';
import { keyMaterial, type PlanEnv } from '../planner.js';
import { runCommand, runModule, type GroupTracker } from '../run-stage.js';
import { WarmPool } from '../warm-pool.js';
import type { Params } from '../stage-api.js';
import type { StageExecutor } from './types.js';

/** Runs stages on this machine, one process per stage. */
export const localExecutor: StageExecutor = { name: 'local', runCommand, runModule };

/** The local executor of one run: {@link localExecutor} plus warm workers for light kinds. */
export interface LocalRun extends StageExecutor {
  /** Starts a warm worker now and has it import (and prepare) the light stage expected to run. */
  prewarm(expected: ExpectedStage): Promise<void>;
  /** Starts a warm worker now, before anything is known of the stage it will run (Node's start-up overlaps planning). */
  start(): Promise<void>;
  /** Ends the run's warm workers (resolves when they have exited). */
  close(): Promise<void>;
}

/** What a run's warm workers need: their number, threads, where output goes, their folder, the run lock's tracker. */
export interface LocalRunOptions {
  readonly jobs: number;
  readonly threads: number;
  readonly emit: EventSink;
  readonly root: string;
  readonly groups?: GroupTracker;
  /** Called each time a job is handed to a warm worker (pipe then waits: a moment for other work). */
  readonly onJob?: () => void;
}

/** A local executor for one run; close it when the run ends. */
export function localRun(o: LocalRunOptions): LocalRun {
  let pool: WarmPool | undefined;
  // Made synchronously: a worker `start`ed first thing begins before pipe's own work does.
  const poolOf = (): WarmPool => (pool ??= new WarmPool(Math.max(1, o.jobs), o.threads, o.emit, { cwd: o.root, ...(o.groups ? { groups: o.groups } : {}), ...(o.onJob ? { onJob: o.onJob } : {}) }));
  return {
    name: 'local',
    runCommand,
    runModule: async (stage, module, inputs, tmp, root, signal, emit, threads, groups, scratch) =>
      stage.runner.type === 'module' && stage.runner.kind.light === true
        ? poolOf().run(stage, module, inputs, tmp, root, signal, scratch, emit)
        : runModule(stage, module, inputs, tmp, root, signal, emit, threads, groups, scratch),
    prewarm: async (e) => poolOf().prewarm(e.module, { params: e.params, inputs: e.inputs }),
    start: async () => poolOf().prewarm(),
    close: async () => {
      if (pool !== undefined) await pool.close();
    },
  };
}

/**
 * A process-group tracker for workers started before the run lock is held:
 * it keeps the groups it is told about until `attach` hands it the run lock's
 * tracker, then forwards everything there. (Such a worker still dies with pipe
 * meanwhile: it holds a lifeline, engine/lifeline.ts.)
 */
export function laterGroups(): GroupTracker & { attach(to: GroupTracker): void } {
  const pending = new Map<number, string>();
  let target: GroupTracker | undefined;
  return {
    started: (stage, pgid) => (target ? target.started(stage, pgid) : void pending.set(pgid, stage)),
    ended: (pgid) => (target ? target.ended(pgid) : void pending.delete(pgid)),
    attach(to) {
      target = to;
      for (const [pgid, stage] of pending) to.started(stage, pgid);
      pending.clear();
    },
  };
}

/** A light stage expected to run: its module, params and input artifact paths (as runStage will give them). */
export interface ExpectedStage {
  readonly module: string;
  readonly params: Params;
  readonly inputs: Readonly<Record<string, string>>;
}

/**
 * The first light stage among `selected` that will most likely run: its
 * params differ from its lock entry's (or it has none), and the run cache has
 * no run of the key it would have if the stages it needs stay as the lock
 * records them. A guess made before planning, to start a warm worker early
 * and let the stage prepare (a wrong one costs an idle worker's start-up, on
 * another core); undefined when no light stage looks stale, as in a no-op run.
 */
export async function lightStageLikelyToRun(graph: Graph, env: PlanEnv, selected: readonly string[]): Promise<ExpectedStage | undefined> {
  for (const name of selected) {
    const s = graph.stages.get(name);
    if (s?.runner.type !== 'module' || s.runner.kind.light !== true) continue;
    const prev = env.lock[name];
    if (prev !== undefined && prev.kind === s.runner.uses && canonicalJson(prev.params) === canonicalJson(s.config.params)) continue;
    const expected = { module: s.runner.module, params: s.config.params, inputs: {} };
    if (s.needs.some((n) => env.lock[n] === undefined)) return expected;
    const upstream = new Map(s.needs.map((n) => [n, (env.lock[n] as LockEntry).outputs] as const));
    const km = await keyMaterial(s, upstream, env).catch(() => undefined);
    if (km === undefined || !('material' in km)) return expected;
    // Run before: it will be restored (and what follows it most likely too).
    if ((await env.runs.get(stageKey(km.material))) !== undefined) return undefined;
    // Its input artifacts where runStage will find them (a file artifact's view is its cache object).
    const inputs: Record<string, string> = {};
    for (const n of s.needs) {
      for (const a of graph.stages.get(n)?.artifacts ?? []) {
        const ref = upstream.get(n)?.[a];
        if (ref?.kind === 'file') inputs[a] = env.store.filePath(ref.digest);
      }
    }
    return { ...expected, inputs };
  }
  return undefined;
}
