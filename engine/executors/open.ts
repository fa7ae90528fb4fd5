/** The executor a run uses, by name (the slurm one is loaded only when asked for). */
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
