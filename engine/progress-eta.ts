/**
 * A whole-pipeline ETA for `pipe run`, from how long each stage took the last
 * time (the `duration_ms` pipe.lock recorded for it: a restored stage's entry
 * keeps the duration of the run that made it).
 *
 * Which stages will run is known only as they start: a stage that starts
 * running makes everything downstream of it (in the run's selection) likely
 * to run too. The time left is a list-scheduling simulation of those stages
 * on `jobs` slots, needs respected, each taking its previous duration (a
 * running stage: what is left of it). Stages never timed count as 0 and are
 * named, so the figure is then a lower bound.
 *
 *   stage-start (run) --> add it and its downstream --> note "about X left"
 *   stage-end         --> drop it                   --> note "N stages to go, about X left"
 */
import type { EngineEvent } from './events.js';
import { formatDuration } from './logger.js';

/** The graph facts the ETA needs: each stage's needs, in topological order. */
export interface EtaGraph {
  readonly order: readonly string[];
  needs(stage: string): readonly string[];
}

/** Below this many ms left, no ETA is printed (it would be noise). */
export const ETA_MIN_MS = 30_000;

/**
 * Makespan of `stages` on `jobs` slots: each takes `cost(stage)` ms, starts
 * once its needs among `stages` are done, and slots go to ready stages in
 * `order`.
 */
export function makespan(stages: ReadonlySet<string>, g: EtaGraph, jobs: number, cost: (stage: string) => number): number {
  const pending = g.order.filter((s) => stages.has(s));
  const done = new Set<string>();
  const running: { stage: string; end: number }[] = [];
  let t = 0;
  while (pending.length > 0 || running.length > 0) {
    for (let i = 0; i < pending.length && running.length < Math.max(1, jobs);) {
      const s = pending[i]!;
      if (g.needs(s).every((n) => !stages.has(n) || done.has(n))) {
        running.push({ stage: s, end: t + Math.max(0, cost(s)) });
        pending.splice(i, 1);
      } else {
        i++;
      }
    }
    if (running.length === 0) break; // needs outside the order: nothing can start
    running.sort((a, b) => a.end - b.end);
    const next = running.shift()!;
    t = next.end;
    done.add(next.stage);
  }
  return t;
}

/**
 * A consumer of the run's events that returns the notes to print: the ETA
 * when stages start running and after each stage ends while some are left.
 * `previous` is stage -> ms of its last recorded run; `downstream` gives the
 * stages of the selection downstream of one; `now` is a clock in ms.
 */
export function etaTracker(
  g: EtaGraph,
  previous: ReadonlyMap<string, number>,
  downstream: (stage: string) => readonly string[],
  jobs: number,
  now: () => number = () => performance.now(),
): (e: EngineEvent) => EngineEvent[] {
  const toRun = new Set<string>();
  const ended = new Set<string>();
  const started = new Map<string, number>();
  const note = (): EngineEvent[] => {
    const left = new Set([...toRun].filter((s) => !ended.has(s)));
    if (left.size === 0) return [];
    const t = now();
    const unknown = [...left].filter((s) => !previous.has(s));
    const cost = (s: string): number => {
      const p = previous.get(s) ?? 0;
      const since = started.get(s);
      return since === undefined ? p : Math.max(0, p - (t - since));
    };
    const ms = makespan(left, g, jobs, cost);
    if (ms < ETA_MIN_MS) return [];
    const bound = unknown.length > 0 ? `at least ${formatDuration(ms)} left (never timed: ${unknown.join(', ')})` : `about ${formatDuration(ms)} left`;
    return [{ type: 'note', level: 'info', message: `pipeline: ${left.size} stage${left.size > 1 ? 's' : ''} to go, ${bound} (from the durations in the lock)` }];
  };
  return (e) => {
    switch (e.type) {
      case 'stage-start': {
        if (e.action !== 'run') return [];
        started.set(e.stage, now());
        const before = toRun.size;
        for (const s of [e.stage, ...downstream(e.stage)]) toRun.add(s);
        return toRun.size > before ? note() : [];
      }
      case 'stage-end':
        ended.add(e.stage);
        started.delete(e.stage);
        return toRun.has(e.stage) ? note() : [];
      case 'stage-output':
      case 'stage-progress':
      case 'note':
        return [];
    }
  };
}
