/**
 * The content-addressed object store: immutable, read-only files named by
 * their sha256, under `<root>/objects/<2 hex>/<62 hex>` (folders: see
 * cache-layout.ts).
 *
 * A folder is stored as one object per file plus a manifest object (see
 * `dir-manifest.ts`); its digest is the manifest's. Every object is written to
 * `tmp/`, fsynced and renamed to its name, so a crash never leaves a half
 * object under a final name. Symlinks inside stored folders are followed (see
 * {@link walkDirSync}).
 *
 * Nothing leaves the store unverified: {@link ObjectStore.check} (and so
 * `view` and `restore`, see materialize.ts) hashes every object it vouches
 * for, unless its verification stamp (stamps.ts) shows it untouched since it
 * was last hashed or written. An object that does not hash to its name can be
 * moved to `quarantine/`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fsyncDir, isAlive, removeDeadTemps, withPath } from './atomic.js';
import { cachePaths, type CachePaths } from './cache-layout.js';
import { digestHex, hashBytes, hashFile, type Digest } from './digest.js';
import { describeOddPath, encodeManifest, isExec, parseManifest, PathProblemError, walkDirSync, type DirManifest, type ManifestFile } from './dir-manifest.js';
import { mapLimit, PARALLEL } from './fs-util.js';
import { restoreArtifact, viewArtifact } from './materialize.js';
import { CacheObjectError, type ObjectEntry, type ObjectProblem, type StoredRef } from './object-problem.js';
import { listObjects, sameStat, walkArtifact } from './object-walk.js';
import { StampLog } from './stamps.js';

export { CacheObjectError, describeProblem, type ObjectEntry, type ObjectKind, type ObjectProblem, type StoredRef } from './object-problem.js';

/** What an artifact is: one file, or a folder (stored as a manifest). */
/** Files up to this size are read in one go (hashed, then written only if new). */
const SMALL_FILE = 8 << 20;
const CHUNK = 1 << 20;

/** The object store rooted at a cache folder (the engine uses `<project>/.pipe/cache`). */
export class ObjectStore {
  /** The cache root folder. */
  readonly root: string;
  /** Its folders. */
  readonly paths: CachePaths;
  private readonly stamps: StampLog;
  /** Objects whose content was read to check it (not vouched for by a stamp), since construction. */
  readonly counters = { hashed: 0 };

  constructor(root: string) {
    this.root = root;
    this.paths = cachePaths(root);
    this.stamps = new StampLog(this.paths.stamps);
  }

  /** Where the object with this digest lives (it may not exist). Read-only: never write to it. */
  filePath(digest: Digest): string {
    const hex = digestHex(digest);
    return join(this.paths.objects, hex.slice(0, 2), hex.slice(2));
  }

  /** Stores a regular file (symlinks followed), reading it once. Rejects naming the path if it is not a file. */
  async putFile(path: string): Promise<StoredRef> {
    const ref = await this.storeFile(path, undefined);
    this.stamps.flush();
    return ref;
  }

  /**
   * {@link putFile}; with `unsynced`, the folders whose new entries still need
   * an fsync are collected there instead of synced one rename at a time.
   */
  private async storeFile(path: string, unsynced: Set<string> | undefined): Promise<StoredRef> {
    const st = statSync(path);
    if (!st.isFile()) throw new Error(`not a regular file: ${path}`);
    if (st.size <= SMALL_FILE) return this.storeBytes(await readFile(path), unsynced);
    // Large: hash while copying into a temp object, then rename it to its digest.
    const h = createHash('sha256');
    let size = 0;
    const src = await open(path, 'r');
    let tmp: string;
    try {
      tmp = await this.writeTempObject(async (out) => {
        const buf = Buffer.allocUnsafe(CHUNK);
        for (;;) {
          const { bytesRead } = await src.read(buf, 0, CHUNK, null);
          if (bytesRead === 0) break;
          const chunk = buf.subarray(0, bytesRead);
          h.update(chunk);
          await out.write(chunk);
          size += bytesRead;
        }
      });
    } finally {
      await src.close();
    }
    const digest = `sha256:${h.digest('hex')}` as Digest;
    await this.install(tmp, digest, unsynced);
    return { digest, kind: 'file', size };
  }

