/**
 * The content-addressed object store: immutable, read-only files named by
 * their sha256, under `<root>/objects/<2 hex>/<62 hex>`.
 *
 * ```
 * <root>/objects/ab/cdef...   file content or a folder manifest (mode 0444)
 * <root>/tmp/                 objects being written (renamed into objects/)
 * <root>/views/<hex>/         a folder artifact materialised for reading
 * ```
 *
 * A folder is stored as one object per file plus a manifest object (see
 * `dir-manifest.ts`); its digest is the manifest's. Every object is written to
 * `tmp/`, fsynced and renamed to its name, so a crash never leaves a half
 * object under a final name; an object already present is not rewritten.
 * Symlinks inside stored folders are followed (see {@link walkDirSync}).
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, copyFile, link, mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fsyncDir, fsyncFile, tempPathFor } from './atomic.js';
import { buildTree, isDir, isRealDir, mapLimit, objectSize, PARALLEL, pathExists } from './fs-util.js';
import { digestHex, hashBytes, hashFile, type Digest } from './digest.js';
import { encodeManifest, isExec, parseManifest, walkDirSync, type DirManifest, type ManifestFile } from './dir-manifest.js';

/** What an artifact is: one file, or a folder (stored as a manifest). */
export type ObjectKind = 'file' | 'dir';

/** A stored artifact. `size` is the file's bytes, or the total bytes of a folder's files. */
export interface StoredRef {
  readonly digest: Digest;
  readonly kind: ObjectKind;
  readonly size: number;
}

/** Files up to this size are read in one go (hashed, then written only if new). */
const SMALL_FILE = 8 << 20;
const CHUNK = 1 << 20;

/** The object store rooted at a cache folder (the engine uses `<project>/.pipe/cache`). */
export class ObjectStore {
  /** The cache root folder. */
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** Where the object with this digest lives (it may not exist). Read-only: never write to it. */
  filePath(digest: Digest): string {
    const hex = digestHex(digest);
    return join(this.root, 'objects', hex.slice(0, 2), hex.slice(2));
  }

  /** Stores a regular file (symlinks followed), reading it once. Rejects naming the path if it is not a file. */
  async putFile(path: string): Promise<StoredRef> {
    return this.storeFile(path, undefined);
  }

  /**
   * {@link putFile}; with `unsynced`, the folders whose new entries still need
   * an fsync are collected there instead of synced one rename at a time.
   */
  private async storeFile(path: string, unsynced: Set<string> | undefined): Promise<StoredRef> {
    const st = await stat(path);
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
    await this.install(tmp, digest, size, unsynced);
    return { digest, kind: 'file', size };
  }

  /** Stores bytes (a string as UTF-8) as a file object. */
  async putBytes(data: Uint8Array | string): Promise<StoredRef> {
    return this.storeBytes(data, undefined);
  }

