/**
 * Getting bytes into the object store (store.ts): a file, bytes, or a folder
 * (one object per file plus its manifest) is written to a temp object in
 * `tmp/`, fsynced, renamed to its digest name and stamped, so a crash never
 * leaves a half object under a final name.
 *
 *   file/bytes --hash--> digest --stamped already?--> done
 *                                 --no--> tmp/<pid>.<rand>.obj --fsync--> objects/<2>/<62> --fsync folder, stamp-->
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fsyncDir, withPath } from './atomic.js';
import { digestHex, hashBytes, type Digest } from './digest.js';
import { describeOddPath, encodeManifest, isExec, PathProblemError, walkDirSync, type ManifestFile } from './dir-manifest.js';
import { mapLimit, PARALLEL } from './fs-util.js';
import type { StoredRef } from './object-problem.js';
import type { StampLog } from './stamps.js';

/** Files up to this size are read in one go (hashed, then written only if new). */
const SMALL_FILE = 8 << 20;
const CHUNK = 1 << 20;

/** What {@link ObjectWriter.putStream} returns for bytes that do not hash to the expected digest. */
export interface Mismatch {
  readonly mismatch: Digest;
  readonly size: number;
}

/** What the writer needs of its store. */
export interface ObjectHost {
  /** Where the object with this digest lives. */
  filePath(digest: Digest): string;
  /** A fresh path in the store's `tmp/`, named after this process. */
  tempPath(what: string): Promise<string>;
  /** Stamps an object just written (see stamps.ts). */
  restamp(digest: Digest): void;
}

/** Writes objects into one store; see the module comment. */
export class ObjectWriter {
  constructor(private readonly host: ObjectHost, private readonly stamps: StampLog) {}

  /** Stores a regular file (symlinks followed), reading it once. Rejects naming the path if it is not a file. */
  async putFile(path: string): Promise<StoredRef> {
    const ref = await this.storeFile(path, undefined);
    this.stamps.flush();
    return ref;
  }

  /** Stores bytes (a string as UTF-8) as a file object. */
  async putBytes(data: Uint8Array | string): Promise<StoredRef> {
    const ref = await this.storeBytes(data, undefined);
    this.stamps.flush();
    return ref;
  }

  /**
   * Stores what `source` yields as one file object, hashing it on its way into
   * the temp object (one pass, fsynced like every object). With `expect`,
   * bytes that hash to anything else are dropped, never stored, and their
   * digest and size are returned instead: a download that does not match its
   * name. If `source` fails (or is aborted) nothing is stored.
   */
  async putStream(source: AsyncIterable<Uint8Array>, expect?: Digest): Promise<StoredRef | Mismatch> {
    const { tmp, digest, size } = await this.streamIn(source);
    if (expect !== undefined && digest !== expect) {
      await unlink(tmp).catch(() => undefined);
      return { mismatch: digest, size };
    }
    await this.install(tmp, digest, undefined);
    this.stamps.flush();
    return { digest, kind: 'file', size };
  }

  /**
   * Stores a folder: every regular file under it (recursively, symlinks
   * followed; empty subfolders are not recorded) and its manifest.
   */
  async putDir(path: string): Promise<StoredRef> {
    const walked: { abs: string; rel: string; exec: boolean }[] = [];
    walkDirSync(resolve(path), (abs, prefix, name, st) => {
      walked.push({ abs, rel: prefix + name, exec: isExec(st.mode) });
    });
    const files: ManifestFile[] = new Array(walked.length);
    let total = 0;
    // Each object is fsynced before its rename; the shard folders once at the end, before the manifest.
    const unsynced = new Set<string>();
    try {
      await mapLimit(walked, PARALLEL, async (w, i) => {
        const ref = await this.storeFile(w.abs, unsynced);
        files[i] = { path: w.rel, digest: ref.digest, size: ref.size, exec: w.exec };
        total += ref.size;
      });
      for (const d of unsynced) await fsyncDir(d);
      const manifest = await this.storeBytes(encodeManifest(files), undefined);
      return { digest: manifest.digest, kind: 'dir', size: total };
    } finally {
      this.stamps.flush();
    }
  }

