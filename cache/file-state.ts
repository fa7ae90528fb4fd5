/**
 * The file-hash state: for each path hashed (a dep file or folder), the
 * (size, mtime, inode, ctime) and digest of every file in it, so unchanged
 * files are not re-read on every run.
 *
 * Warm path (nothing changed): one `readdir` per subfolder and one `stat` per
 * file, compared in manifest order against the remembered tree; when all
 * match, the remembered folder digest is returned without building or
 * hashing the manifest. Otherwise the tree is walked again and only files
 * whose stat differs are read.
 *
 * Racy files (the racy-git rule): a file whose mtime or ctime is not clearly
 * older than the moment we started reading it could be rewritten within the
 * same timestamp tick without its stat changing, so its digest is recorded
 * but not trusted: it is re-hashed next time, until it is old enough. "Clearly
 * older" means by 50 ms on filesystems with sub-millisecond timestamps (Linux
 * stamps files from a clock that lags by up to one scheduler tick) and by 2 s
 * on coarse ones (FAT, HFS+, some network filesystems).
 *
 * The state file (see `file-state-codec.ts`) is written atomically, only when
 * something changed. A tree not hashed in the last {@link KEEP_SAVES} saves
 * is forgotten.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { hashBytes, hashFileSync, type Digest } from './digest.js';
import { describeOddPath, encodeManifestEntry, isExec, joinManifest, PathProblemError, walkDirSync } from './dir-manifest.js';
import { decodeState, encodeState, EXEC, NUMS, TRUSTED, type TreeRecord } from './file-state-codec.js';
import type { ObjectKind } from './store.js';

/** Trees not hashed for this many saves are forgotten. */
export const KEEP_SAVES = 20;

/** The digest of a workspace path, as {@link FileState.hashPath} returns it. */
export interface HashedPath {
  readonly digest: Digest;
  readonly kind: ObjectKind;
  /** Bytes of the file, or total bytes of the folder's files. */
  readonly size: number;
}

/** Knobs for tests. */
export interface FileStateOptions {
  /** Wall clock in ms (default `Date.now`), used by the racy-file rule. */
  readonly now?: () => number;
}

/** Counters of the work done since load (for benchmarks and tests). */
export interface FileStateCounters {
  /** Files whose content was read and hashed. */
  hashed: number;
  /** Files whose digest was taken from the state. */
  reused: number;
}

/** The file-hash state of one project. Load it, hash paths, save it. */
export class FileState {
  /** Work done since load. */
  readonly counters: FileStateCounters = { hashed: 0, reused: 0 };
  private dirty = false;

  private constructor(
    private readonly statePath: string,
    private readonly trees: Map<string, TreeRecord>,
    private readonly gen: number,
    private readonly now: () => number,
  ) {}

  /**
   * Loads the state file. A missing, unreadable or corrupt file gives an empty
   * state (everything is hashed again); this never throws for bad content.
   */
  static async load(statePath: string, options: FileStateOptions = {}): Promise<FileState> {
    const now = options.now ?? Date.now;
    try {
      const { gen, trees } = decodeState(readFileSync(statePath));
      return new FileState(statePath, new Map(trees.map((t) => [t.path, t])), gen + 1, now);
    } catch {
      return new FileState(statePath, new Map(), 1, now);
    }
  }

  /** Number of files the state remembers (over all trees). */
  get size(): number {
    let n = 0;
    for (const t of this.trees.values()) n += t.count;
    return n;
  }

  /**
   * The digest of a file (its content) or a folder (its manifest: the same
   * digest `ObjectStore.putDir` gives it; symlinks followed, empty subfolders
   * ignored). Rejects with an Error naming the path when it is unreadable,
   * and a `PathProblemError` when it (or something in it) is missing or not
   * a regular file or folder (a FIFO, a device, a dangling symlink, a loop).
   */
  async hashPath(absPath: string): Promise<HashedPath> {
    return this.hashPathSync(absPath);
  }

  /** Synchronous {@link hashPath}. Throws instead of rejecting. */
  hashPathSync(absPath: string): HashedPath {
    const path = resolve(absPath);
    let st: Stats | undefined;
    try {
      st = statSync(path);
    } catch {
      st = undefined;
    }
    const kind: ObjectKind | undefined = st?.isFile() ? 'file' : st?.isDirectory() ? 'dir' : undefined;
    if (st === undefined || kind === undefined) throw new PathProblemError(path, describeOddPath(path));
    const old = this.trees.get(path);
    if (old !== undefined && old.kind === kind && (kind === 'file' ? sameFile(old, 0, st) : this.unchangedDir(path, old))) {
      old.gen = this.gen;
      this.counters.reused += old.count;
      return { digest: old.digest, kind, size: old.size };
    }
    const tree = new TreeBuilder(path, kind, old?.kind === kind ? old : undefined, this);
    if (kind === 'file') tree.add(path, '', st);
    else walkDirSync(path, (abs, prefix, name, fst) => void tree.add(abs, prefix + name, fst));
    const rec = tree.finish(this.gen);
    this.trees.set(path, rec);
    this.dirty = true;
    return { digest: rec.digest, kind, size: rec.size };
  }

