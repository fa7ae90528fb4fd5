/**
 * An executor decides where a stage's work runs; the engine stays the
 * coordinator whatever it is (it decides staleness, restores, stores outputs
 * and writes the lock). Two exist: `local` (a child process on this machine)
 * and `slurm` (an sbatch job on a cluster that shares the project folder);
 * `pipe sweep` runs its points through a third, `warm` (engine/exp/sweep-run.ts:
 * module stages in warm workers, commands in a queue bounded by -j).
 * A Kubernetes Job executor would be another (see the README's design note).
 */
import type { EventSink } from '../events.js';
import type { ResolvedStage } from '../graph.js';
import type { CommandIO, GroupTracker, RunResult } from '../run-stage.js';

/** Runs one stage's work somewhere and reports how it ended. */
export interface StageExecutor {
  readonly name: 'local' | 'slurm' | 'warm';
  /** A command stage: `cmd` in a shell in `root`, with the stage's environment (run-stage.ts paramEnv). */
  runCommand(stage: ResolvedStage, cmd: string, root: string, signal: AbortSignal, emit: EventSink, io?: CommandIO, groups?: GroupTracker): Promise<RunResult>;
  /**
   * A module stage: engine/worker.js on the job in `tmp` (artifacts into
   * `tmp/out`); `scratch` becomes the stage's StageContext.scratchDir.
   */
  runModule(
    stage: ResolvedStage, module: string, inputs: Record<string, string>, tmp: string, root: string,
    signal: AbortSignal, emit: EventSink, threads: number, groups?: GroupTracker, scratch?: string,
  ): Promise<RunResult>;
}