  /**
   * {@link putFile} or {@link putDir}, by what `path` is. Rejects with a
   * `PathProblemError` if it (or something in it) is missing or not a regular
   * file or folder; other errors (no space left: ENOSPC) name what could not
   * be read or written.
   */
  async putPath(path: string): Promise<StoredRef> {
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isDirectory()) return this.putDir(path);
    if (st?.isFile()) return this.putFile(path);
    throw new PathProblemError(path, describeOddPath(path));
  }

  /**
   * {@link putFile}; with `unsynced`, the folders whose new entries still need
   * an fsync are collected there instead of synced one rename at a time.
   */
  private async storeFile(path: string, unsynced: Set<string> | undefined): Promise<StoredRef> {
    const st = statSync(path);
    if (!st.isFile()) throw new Error(`not a regular file: ${path}`);
    if (st.size <= SMALL_FILE) return this.storeBytes(await readFile(path), unsynced);
    // Large: hash while copying into a temp object (as a stream is), then rename it to its digest.
    const { tmp, digest, size } = await this.streamIn(createReadStream(path, { highWaterMark: CHUNK }));
    await this.install(tmp, digest, unsynced);
    return { digest, kind: 'file', size };
  }

  /** Copies what `source` yields into a temp object, hashing it on the way (one pass); not yet installed. */
  private async streamIn(source: AsyncIterable<Uint8Array>): Promise<{ tmp: string; digest: Digest; size: number }> {
    const h = createHash('sha256');
    let size = 0;
    const tmp = await this.writeTempObject(async (out) => {
      for await (const chunk of source) {
        h.update(chunk);
        size += chunk.byteLength;
        await out.write(chunk);
      }
    });
    return { tmp, digest: `sha256:${h.digest('hex')}` as Digest, size };
  }

  private async storeBytes(data: Uint8Array | string, unsynced: Set<string> | undefined): Promise<StoredRef> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const digest = hashBytes(bytes);
    const ref: StoredRef = { digest, kind: 'file', size: bytes.byteLength };
    if (this.isStamped(digest)) return ref;
    const tmp = await this.writeTempObject((out) => out.writeFile(bytes));
    await this.install(tmp, digest, unsynced);
    return ref;
  }

  /**
   * Creates a read-only temp object, lets `fill` write it, fsyncs it and
   * returns its path; on any error the temp file is removed.
   */
  private async writeTempObject(fill: (out: FileHandle) => Promise<void>): Promise<string> {
    const tmp = await this.host.tempPath('obj');
    try {
      const out = await open(tmp, 'wx', 0o444);
      try {
        await fill(out);
        await out.sync();
      } finally {
        await out.close();
      }
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw withPath(e, tmp);
    }
    return tmp;
  }

  private isStamped(digest: Digest): boolean {
    const st = statSync(this.host.filePath(digest), { throwIfNoEntry: false });
    return st !== undefined && st.isFile() && this.stamps.matches(digestHex(digest), st);
  }

  /**
   * Renames a finished, fsynced temp object to its digest name, then fsyncs
   * its folder (or adds it to `unsynced`) and stamps it. An object already
   * there is kept only if its stamp vouches for it; otherwise (it may be
   * damaged) the new one replaces it.
   */
  private async install(tmp: string, digest: Digest, unsynced: Set<string> | undefined): Promise<void> {
    const dest = this.host.filePath(digest);
    if (this.isStamped(digest)) {
      await unlink(tmp);
      return;
    }
    await mkdir(dirname(dest), { recursive: true });
    try {
      await rename(tmp, dest);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
    if (unsynced !== undefined) unsynced.add(dirname(dest));
    else await fsyncDir(dirname(dest));
    this.host.restamp(digest);
  }
}
