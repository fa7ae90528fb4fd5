/**
 * A warm pool started first thing, before the pipeline is parsed and planned
 * (its worker's Node start-up overlaps them) and before the run lock is held:
 * `pipe run --set` and `pipe sweep` start theirs so. The pool is closed once,
 * whatever happens, and before the run lock it learnt of is released.
 *
 *   withEarlyPool(make, start, body)
 *     make(groups, onJob), start(pool)   first thing (start: e.g. one worker)
 *     body(early)                        parse, plan, take the run lock:
 *       early.hold(lock)                   the lock records the workers from now on
 *       early.onJob = ...                  work to do while a worker has a job
 *       early.close()                      when the run is over (optional)
 *     finally: early.close()             pool closed (once), then the lock released
 */
import { laterGroups } from './executors/local.js';
import type { HeldLock } from './run-lock.js';
import type { GroupTracker } from './run-stage.js';

/** What the body of {@link withEarlyPool} gets. */
export interface EarlyPool<P> {
  readonly pool: P;
  /**
   * Where the process groups of the run's workers and stages are told: kept
   * until {@link hold}, then recorded in the run lock.
   */
  readonly groups: GroupTracker;
  /** Called each time the pool hands a worker a job (nothing until set). */
  onJob: () => void;
  /** The run lock is held: it records the pool's workers (and whatever `groups` hears) from now on; {@link close} releases it. */
  hold(lock: HeldLock): void;
  /**
   * Closes the pool (the first call does; later ones wait for it), then
   * releases the run lock given to {@link hold}, if any: no worker outlives
   * the lock. A body calls it where its run ends (before its summary, or
   * before a command that takes the run lock again); withEarlyPool calls it
   * in any case.
   */
  close(): Promise<void>;
}

/**
 * Makes a pool with `make` (handed the groups tracker and the onJob hook it
 * is to call), runs `start` on it at once (if given), then `body`; the pool
 * is closed when `body` settles (see {@link EarlyPool.close}).
 */
export async function withEarlyPool<P extends { close(): Promise<void> }, T>(
  make: (groups: GroupTracker, onJob: () => void) => P,
  start: ((pool: P) => void) | undefined,
  body: (early: EarlyPool<P>) => Promise<T>,
): Promise<T> {
  const groups = laterGroups();
  let held: HeldLock | undefined;
  let closing: Promise<void> | undefined;
  const early: EarlyPool<P> = {
    pool: make(groups, () => early.onJob()),
    groups,
    onJob: () => undefined,
    hold(lock) {
      held = lock;
      groups.attach({ started: (stage, pgid) => lock.track(stage, pgid), ended: (pgid) => lock.untrack(pgid) });
    },
    async close() {
      await (closing ??= early.pool.close());
      const lock = held;
      held = undefined;
      await lock?.release();
    },
  };
  start?.(early.pool);
  try {
    return await body(early);
  } finally {
    await early.close();
  }
}
