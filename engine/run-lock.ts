/**
 * One `pipe run` at a time per project: `.pipe/run.lock` holds the owner's pid.
 * A second run waits for it (or fails with --no-wait); a lock left by a killed
 * run (its pid is gone) is taken over.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';

interface Owner {
  pid: number;
  host: string;
  started: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(path: string): Promise<Owner | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

/** A held lock; `release` is idempotent. */
export interface HeldLock {
  release(): Promise<void>;
}

/**
 * Takes the lock at `path`. With `wait`, polls until the other run ends
 * (calling `onWait` once); without, returns the other run's description.
 */
export async function acquireRunLock(
  path: string,
  opts: { wait: boolean; onWait?: (who: string) => void; signal?: AbortSignal },
): Promise<{ ok: true; lock: HeldLock; waited: boolean } | { ok: false; message: string }> {
  let told = false;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      const me: Owner = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
      await fh.writeFile(JSON.stringify(me));
      await fh.close();
      let released = false;
      return {
        ok: true,
        waited: told,
        lock: {
          async release() {
            if (released) return;
            released = true;
            await unlink(path).catch(() => undefined);
          },
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = await readOwner(path);
    if (!owner || (owner.host === hostname() && !alive(owner.pid))) {
      // Left by a run that was killed (or a half-written lock): take it over.
      if (!owner) await new Promise((r) => setTimeout(r, 50));
      if (!owner && (await readOwner(path))) continue;
      await unlink(path).catch(() => undefined);
      continue;
    }
    const who = `another pipe run (pid ${owner.pid}, started ${owner.started}) is running in this project`;
    if (!opts.wait) return { ok: false, message: `${who}; wait for it to finish, or run without --no-wait to wait` };
    if (!told) opts.onWait?.(who);
    told = true;
    if (opts.signal?.aborted) return { ok: false, message: 'interrupted while waiting for the other run' };
    await new Promise((r) => setTimeout(r, 200));
  }
}
