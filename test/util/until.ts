/**
 * Bounded polling for tests: wait for something another process does (a file
 * written, a process gone) without a fixed sleep, and never forever.
 */
import { sleep } from '../../engine/proc.js';

/**
 * Polls `cond` every `every` ms until it holds or `ms` have passed; resolves
 * to whether it held (checked once more at the end). Assert on the result:
 * `assert.ok(await until(() => rig.exists('x')), 'x was written')`.
 */
export async function until(cond: () => boolean, ms = 10_000, every = 50): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(every)) {
    if (cond()) return true;
  }
  return cond();
}
