/**
 * A contender for a run lock, for test/process-lock.test.ts: waits for the
 * start file, takes the lock (waiting), appends "+PID" to the log, holds the
 * lock for a while, appends "-PID" and releases it. Usage:
 * `node lock-racer.js LOCK LOG START HOLD_MS`.
 */
import { appendFileSync, existsSync } from 'node:fs';
import { acquireRunLock } from '../../engine/run-lock.js';

const [lockPath, log, start, hold] = process.argv.slice(2);
// `node --test dist/test/` also loads this file, without arguments: nothing to do then.
if (lockPath === undefined || log === undefined || start === undefined || hold === undefined) process.exit(0);
while (!existsSync(start)) await new Promise((r) => setTimeout(r, 2));
const held = await acquireRunLock(lockPath, { wait: true });
if (!held.ok) throw new Error(held.message);
appendFileSync(log, `+${process.pid}\n`);
await new Promise((r) => setTimeout(r, Number(hold)));
appendFileSync(log, `-${process.pid}\n`);
await held.lock.release();
