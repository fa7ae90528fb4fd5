/**
 * `file:///path`: the remote is a folder on a shared file system
 * (`<path>/cas/<hex>`, `<path>/ac/<hex>`). Writes are atomic (cache/atomic.ts:
 * a synced temp file beside the blob, renamed into place), so a reader never
 * sees half a blob. The temp files a crashed write leaves are removed by
 * `pipe gc --remote` ({@link FileRemote.removeDeadTemps}), once their process
 * is gone and they are {@link DEAD_TEMP_AGE_MS} old: the folder may be shared
 * with other hosts. A push never lists the folder for them (on a large shared
 * folder that listing is what costs).
 */
import { createReadStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { copyFileAtomic, removeDeadTemps } from '../atomic.js';
import { isHex64, RemoteError, type Area, type RemoteBackend } from './backend.js';

/**
 * How long a temp file of a process not alive on this host must have been
 * left unmodified before it counts as a crashed write's (a write in progress
 * on another host of a shared folder keeps its temp file fresh).
 */
export const DEAD_TEMP_AGE_MS = 60 * 60 * 1000;

/** How a folder's dead temps are removed: cache/atomic.ts's removeDeadTemps (a test passes one that fails). */
export type TempCleaner = typeof removeDeadTemps;

/** A remote cache in a folder. */
export class FileRemote implements RemoteBackend {
  readonly display: string;
  constructor(private readonly root: string, private readonly cleanTemps: TempCleaner = removeDeadTemps) {
    this.display = `file://${root}`;
  }

  /**
   * Removes the temp files crashed writes of blobs left in both areas (see
   * the module comment); resolves to how many. Best effort, area by area: a
   * temp it may not remove (another user's) ends that area's clean-up (which
   * then counts none), never the other area's, never the caller.
   */
  async removeDeadTemps(): Promise<number> {
    let n = 0;
    for (const area of ['cas', 'ac'] as const) {
      n += await this.cleanTemps(join(this.root, area), isHex64, { minAgeMs: DEAD_TEMP_AGE_MS }).catch(() => 0);
    }
    return n;
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
    await rm(this.path(area, hex), { force: true });
  }

  close(): void {}
}
