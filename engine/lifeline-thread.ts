/**
 * The lifeline thread (see engine/lifeline.ts): waits on its own event loop
 * for EOF on the lifeline fd, then stops this process's group: SIGTERM (so a
 * stage can clean up), and SIGKILL after the grace period (this process too).
 */
import { Socket } from 'node:net';
import { workerData } from 'node:worker_threads';

const { fd, graceMs } = workerData as { fd: number; graceMs: number };
const pgid = process.pid;
let fired = false;

function engineGone(): void {
  if (fired) return;
  fired = true;
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch { /* group already empty */ }
  setTimeout(() => {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch { /* gone */ }
  }, graceMs);
}

const line = new Socket({ fd, readable: true, writable: false });
line.on('data', () => undefined);
line.on('end', engineGone);
line.on('close', engineGone);
line.on('error', engineGone);
