/** placeholder */
import type { CommandEnv } from '../commands.js';
export async function cmdSweep(_env: CommandEnv, _o: { specs: readonly string[]; metric: string | undefined; random: number | undefined; applyBest: boolean; jobs: number; signal: AbortSignal }): Promise<number> {
  return 2;
}