  /** Stores bytes (a string as UTF-8) as a file object. */
  async putBytes(data: Uint8Array | string): Promise<StoredRef> {
    const ref = await this.storeBytes(data, undefined);
    this.stamps.flush();
    return ref;
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
    const tmp = await this.tempPath('obj');
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
   * Whether the artifact is present: the object (for a folder: its manifest
   * and every file object) exists with the right size. Stats only, plus
   * reading a folder's manifest; content is not checked (see {@link check}).
   */
  async has(ref: StoredRef): Promise<boolean> {
    return (await this.walkRef(ref, async (digest) => {
      const st = statSync(this.filePath(digest), { throwIfNoEntry: false });
      return st?.isFile() ? st.size : { problem: 'missing', digest, detail: 'not in the cache' };
    })) === undefined;
  }

  /**
   * The first reason the artifact cannot be used, or undefined when every
   * object is present and hashes to its name (by its stamp, or hashed now and
   * stamped) and the reference agrees with them. Never modifies an object.
   */
  async check(ref: StoredRef): Promise<ObjectProblem | undefined> {
    try {
      return await this.walkRef(ref, (digest) => this.checkObject(digest, false));
    } finally {
      this.stamps.flush();
    }
  }

  /** Like {@link check}, but re-hashes every object whatever its stamp. False if any fails. */
  async verify(ref: StoredRef): Promise<boolean> {
    try {
      return (await this.walkRef(ref, (digest) => this.checkObject(digest, true))) === undefined;
    } finally {
      this.stamps.flush();
    }
  }

  /**
   * Checks one object: present, and hashing to its name (skipped when its
   * stamp matches, unless `rehash`). Resolves to its size or a problem.
   */
  async checkObject(digest: Digest, rehash: boolean): Promise<number | ObjectProblem> {
    const hex = digestHex(digest);
    const path = this.filePath(digest);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st === undefined) return { problem: 'missing', digest, detail: 'not in the cache' };
    if (!st.isFile()) return { problem: 'corrupt', digest, detail: 'not a regular file' };
    if (!rehash && this.stamps.matches(hex, st)) return st.size;
    const startedMs = Date.now();
    this.counters.hashed++;
    let actual: Digest;
    try {
      actual = await hashFile(path);
    } catch (e) {
      return { problem: 'corrupt', digest, detail: `cannot be read: ${(e as Error).message}` };
    }
    if (actual !== digest) return { problem: 'corrupt', digest, detail: `its content hashes to ${actual}` };
    const after = statSync(path, { throwIfNoEntry: false });
    if (after !== undefined && sameStat(st, after)) this.stamps.record(hex, st, { by: 'hash', startedMs });
    return st.size;
  }

  /** {@link walkArtifact} with this store's object paths. */
  private walkRef(ref: StoredRef, check: (digest: Digest) => Promise<number | ObjectProblem>): Promise<ObjectProblem | undefined> {
    return walkArtifact(ref, (d) => this.filePath(d), check);
  }

  /** Reads and checks a folder manifest object. Rejects naming the digest if missing or malformed. */
  async readManifest(digest: Digest): Promise<DirManifest> {
    let text: string;
    try {
      text = await readFile(this.filePath(digest), 'utf8');
    } catch (e) {
      throw new Error(`folder manifest ${digest} is missing from the cache: ${(e as Error).message}`);
    }
    return parseManifest(text, `folder manifest ${digest}`);
  }

