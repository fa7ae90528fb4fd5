/**
 * `file:///path`: the remote is a folder on a shared file system
 * (`<path>/cas/<hex>`, `<path>/ac/<hex>`). Writes are atomic (cache/atomic.ts:
 * a synced temp file beside the blob, renamed into place), so a reader never
 * sees half a blob. The temp files a crashed write leaves are removed before
 * the first write or removal of each remote opened (so by the next push or
 * `gc --remote`), once their process is gone and they are
 * {@link DEAD_TEMP_AGE_MS} old: the folder may be shared with other hosts.
 */
import { createReadStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { copyFileAtomic, isAlive, tempNamePid } from '../atomic.js';
import { isHex64, RemoteError, type Area, type RemoteBackend } from './backend.js';

/**
 * How long a temp file of a process not alive on this host must have been
 * left unmodified before it counts as a crashed write's (a write in progress
 * on another host of a shared folder keeps its temp file fresh).
 */
export const DEAD_TEMP_AGE_MS = 60 * 60 * 1000;

/**
 * Whether `name` is the temp file of a blob's atomic write (cache/atomic.ts's
 * `.<hex>.<pid>.<rand>.tmp`) whose process is not alive on this host.
 */
function crashed(name: string): boolean {
  const pid = tempNamePid(name);
  return pid !== undefined && /^\.[0-9a-f]{64}\./.test(name) && !isAlive(pid);
}

/** A remote cache in a folder. */
export class FileRemote implements RemoteBackend {
  readonly display: string;
  private cleaned: Promise<number> | undefined;
  constructor(private readonly root: string) {
    this.display = `file://${root}`;
  }

  /**
   * Removes the temp files crashed writes left in both areas (see the module
   * comment), once per instance; resolves to how many. Best effort: a temp
   * it may not remove (another user's) ends the clean-up, never the write.
   */
  removeDeadTemps(): Promise<number> {
    this.cleaned ??= (async () => {
      let n = 0;
      for (const area of ['cas', 'ac'] as const) {
        const dir = join(this.root, area);
        for (const name of (await readdir(dir).catch(() => [] as string[])).filter(crashed)) {
          const st = await stat(join(dir, name)).catch(() => undefined);
          if (st === undefined || Date.now() - st.mtimeMs < DEAD_TEMP_AGE_MS) continue;
          await rm(join(dir, name), { force: true });
          n++;
        }
      }
      return n;
    })().catch(() => 0);
    return this.cleaned;
  }

  private path(area: Area, hex: string): string {
    return join(this.root, area, hex);
  }

  async stat(area: Area, hex: string): Promise<number | undefined> {
    const st = await stat(this.path(area, hex)).catch(() => undefined);
    return st?.isFile() ? st.size : undefined;
  }

  async read(area: Area, hex: string): Promise<Readable | undefined> {
    if ((await this.stat(area, hex)) === undefined) return undefined;
    return createReadStream(this.path(area, hex));
  }

  async write(area: Area, hex: string, src: string): Promise<void> {
    await this.removeDeadTemps();
    const dest = this.path(area, hex);
    try {
      await copyFileAtomic(src, dest);
    } catch (e) {
      throw new RemoteError(`cannot write ${dest}: ${(e as Error).message}`);
    }
  }

  async list(area: Area): Promise<string[]> {
    return (await readdir(join(this.root, area)).catch(() => [] as string[])).filter(isHex64).sort();
  }

  async remove(area: Area, hex: string): Promise<void> {
    await this.removeDeadTemps();
    await rm(this.path(area, hex), { force: true });
  }

  close(): void {}
}
