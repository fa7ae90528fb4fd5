/**
 * `file:///path`: the remote is a folder on a shared file system
 * (`<path>/cas/<hex>`, `<path>/ac/<hex>`). Writes are atomic (cache/atomic.ts:
 * a synced temp file beside the blob, renamed into place), so a reader never
 * sees half a blob.
 */
import { createReadStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { copyFileAtomic } from '../atomic.js';
import { isHex64, RemoteError, type Area, type RemoteBackend } from './backend.js';

/** A remote cache in a folder. */
export class FileRemote implements RemoteBackend {
  readonly display: string;
  constructor(private readonly root: string) {
    this.display = `file://${root}`;
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
