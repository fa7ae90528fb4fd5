/**
 * A contender for a run lock, for test/process-lock.test.ts: waits for the
 * start file, takes the lock (waiting), appends "+PID" to the log, holds the
 * lock for a while, appends "-PID" and releases it. Usage:
 * `node lock-racer.js LOCK LOG START HOLD_MS`.
 *
 * Every wait is bounded: no start file after {@link START_POLLS} polls (about
 * {@link START_MS} ms), or no lock within {@link LOCK_MS} ms, and the racer
 * says so on stderr and exits with {@link GAVE_UP} (the test asserts exit 0).
 */
import { appendFileSync, existsSync } from 'node:fs';
import { acquireRunLock } from '../../engine/run-lock.js';

/** Longest wait for the start file, in ms. */
const START_MS = 30_000;
/** Pause between two looks for the start file, in ms. */
const POLL_MS = 2;
/** Most looks for the start file (a slow clock cannot stretch the wait past this). */
const START_POLLS = START_MS / POLL_MS;
/** Longest wait for the lock, in ms (the test's racers hold it 60 ms each). */
const LOCK_MS = 60_000;
/** Exit code of a racer that gave up waiting. */
const GAVE_UP = 3;

function giveUp(why: string): never {
  process.stderr.write(`lock-racer ${process.pid}: ${why}\n`);
  process.exit(GAVE_UP);
}

const [lockPath, log, start, hold] = process.argv.slice(2);
// `node --test dist/test/` also loads this file, without arguments: nothing to do then.
if (lockPath === undefined || log === undefined || start === undefined || hold === undefined) process.exit(0);
const t0 = Date.now();
for (let polls = 0; !existsSync(start); polls++) {
  if (polls >= START_POLLS || Date.now() - t0 > START_MS) giveUp(`no start file ${start} after ${polls} polls in ${Date.now() - t0} ms`);
  await new Promise((r) => setTimeout(r, POLL_MS));
}
const held = await acquireRunLock(lockPath, { wait: true, signal: AbortSignal.timeout(LOCK_MS) });
if (!held.ok) giveUp(`no lock ${lockPath} within ${LOCK_MS} ms: ${held.message}`);
appendFileSync(log, `+${process.pid}\n`);
await new Promise((r) => setTimeout(r, Number(hold)));
appendFileSync(log, `-${process.pid}\n`);
await held.lock.release();