  /**
   * Moves the object out of `objects/` into `quarantine/` (kept for a post
   * mortem; `pipe gc` does not touch it). Resolves to its new path, or
   * undefined if it was not there.
   */
  async quarantine(digest: Digest): Promise<string | undefined> {
    const hex = digestHex(digest);
    this.stamps.forget(hex);
    await mkdir(this.paths.quarantine, { recursive: true });
    const dest = join(this.paths.quarantine, `${hex}.${process.pid}.${randomBytes(4).toString('hex')}`);
    try {
      await rename(this.filePath(digest), dest);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    return dest;
  }

  /** Moves any file out of `objects/` (one not named as an object) into `quarantine/`; resolves to its new path. */
  async quarantinePath(path: string): Promise<string> {
    await mkdir(this.paths.quarantine, { recursive: true });
    const dest = join(this.paths.quarantine, `stray.${process.pid}.${randomBytes(4).toString('hex')}`);
    await rename(path, dest);
    return dest;
  }

  /** Writes the stamps recorded by {@link checkObject} calls (the other methods flush their own). */
  flushStamps(): void {
    this.stamps.flush();
  }

  /** Every file in `objects/` (sorted by name), with the digest its name spells. */
  objects(): AsyncGenerator<ObjectEntry> {
    return listObjects(this.paths.objects);
  }

  /**
   * A read-only path where the artifact can be read, after {@link check}ing
   * it: a file's object itself, or for a folder `<root>/views/<hex>/` (hard
   * links to the objects; see materialize.ts). Rejects with a
   * {@link CacheObjectError} when the artifact fails its check.
   */
  async view(ref: StoredRef): Promise<string> {
    const problem = await this.check(ref);
    if (problem) throw new CacheObjectError(problem);
    if (ref.kind === 'file') return this.filePath(ref.digest);
    try {
      return await viewArtifact(this, ref);
    } finally {
      this.stamps.flush();
    }
  }

  /**
   * Writes the artifact to the workspace path `dest` as normal writable files
   * after {@link check}ing it (see materialize.ts). Rejects with a
   * {@link CacheObjectError} when the artifact fails its check, leaving `dest`
   * as it was.
   */
  async restore(ref: StoredRef, dest: string): Promise<void> {
    const problem = await this.check(ref);
    if (problem) throw new CacheObjectError(problem);
    await restoreArtifact(this, ref, dest);
  }

  /** Deletes every folder view (they are rebuilt on demand). */
  async dropViews(): Promise<void> {
    await rm(this.paths.views, { recursive: true, force: true });
  }

  /** Re-stamps an object just verified whose ctime changed (a hard link was made to it). */
  restamp(digest: Digest): void {
    const st = statSync(this.filePath(digest), { throwIfNoEntry: false });
    if (st?.isFile()) this.stamps.record(digestHex(digest), st, { by: 'write' });
  }

  /** A fresh path in `tmp/` (which is created): `<pid>.<rand>.<what>`. */
  async tempPath(what: string): Promise<string> {
    await mkdir(this.paths.tmp, { recursive: true });
    return join(this.paths.tmp, `${process.pid}.${randomBytes(8).toString('hex')}.${what}`);
  }

  /**
   * Removes what dead processes left in `tmp/` (names start with their pid)
   * and their half-written run records and stamps logs. Call it at the start of a run, under
   * the run lock. Resolves to the number of entries removed.
   */
  async cleanStaleTemps(): Promise<number> {
    // Atomic writes killed half way: run records, and the stamps log being compacted.
    let removed = (await removeDeadTemps(this.paths.runs)) + (await removeDeadTemps(this.root));
    for (const name of await readdir(this.paths.tmp).catch(() => [] as string[])) {
      const pid = Number(name.split('.')[0]);
      if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) continue;
      await rm(join(this.paths.tmp, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  private isStamped(digest: Digest): boolean {
    const st = statSync(this.filePath(digest), { throwIfNoEntry: false });
    return st !== undefined && st.isFile() && this.stamps.matches(digestHex(digest), st);
  }

  /**
   * Renames a finished, fsynced temp object to its digest name, then fsyncs
   * its folder (or adds it to `unsynced`) and stamps it. An object already
   * there is kept only if its stamp vouches for it; otherwise (it may be
   * damaged) the new one replaces it.
   */
  private async install(tmp: string, digest: Digest, unsynced: Set<string> | undefined): Promise<void> {
    const dest = this.filePath(digest);
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
    this.restamp(digest);
  }
}
