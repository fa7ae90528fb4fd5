/**
 * The canonical description of a folder's content, shared by
 * {@link ObjectStore.putDir} and {@link FileState.hashPath} so both give a
 * folder the same digest.
 *
 * ```
 * {"files":[{"digest":"sha256:..","exec":false,"path":"a/b.txt","size":3},...],"kind":"pipe-dir-manifest"}
 * ```
 *
 * Files are listed by their POSIX path relative to the folder, sorted by UTF-16
 * code units. Only regular files are recorded: empty subfolders are not (as in
 * git), and an empty folder has `"files":[]`. Symlinks are followed (a link to a
 * file is recorded as that file's content, a link to a folder is walked); a
 * dangling link, a link cycle or a special file (socket, FIFO, device) is an
 * error naming the path.
 *
 * pipe's own temp names (`.<name>.<pid>.<12 hex>.tmp`, cache/atomic.ts: a file
 * or folder being written beside its target, or left there by a killed run
 * until the next run removes it) are not part of a folder: skipped, whoever
 * wrote them, so a `status` before that cleanup hashes the folder as it was.
 */
import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { sep } from 'node:path';
import { tempNamePid } from './atomic.js';
import { canonicalJson, hashBytes, isDigest, type Digest } from './digest.js';

/** One file of a folder manifest. */
export interface ManifestFile {
  /** Relative POSIX path inside the folder (no leading `./`). */
  readonly path: string;
  readonly digest: Digest;
  /** Bytes. */
  readonly size: number;
  /** Whether any execute bit was set. */
  readonly exec: boolean;
}

/** A folder's content: its files sorted by path. */
export interface DirManifest {
  readonly kind: 'pipe-dir-manifest';
  readonly files: readonly ManifestFile[];
}

/**
 * A path that cannot be hashed or stored: it is missing, or not a regular
 * file or folder (a FIFO, a device, a socket, a dangling symlink, a symlink
 * loop or cycle). `what` says which, as a predicate ("is a FIFO (named
 * pipe)"); the message is `<path> <what>`.
 */
export class PathProblemError extends Error {
  constructor(readonly path: string, readonly what: string) {
    super(`${path} ${what}`);
    this.name = 'PathProblemError';
  }
}

/** What `abs` is, as a predicate, when it is not a regular file or folder (never opens it). */
export function describeOddPath(abs: string): string {
  const lst = lstatSync(abs, { throwIfNoEntry: false });
  if (lst === undefined) return 'does not exist';
  if (!lst.isSymbolicLink()) return `${kindOf(lst)}, not a regular file or folder`;
  let target = '?';
  try {
    target = readlinkSync(abs);
  } catch { /* keep '?' */ }
  let st: Stats | undefined;
  try {
    st = statSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return `is a symlink loop (-> ${target})`;
    if (code === 'ENOENT' || code === 'ENOTDIR') return `is a dangling symlink (-> ${target})`;
    return `is a symlink that cannot be followed (-> ${target}): ${code ?? (e as Error).message}`;
  }
  if (st.isFile() || st.isDirectory()) return `is a symlink (-> ${target})`;
  return `is a symlink to ${target}, which ${kindOf(st)}: not a regular file or folder`;
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'is a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'is a character device';
  if (st.isBlockDevice()) return 'is a block device';
  if (st.isSocket()) return 'is a socket';
  return 'is of an unknown type';
}

/** Code-unit order, the one manifests use (not locale order). */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Called by {@link walkDirSync} for each regular file, in manifest order. The
 * relative path is `prefix + name` (split so hot loops can avoid building it).
 * Return `false` to stop the walk.
 */
export type FileVisitor = (abs: string, prefix: string, name: string, stats: Stats) => boolean | void;

/**
 * Visits every regular file under the folder `root`, recursively and
 * synchronously (one readdir per folder, one stat per file), in manifest
 * order (relative paths sorted by code units), retaining nothing per file;
 * pipe's temp names are skipped (see the module comment).
 * Throws a {@link PathProblemError} naming the path for a dangling symlink, a
 * symlink loop or cycle, a special file, or when `root` is not a folder. Returns false if `visit` stopped it.
 *
 * Sorting each folder's entries by name, with `/` appended to subfolder
 * names, gives the global order: every path inside subfolder `d` starts with
 * `d/`, which compares against a sibling exactly as `d/` does.
 */
export function walkDirSync(root: string, visit: FileVisitor): boolean {
  let st: Stats | undefined;
  try {
    st = statSync(root);
  } catch {
    throw new PathProblemError(root, describeOddPath(root));
  }
  if (!st.isDirectory()) throw new PathProblemError(root, st.isFile() ? 'is a file, not a folder' : describeOddPath(root));
  return walk(root, '', visit);
}

