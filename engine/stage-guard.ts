/**
 * The leader of a command stage's process group: `node stage-guard.js CMD`
 * runs CMD with `sh -c` in its own group and holds the group's lifeline (see
 * engine/lifeline.ts), which a shell cannot do itself.
 *
 *   engine --spawn detached--> stage-guard (leader of G, lifeline thread)
 *                                  '--> sh -c CMD (in G) --> CMD's children (in G)
 *
 * It ends as CMD's shell ended (same exit code, or the same signal re-raised),
 * so the engine reads the result as if it had run the shell itself. When the
 * shell ends, leftovers in the group (a stray `cmd &`) get SIGTERM: a stage's
 * processes do not outlive the stage. The guard itself ignores SIGTERM,
 * SIGINT and SIGHUP so that stopping the group reaches the shell first and the
 * guard can report how it ended; the engine's SIGKILL still ends it.
 */
import { spawn } from 'node:child_process';
import { holdLifeline } from './lifeline.js';

const cmd = process.argv[2];
if (cmd === undefined) {
  process.stderr.write('usage: stage-guard.js CMD\n');
  process.exit(2);
}
holdLifeline(3000);
const ignore = (): void => undefined;
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, ignore);

const child = spawn(cmd, { shell: true, stdio: ['ignore', 'inherit', 'inherit'] });
child.on('error', (e) => {
  process.stderr.write(`pipe: cannot start a shell: ${e.message}\n`);
  process.exit(127);
});
child.on('exit', (code, signal) => {
  try {
    process.kill(-process.pid, 'SIGTERM');
  } catch { /* nothing left */ }
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
    // A signal whose default action is not to end a process: still fail.
    setTimeout(() => process.exit(1), 1000).unref();
    return;
  }
  process.exit(code ?? 1);
});
