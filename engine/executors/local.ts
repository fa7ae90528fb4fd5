/** The local executor: each stage's work is a child process of `pipe` (run-stage.ts). */
import { runCommand, runModule } from '../run-stage.js';
import type { StageExecutor } from './types.js';

/** Runs stages on this machine. */
export const localExecutor: StageExecutor = { name: 'local', runCommand, runModule };
