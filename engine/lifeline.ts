/**
 * Stage processes die with the `pipe` that started them, whatever kills it
 * (SIGKILL included, which no handler sees). Linux's PR_SET_PDEATHSIG would do
 * it, but Node cannot call prctl, and it would not reach a shell's children.
 * Instead every stage process group carries a lifeline: one end of a socket
 * pair whose other end only the engine holds.
 *
 *   pipe (engine)                        stage process group G (detached: its own group)
 *   +---------------+   socketpair       +----------------------------------------------+
 *   | end A (cloexec|--------------------| fd 3 = end B                                 |
 *   |  never written)|                   | leader: worker.js (module stage) or          |
 *   +---------------+                    |         stage-guard.js -> sh -c CMD (command) |
 *                                        | lifeline thread: reads fd 3 on its own loop  |
 *                                        |   EOF -> SIGTERM to G, graceMs, SIGKILL to G  |
 *                                        +----------------------------------------------+
 *
 * Reading end B returns EOF exactly when end A is closed: by the engine once
 * the stage has ended, or by the kernel when the engine dies, however it
 * dies. The reader is a worker thread with its own event loop, so a stage
 * whose main thread is stuck in a long synchronous computation is still
 * stopped. The leader is the group's first member and stays in it, so the
 * group number cannot be reused while the thread may still signal it.
 *
 * A second line of defence covers the moments around a spawn: the run lock
 * records each group (engine/run-lock.ts), and the next run SIGKILLs the
 * groups of a dead run before it starts.
 */
import { Worker } from 'node:worker_threads';

/** The fd a stage process finds its lifeline on. */
export const LIFELINE_FD = 3;

/** Set (to {@link LIFELINE_FD}) in the environment of a process that has a lifeline. */
export const LIFELINE_ENV = 'PIPE_LIFELINE_FD';

/** Spawn options that give the child a lifeline: stdio (stdin ignored, stdout/stderr piped) and env. */
export function lifelineSpawn(): { stdio: ['ignore', 'pipe', 'pipe', 'pipe']; env: Record<string, string> } {
  return { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env: { [LIFELINE_ENV]: String(LIFELINE_FD) } };
}

/**
 * In a stage process that leads its own process group: if the engine gave it a
 * lifeline, starts the thread that stops the group when the engine goes away.
 * Removes the variable from `process.env` so the stage's own children do not
 * think they have a lifeline. Does nothing without one.
 */
export function holdLifeline(graceMs: number): void {
  const fd = Number(process.env[LIFELINE_ENV]);
  delete process.env[LIFELINE_ENV];
  if (!Number.isInteger(fd) || fd < 3) return;
  const thread = new Worker(new URL('./lifeline-thread.js', import.meta.url), { workerData: { fd, graceMs } });
  thread.on('error', (e) => process.stderr.write(`pipe: the lifeline of this stage failed: ${e.message}\n`));
  thread.unref();
}