function walk(dir: string, prefix: string, visit: FileVisitor): boolean {
  const keys: string[] = [];
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    if (tempNamePid(ent.name) !== undefined) continue;
    if (ent.isDirectory()) keys.push(ent.name + '/');
    else if (ent.isFile()) keys.push(ent.name);
    else {
      // Symlinks (and entries of unknown type): what they point to decides.
      const abs = dir + sep + ent.name;
      let st: Stats | undefined;
      try {
        st = statSync(abs);
      } catch {
        st = undefined;
      }
      if (st?.isFile()) keys.push(ent.name);
      else if (st?.isDirectory()) {
        if (ent.isSymbolicLink()) checkNoCycle(dir, abs);
        keys.push(ent.name + '/');
      } else throw new PathProblemError(abs, describeOddPath(abs));
    }
  }
  keys.sort();
  for (const key of keys) {
    if (key.endsWith('/')) {
      if (!walk(dir + sep + key.slice(0, -1), prefix + key, visit)) return false;
      continue;
    }
    const abs = dir + sep + key;
    const st = statSync(abs, { throwIfNoEntry: false });
    if (st === undefined || !st.isFile()) throw new PathProblemError(abs, `${describeOddPath(abs)} (it changed while being read)`);
    if (visit(abs, prefix, key, st) === false) return false;
  }
  return true;
}

/** A symlinked folder is a cycle when its target contains the folder holding the link. */
function checkNoCycle(dir: string, link: string): void {
  const target = realpathSync(link);
  const here = realpathSync(dir);
  if (here === target || here.startsWith(target + sep)) {
    throw new PathProblemError(link, `is a symlink cycle (-> ${target}, one of its parent folders)`);
  }
}

/** Whether a mode has any execute bit. */
export function isExec(mode: number): boolean {
  return (mode & 0o111) !== 0;
}

const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** One file's entry in the manifest bytes (`canonicalJson` of a {@link ManifestFile}). */
export function encodeManifestEntry(path: string, digest: Digest, size: number, exec: boolean): string {
  const p = NEEDS_ESCAPE.test(path) ? JSON.stringify(path) : `"${path}"`;
  return `{"digest":"${digest}","exec":${exec},"path":${p},"size":${size}}`;
}

/** Manifest bytes from already encoded, sorted entries. */
export function joinManifest(entries: readonly string[]): string {
  return `{"files":[${entries.join(',')}],"kind":"pipe-dir-manifest"}`;
}

/**
 * The canonical bytes of a manifest (exactly `canonicalJson(manifest)`, built
 * without the generic sorter because folders can hold many thousand files).
 * `files` must already be sorted by path.
 */
export function encodeManifest(files: readonly ManifestFile[]): string {
  return joinManifest(files.map((f) => encodeManifestEntry(f.path, f.digest, f.size, f.exec)));
}

/** The digest of a folder with these (sorted) files: the digest of its manifest bytes. */
export function manifestDigest(files: readonly ManifestFile[]): Digest {
  return hashBytes(encodeManifest(files));
}

/** Same as `canonicalJson`, for tests and callers that want the generic path. */
export function encodeManifestGeneric(files: readonly ManifestFile[]): string {
  return canonicalJson({ kind: 'pipe-dir-manifest', files });
}

/**
 * Parses and checks manifest bytes. Throws an Error starting with `where` if
 * they are not a well-formed manifest (wrong kind, bad entry, unsorted or
 * duplicate paths, unsafe paths such as `..` or absolute ones).
 */
export function parseManifest(text: string, where: string): DirManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new Error(`${where}: folder manifest is not JSON`);
  }
  const m = raw as { kind?: unknown; files?: unknown };
  if (m === null || typeof m !== 'object' || m.kind !== 'pipe-dir-manifest' || !Array.isArray(m.files)) {
    throw new Error(`${where}: not a folder manifest`);
  }
  let prev: string | undefined;
  for (const f of m.files as unknown[]) {
    const e = f as Partial<Record<keyof ManifestFile, unknown>> | null;
    if (
      e === null || typeof e !== 'object' ||
      typeof e.path !== 'string' || typeof e.digest !== 'string' || !isDigest(e.digest) ||
      typeof e.size !== 'number' || !Number.isSafeInteger(e.size) || e.size < 0 || typeof e.exec !== 'boolean'
    ) {
      throw new Error(`${where}: bad manifest entry ${JSON.stringify(f)}`);
    }
    if (!isSafeRelPath(e.path)) throw new Error(`${where}: unsafe path in manifest: ${JSON.stringify(e.path)}`);
    if (prev !== undefined && comparePaths(prev, e.path) >= 0) throw new Error(`${where}: manifest paths not sorted/unique at ${e.path}`);
    prev = e.path;
  }
  return m as DirManifest;
}

function isSafeRelPath(p: string): boolean {
  if (p === '' || p.startsWith('/') || p.includes('\0')) return false;
  return p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}
