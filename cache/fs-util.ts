/** Small filesystem helpers shared by the cache modules. */
import { lstatSync, statSync } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncDir } from './atomic.js';
import type { Digest } from './digest.js';
import type { ManifestFile } from './dir-manifest.js';

/** Concurrent file operations when storing, materialising or restoring folders. */
export const PARALLEL = 8;

/**
 * Builds the folder `dir` holding `files`, placing each one from its object
 * (found with `objectPath`) with `place`, then fsyncs the folders. Rejects,
 * naming the file, when an object is missing or has the wrong size.
 */
export async function buildTree(
  files: readonly ManifestFile[],
  dir: string,
  objectPath: (digest: Digest) => string,
  place: (obj: string, dest: string, file: ManifestFile) => Promise<void>,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const made = new Set<string>([dir]);
  for (const f of files) {
    const parent = dirname(join(dir, f.path));
    if (!made.has(parent)) {
      await mkdir(parent, { recursive: true });
      made.add(parent);
    }
  }
  await mapLimit(files, PARALLEL, async (f) => {
    const obj = objectPath(f.digest);
    if (objectSize(obj) !== f.size) throw new Error(`cache object ${f.digest} (${f.path}) is missing or damaged`);
    await place(obj, join(dir, f.path), f);
  });
  for (const d of made) await fsyncDir(d);
}

/** Size of a regular file, or undefined when it is missing or not a file. */
export function objectSize(path: string): number | undefined {
  const st = statSync(path, { throwIfNoEntry: false });
  return st?.isFile() ? st.size : undefined;
}

/** Whether `path` is a folder (symlinks followed). */
export function isDir(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** A real folder (not a symlink to one), which a rename can't replace with a file. */
export function isRealDir(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** Whether anything (even a dangling symlink) exists at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

/** Runs `fn` over `items` with at most `limit` in flight; rejects with the first failure. */
export async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
