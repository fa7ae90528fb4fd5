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
 * Opens the project; with no `--set` given, a lock made with overrides opens
 * again with them applied (`held` then says which). A failure is the plain
 * open's; when the reopen fails the plain project is used.
 */
export async function openForStatus(file: string, overrides: readonly Override[], registry: KindRegistry): Promise<Result<StatusProject, Failure>> {
  const opened = await openProject(file, overrides, registry);
  if (!opened.ok) return opened;
  const p = opened.value;
  const held = overrides.length === 0 ? heldExperiment(p) : undefined;
  if (!held || held.asOverrides.length === 0) return ok({ project: p });
  const withHeld = await openProject(file, held.asOverrides, registry, p.lock);
  return ok(withHeld.ok ? { project: withHeld.value, held } : { project: p });
}
