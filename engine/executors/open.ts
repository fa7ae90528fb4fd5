/** The executor a run uses, by name (the slurm one is loaded only when asked for). */
import { readFileSync } from 'node:fs';
import type { ExecutorName } from '../config.js';
import type { ProjectLayout } from '../layout.js';
import { unreachable } from '../result.js';
import { localExecutor } from './local.js';
import type { StageExecutor } from './types.js';

/** The executor called `name`, or why it cannot be used here (slurm: no `sbatch` on the PATH). */
export async function openExecutor(name: ExecutorName, layout: ProjectLayout): Promise<StageExecutor | { error: string }> {
  switch (name) {
    case 'local':
      return localExecutor;
    case 'slurm': {
      const { SlurmExecutor } = await import('./slurm.js');
      return SlurmExecutor.open(layout);
    }
    default:
      return unreachable(name);
  }
}

/** A top-level `executor:` line (the key at column 0, plain or quoted) and its value. */
const EXECUTOR_LINE = /^(?:executor|"executor"|'executor')[ \t]*:[ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|([^\s#]+))?/m;

/**
 * The `executor:` that pipeline text names at its top level ('local' when
 * none), read from the text without parsing it: a run asks before the
 * pipeline is parsed, to start a local warm worker early or not. A guess: a
 * top level written as a flow map (`{executor: slurm, ...}`) reads as none.
 */
export function executorNamedIn(text: string): string {
  const m = EXECUTOR_LINE.exec(text);
  return m === null ? 'local' : m[1] ?? m[2] ?? m[3] ?? '';
}

/** {@link executorNamedIn} of the pipeline file `file` ('' if it cannot be read: the run fails before it runs anything). */
export function declaredExecutor(file: string): string {
  try {
    return executorNamedIn(readFileSync(file, 'utf8'));
  } catch {
    return '';
  }
}
