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
 */
import { readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
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

/** A regular file found by {@link walkDirSync}. */
export interface WalkedFile {
  /** Relative POSIX path. */
  readonly rel: string;
  /** Absolute (or root-joined) path. */
  readonly abs: string;
  /** `stat` (symlinks followed) of the file. */
  readonly stats: Stats;
}

/** Code-unit order, the one manifests use (not locale order). */
export function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Lists every regular file under `root`, recursively and synchronously (one
 * readdir per folder, one stat per file), sorted by relative path. Throws an
 * Error naming the path for a dangling symlink, a symlink cycle or a special file.
 */
export function walkDirSync(root: string): WalkedFile[] {
  const out: WalkedFile[] = [];
  if (!statSync(root).isDirectory()) throw new Error(`not a folder: ${root}`);
  walk(root, '', out);
  out.sort((a, b) => comparePaths(a.rel, b.rel));
  return out;
}

function walk(dir: string, prefix: string, out: WalkedFile[]): void {
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    const abs = join(dir, ent.name);
    const rel = prefix + ent.name;
    if (ent.isDirectory()) {
      walk(abs, rel + '/', out);
      continue;
    }
    let stats: Stats;
    try {
      stats = statSync(abs);
    } catch (e) {
      if (ent.isSymbolicLink()) throw new Error(`dangling symlink: ${abs}`);
      throw e;
    }
    if (stats.isFile()) {
      out.push({ rel, abs, stats });
    } else if (stats.isDirectory()) {
      // Only a symlink can lead back up: it is a cycle when its target contains it.
      if (ent.isSymbolicLink()) {
        const target = realpathSync(abs);
        const here = realpathSync(dir);
        if (here === target || here.startsWith(target + sep)) {
          throw new Error(`symlink cycle: ${abs} points to one of its parent folders`);
        }
      }
      walk(abs, rel + '/', out);
    } else {
      throw new Error(`not a regular file or folder: ${abs}`);
    }
  }
}

/** Whether a mode has any execute bit. */
export function isExec(mode: number): boolean {
  return (mode & 0o111) !== 0;
}

/**
 * The canonical bytes of a manifest (exactly `canonicalJson(manifest)`, built
 * without the generic sorter because folders can hold many thousand files).
 * `files` must already be sorted by path.
 */
export function encodeManifest(files: readonly ManifestFile[]): string {
  const parts: string[] = new Array<string>(files.length);
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    parts[i] = `{"digest":"${f.digest}","exec":${f.exec},"path":${JSON.stringify(f.path)},"size":${f.size}}`;
  }
  return `{"files":[${parts.join(',')}],"kind":"pipe-dir-manifest"}`;
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
