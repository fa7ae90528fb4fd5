/**
 * A whole-pipeline plan without running anything: what `pipe status` and
 * `pipe run --dry-run` show. A stage whose needed stage must run first is
 * `blocked`: its key cannot be known until that stage has produced outputs.
 */
import type { Graph } from './graph.js';
import { decide, type Decision, type Outputs, type PlanEnv } from './planner.js';

/** One stage's line in a plan. */
export interface PlannedStage {
  readonly stage: string;
  /** fresh | restore (from the run cache) | run | blocked (upstream runs first) | error */
  readonly action: Decision['action'];
  readonly key?: string;
  readonly why: readonly string[];
}

/** Plans `names` (in topological order) as a run with `force` would. */
export async function planStages(graph: Graph, env: PlanEnv, names: readonly string[], force: ReadonlySet<string>): Promise<PlannedStage[]> {
  const decided = new Map<string, Decision>();
  const out: PlannedStage[] = [];
  for (const name of names) {
    const stage = graph.stages.get(name);
    if (!stage) continue;
    const pending = stage.needs.filter((n) => {
      const a = decided.get(n)?.action;
      return a === 'run' || a === 'blocked' || a === 'error';
    });
    let d: Decision;
    if (pending.length > 0) {
      const which = (a: Decision['action'] | undefined): string => (a === 'run' ? 'will run' : a === 'blocked' ? 'is stale' : 'cannot run');
      d = { action: 'blocked', why: pending.map((n) => `needs "${n}", which ${which(decided.get(n)?.action)}`) };
    } else {
      const upstream = new Map<string, Outputs>();
      for (const n of stage.needs) {
        const u = decided.get(n);
        if (!u) throw new Error(`bug: stage "${n}" is needed by "${name}" but was not planned first`);
        if (u.action === 'fresh' || u.action === 'restore') upstream.set(n, u.outputs);
      }
      d = await decide(stage, upstream, env, force.has(name));
    }
    decided.set(name, d);
    out.push({ stage: name, action: d.action, ...('key' in d ? { key: d.key } : {}), why: d.why });
  }
  return out;
}