  /**
   * Writes the state atomically if anything changed since load or the last
   * save. A failure to write it (disk full, read-only folder) is not an error,
   * since the state only saves re-hashing: it resolves to that error, the old
   * file left as it was.
   */
  async save(): Promise<Error | undefined> {
    if (!this.dirty) return undefined;
    for (const [path, t] of this.trees) if (this.gen - t.gen > KEEP_SAVES) this.trees.delete(path);
    try {
      await writeFileAtomic(this.statePath, encodeState(this.gen, [...this.trees.values()]));
    } catch (e) {
      return e instanceof Error ? e : new Error(String(e));
    }
    this.dirty = false;
    return undefined;
  }

  /** Reads and hashes one file, applying the racy rule. */
  hashFile(path: string, st: Stats): { hex: string; size: number; trusted: boolean } {
    const started = this.now();
    let hashed: { digest: Digest; size: number };
    try {
      hashed = hashFileSync(path);
    } catch (err) {
      throw new Error(`cannot read ${path}: ${(err as Error).message}`);
    }
    this.counters.hashed++;
    const margin = Number.isInteger(st.mtimeMs) ? 2000 : 50;
    // A size that differs from the stat means the file changed while being read.
    const trusted = hashed.size === st.size && Math.max(st.mtimeMs, st.ctimeMs) < started - margin;
    return { hex: hashed.digest.slice(7), size: hashed.size, trusted };
  }

  /** Walks the folder comparing each file, in order, with the remembered tree; stops at the first difference. */
  private unchangedDir(root: string, old: TreeRecord): boolean {
    const rels = old.rels;
    let i = 0;
    let pos = 0;
    const complete = walkDirSync(root, (_abs, prefix, name, st) => {
      if (i >= old.count || !rels.startsWith(prefix, pos) || !rels.startsWith(name, pos + prefix.length)) return false;
      const end = pos + prefix.length + name.length;
      if (rels.charCodeAt(end) !== 0 || !sameFile(old, i, st)) return false;
      pos = end + 1;
      i++;
      return true;
    });
    return complete && i === old.count;
  }
}

/** Whether file `i` of a tree is trusted and its stat (and exec bit) is unchanged. */
function sameFile(t: TreeRecord, i: number, st: Stats): boolean {
  const n = t.nums;
  const o = i * NUMS;
  return (
    n[o + 4] === (TRUSTED | (isExec(st.mode) ? EXEC : 0)) && n[o] === st.size && n[o + 1] === st.mtimeMs &&
    n[o + 2] === st.ino && n[o + 3] === st.ctimeMs
  );
}

/** Accumulates a new tree record, reusing digests of unchanged files from the old one. */
class TreeBuilder {
  private readonly nums: number[] = [];
  private readonly hexes: string[] = [];
  private readonly rels: string[] = [];
  private readonly entries: string[] = [];
  private size = 0;
  private readonly oldIndex = new Map<string, number>();

  constructor(
    private readonly path: string,
    private readonly kind: ObjectKind,
    private readonly old: TreeRecord | undefined,
    private readonly state: FileState,
  ) {
    if (old !== undefined) {
      const rels = old.rels.split('\0');
      for (let i = 0; i < old.count; i++) this.oldIndex.set(rels[i]!, i);
    }
  }

  add(abs: string, rel: string, st: Stats): void {
    const exec = isExec(st.mode);
    const i = this.oldIndex.get(rel);
    let hex: string;
    let size: number;
    let trusted: boolean;
    if (i !== undefined && sameFile(this.old!, i, st)) {
      hex = this.old!.digests.toString('hex', i * 32, i * 32 + 32);
      size = st.size;
      trusted = true;
      this.state.counters.reused++;
    } else {
      ({ hex, size, trusted } = this.state.hashFile(abs, st));
    }
    this.nums.push(st.size, st.mtimeMs, st.ino, st.ctimeMs, (trusted ? TRUSTED : 0) | (exec ? EXEC : 0));
    this.hexes.push(hex);
    this.rels.push(rel);
    this.entries.push(encodeManifestEntry(rel, `sha256:${hex}` as Digest, size, exec));
    this.size += size;
  }

  finish(gen: number): TreeRecord {
    const digest = this.kind === 'file' ? (`sha256:${this.hexes[0]!}` as Digest) : hashBytes(joinManifest(this.entries));
    return {
      path: this.path, kind: this.kind, digest, size: this.size, gen, count: this.hexes.length,
      nums: Float64Array.from(this.nums),
      digests: Buffer.from(this.hexes.join(''), 'hex'),
      rels: this.rels.map((r) => r + '\0').join(''),
    };
  }
}