  private async storeBytes(data: Uint8Array | string, unsynced: Set<string> | undefined): Promise<StoredRef> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const digest = hashBytes(bytes);
    const ref: StoredRef = { digest, kind: 'file', size: bytes.byteLength };
    if (objectSize(this.filePath(digest)) === bytes.byteLength) return ref;
    const tmp = await this.writeTempObject((out) => out.writeFile(bytes));
    await this.install(tmp, digest, bytes.byteLength, unsynced);
    return ref;
  }

  /**
   * Creates a read-only temp object, lets `fill` write it, fsyncs it and
   * returns its path; on any error the temp file is removed.
   */
  private async writeTempObject(fill: (out: FileHandle) => Promise<void>): Promise<string> {
    const tmp = await this.tempObjectPath();
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
      throw e;
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
    await mapLimit(walked, PARALLEL, async (w, i) => {
      const ref = await this.storeFile(w.abs, unsynced);
      files[i] = { path: w.rel, digest: ref.digest, size: ref.size, exec: w.exec };
      total += ref.size;
    });
    for (const d of unsynced) await fsyncDir(d);
    const manifest = await this.putBytes(encodeManifest(files));
    return { digest: manifest.digest, kind: 'dir', size: total };
  }

  /** {@link putFile} or {@link putDir}, by what `path` is. Rejects naming the path if it is missing. */
  async putPath(path: string): Promise<StoredRef> {
    const st = await stat(path);
    if (st.isDirectory()) return this.putDir(path);
    if (st.isFile()) return this.putFile(path);
    throw new Error(`not a regular file or folder: ${path}`);
  }

  /**
   * Whether the artifact is present: the object (for a folder: its manifest
   * and every file object) exists with the right size. Stats only, plus
   * reading a folder's manifest; content is not re-hashed (see {@link verify}).
   */
  async has(ref: StoredRef): Promise<boolean> {
    return this.everyObject(ref, async (digest, size) => {
      const s = objectSize(this.filePath(digest));
      return s !== undefined && (size === undefined || s === size);
    });
  }

  /** Re-hashes the artifact's objects: false if any is missing, resized or corrupt. */
  async verify(ref: StoredRef): Promise<boolean> {
    return this.everyObject(ref, async (digest, size) => {
      const p = this.filePath(digest);
      const s = objectSize(p);
      if (s === undefined || (size !== undefined && s !== size)) return false;
      return (await hashFile(p)) === digest;
    });
  }

  /**
   * Applies `check` to the artifact's objects (a folder: its manifest, whose
   * size is not known, then each file) and checks a folder's total size.
   */
  private async everyObject(ref: StoredRef, check: (digest: Digest, size: number | undefined) => Promise<boolean>): Promise<boolean> {
    if (ref.kind === 'file') return check(ref.digest, ref.size);
    if (!(await check(ref.digest, undefined))) return false;
    let manifest: DirManifest;
    try {
      manifest = await this.readManifest(ref.digest);
    } catch {
      return false;
    }
    let total = 0;
    for (const f of manifest.files) {
      if (!(await check(f.digest, f.size))) return false;
      total += f.size;
    }
    return total === ref.size;
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
   * A read-only path where the artifact can be read: a file's object itself,
   * or for a folder `<root>/views/<hex>/`, built once (hard links to the
   * objects, copies where linking fails), renamed into place when complete
   * and reused afterwards. Its files are read-only; its folders are not, so
   * the cache can be deleted with a plain `rm -r`.
   */
  async view(ref: StoredRef): Promise<string> {
    if (ref.kind === 'file') return this.filePath(ref.digest);
    const final = join(this.root, 'views', digestHex(ref.digest));
    if (isDir(final)) return final;
    const manifest = await this.readManifest(ref.digest);
    const tmp = tempPathFor(final);
    try {
      await buildTree(manifest.files, tmp, (d) => this.filePath(d), async (obj, dest) => {
        try {
          await link(obj, dest);
        } catch {
          await copyFile(obj, dest, constants.COPYFILE_FICLONE);
          await chmod(dest, 0o444);
        }
      });
      try {
        await rename(tmp, final);
      } catch (e) {
        // Another process finished the same view first: use theirs.
        if (!isDir(final)) throw e;
        await rm(tmp, { recursive: true, force: true });
      }
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    return final;
  }

  /**
   * Writes the artifact to the workspace path `dest` as normal writable files
   * (copies, cloned where the filesystem can; mode 0644, or 0755 for a file
   * recorded as executable). A file goes through a temp file and a rename. A
   * folder is built in a temp folder beside `dest`, then swapped in: `dest` is
   * renamed aside, the new folder renamed to `dest`, the old one removed (a
   * crash between the two renames leaves the old content in a
   * `.<name>.<pid>.<rand>.tmp` folder beside `dest`).
   */
  async restore(ref: StoredRef, dest: string): Promise<void> {
    const parent = dirname(dest);
    await mkdir(parent, { recursive: true });
    if (ref.kind === 'file') {
      const tmp = tempPathFor(dest);
      try {
        await copyFile(this.filePath(ref.digest), tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
        await chmod(tmp, 0o644);
        await fsyncFile(tmp);
        if (isRealDir(dest)) await rm(dest, { recursive: true, force: true });
        await rename(tmp, dest);
      } catch (e) {
        await unlink(tmp).catch(() => undefined);
        throw e;
      }
      await fsyncDir(parent);
      return;
    }
    const manifest = await this.readManifest(ref.digest);
    const tmp = tempPathFor(dest);
    let old: string | undefined;
    try {
      await buildTree(manifest.files, tmp, (d) => this.filePath(d), async (obj, target, f) => {
        await copyFile(obj, target, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
        await chmod(target, f.exec ? 0o755 : 0o644);
        await fsyncFile(target);
      });
      if (await pathExists(dest)) {
        old = tempPathFor(dest);
        await rename(dest, old);
      }
      await rename(tmp, dest);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      if (old !== undefined && !(await pathExists(dest))) await rename(old, dest).catch(() => undefined);
      throw e;
    }
    await fsyncDir(parent);
    if (old !== undefined) await rm(old, { recursive: true, force: true });
  }

  private async tempObjectPath(): Promise<string> {
    const dir = join(this.root, 'tmp');
    await mkdir(dir, { recursive: true });
    return join(dir, `${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
  }

  /**
   * Renames a finished, fsynced temp object to its digest name (or drops it if
   * already there), then fsyncs its folder, or adds the folder to `unsynced`.
   */
  private async install(tmp: string, digest: Digest, size: number, unsynced: Set<string> | undefined): Promise<void> {
    const dest = this.filePath(digest);
    if (objectSize(dest) === size) {
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
  }
}
