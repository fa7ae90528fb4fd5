/**
 * The state of the pipeline as `pipe status` says it, for every command that
 * shows it (`pipe status`, `pipe report`'s pipeline section): the project
 * opened as the workspace's lock was made (a lock made with `--set` overrides
 * is planned with them, so the stages they changed are not called stale), and
 * one word per stage.
 *
 *   decision action:  fresh   restore      run | blocked   error
 *   state:            fresh   restorable   stale           error
 */
import type { Override } from './config.js';
import { heldExperiment, type Held } from './exp/status.js';
import type { KindRegistry } from './graph.js';
import { projectLayout } from './layout.js';
import { readLock } from './lockfile.js';
import type { PlannedStage } from './plan.js';
import { openProject, type Project } from './project.js';
import { ok, unreachable, type Failure, type Result } from './result.js';

/** A stage's state in `pipe status`. */
export type StageState = 'fresh' | 'restorable' | 'stale' | 'error';

/** The state word of a planned stage's action. */
export function stageState(action: PlannedStage['action']): StageState {
  switch (action) {
    case 'fresh': return 'fresh';
    case 'restore': return 'restorable';
    case 'run':
    case 'blocked': return 'stale';
    case 'error': return 'error';
    default: return unreachable(action);
  }
}

/** A project opened as `pipe status` sees it. */
export interface StatusProject {
  readonly project: Project;
  /** The experiment the workspace holds, when its lock was made with overrides and they are applied. */
  readonly held?: Held;
}

/**
 * Opens the project once: with no `--set` given, as the workspace's lock was
 * made (`held` then says with which overrides); when that open fails, or
 * there is nothing held, the plain project (whose failure is the one returned).
 */
export async function openForStatus(file: string, overrides: readonly Override[], registry: KindRegistry): Promise<Result<StatusProject, Failure>> {
  const layout = projectLayout(file);
  const read = readLock(layout.lockPath, layout.lockMirror);
  const lock = 'lock' in read ? read.lock : undefined;
  const held = overrides.length === 0 && lock ? heldExperiment(lock, layout.dotDir) : undefined;
  if (held && held.asOverrides.length > 0) {
    const withHeld = await openProject(file, held.asOverrides, registry, lock);
    if (withHeld.ok) return ok({ project: withHeld.value, held });
  }
  const opened = await openProject(file, overrides, registry, lock);
  return opened.ok ? ok({ project: opened.value }) : opened;
}
