/**
 * The content-addressed object store: immutable, read-only files named by
 * their sha256, under `<root>/objects/<2 hex>/<62 hex>` (folders: see
 * cache-layout.ts).
 *
 * A folder is stored as one object per file plus a manifest object (see
 * `dir-manifest.ts`); its digest is the manifest's. Every object is written to
 * `tmp/`, fsynced and renamed to its name, so a crash never leaves a half
 * object under a final name (object-writer.ts). Symlinks inside stored folders
 * are followed (see `walkDirSync`).
 *
 * Nothing leaves the store unverified: {@link ObjectStore.check} (and so
 * `view` and `restore`, see materialize.ts) hashes every object it vouches
 * for, unless its verification stamp (stamps.ts) shows it untouched since it
 * was last hashed or written. An object that does not hash to its name can be
 * moved to `quarantine/`.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isAlive, removeDeadTemps } from './atomic.js';
import { cachePaths, type CachePaths } from './cache-layout.js';
import { digestHex, hashFile, type Digest } from './digest.js';
import { parseManifest, type DirManifest } from './dir-manifest.js';
import { restoreArtifact, viewArtifact } from './materialize.js';
import { CacheObjectError, type ObjectEntry, type ObjectProblem, type StoredRef } from './object-problem.js';
import { listObjects, sameStat, walkArtifact } from './object-walk.js';
import { ObjectWriter, type Mismatch } from './object-writer.js';
import { StampLog } from './stamps.js';

export { CacheObjectError, describeProblem, type ObjectEntry, type ObjectKind, type ObjectProblem, type StoredRef } from './object-problem.js';

/** The object store rooted at a cache folder (the engine uses `<project>/.pipe/cache`). */
export class ObjectStore {
  /** The cache root folder. */
  readonly root: string;
  /** Its folders. */
  readonly paths: CachePaths;
  private readonly stamps: StampLog;
  private readonly writer: ObjectWriter;
  /** Objects whose content was read to check it (not vouched for by a stamp), since construction. */
  readonly counters = { hashed: 0 };

  constructor(root: string) {
    this.root = root;
    this.paths = cachePaths(root);
    this.stamps = new StampLog(this.paths.stamps);
    this.writer = new ObjectWriter(this, this.stamps);
  }

  /** Where the object with this digest lives (it may not exist). Read-only: never write to it. */
  filePath(digest: Digest): string {
    const hex = digestHex(digest);
    return join(this.paths.objects, hex.slice(0, 2), hex.slice(2));
  }

  /** Stores a regular file (symlinks followed), reading it once. Rejects naming the path if it is not a file. */
  putFile(path: string): Promise<StoredRef> {
    return this.writer.putFile(path);
  }

  /** Stores bytes (a string as UTF-8) as a file object. */
  putBytes(data: Uint8Array | string): Promise<StoredRef> {
    return this.writer.putBytes(data);
  }

  /** See {@link ObjectWriter.putStream}: one pass from a stream into the store, checked against `expect`. */
  putStream(source: AsyncIterable<Uint8Array>, expect?: Digest): Promise<StoredRef | Mismatch> {
    return this.writer.putStream(source, expect);
  }

  /**
   * Stores a folder: every regular file under it (recursively, symlinks
   * followed; empty subfolders are not recorded) and its manifest.
   */
  putDir(path: string): Promise<StoredRef> {
    return this.writer.putDir(path);
  }

  /**
   * {@link putFile} or {@link putDir}, by what `path` is. Rejects with a
   * `PathProblemError` if it (or something in it) is missing or not a regular
   * file or folder; other errors (no space left: ENOSPC) name what could not
   * be read or written.
   */
  putPath(path: string): Promise<StoredRef> {
    return this.writer.putPath(path);
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
}
