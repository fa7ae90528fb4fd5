/**
 * Crash-safe file writes: write a uniquely named temp file beside the target,
 * fsync it, rename it over the target, fsync the folder. A crash at any moment
 * leaves the old file or the new one under the target name, never half of one
 * (at worst a stray `.<name>.<pid>.<rand>.tmp` beside it, which
 * {@link removeDeadTemps} removes once its process is gone).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A fresh temp path in the same folder as `path` (so rename is atomic). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

const TEMP_NAME = /^\.(.+)\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/** The pid in a {@link tempPathFor} file name, or undefined if `name` is not one. */
export function tempNamePid(name: string): number | undefined {
  const m = TEMP_NAME.exec(name);
  return m ? Number(m[2]) : undefined;
}

/** Whether the process `pid` is alive (this one always is). */
export function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the {@link tempPathFor} files in `dir` (not recursively) left by
 * processes that are gone, e.g. by a run killed mid-write; with `of`, only
 * those of targets it accepts (by name); with `minAgeMs`, only those left
 * unmodified that long (in a folder shared between hosts, a process not alive
 * here may be another host's writer, which keeps its temp file fresh).
 * Resolves to how many were removed.
 */
export async function removeDeadTemps(
  dir: string,
  of: (target: string) => boolean = () => true,
  { minAgeMs = 0 }: { readonly minAgeMs?: number } = {},
): Promise<number> {
  let n = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = tempNamePid(name);
    if (pid === undefined || isAlive(pid) || !of(TEMP_NAME.exec(name)![1]!)) continue;
    if (minAgeMs > 0) {
      const st = await lstat(join(dir, name)).catch(() => undefined);
      if (st === undefined || Date.now() - st.mtimeMs < minAgeMs) continue;
    }
    await rm(join(dir, name), { recursive: true, force: true });
    n++;
  }
  return n;
}

/**
 * fsyncs a folder so a rename inside it is durable. Ignored where the platform
 * can't open or sync folders (EISDIR/EPERM/EINVAL on some systems).
 */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw e;
  } finally {
    await fh?.close();
  }
}

/** fsyncs a file's data and metadata. */
export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `data` (a string is UTF-8) to `path` atomically, creating missing
 * parent folders. The file gets mode 0o644 (minus umask). On failure the temp
 * file is removed and the old target is untouched; the error names `path`
 * when it names no file of its own (ENOSPC while writing).
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPathFor(path);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw withPath(e, path);
  }
  await fsyncDir(dirname(path));
}

/** `e`, naming `path` as the file it concerns if it names none (errors of file handles carry no path). */
export function withPath(e: unknown, path: string): unknown {
  if (e instanceof Error && (e as NodeJS.ErrnoException).path === undefined) (e as NodeJS.ErrnoException).path = path;
  return e;
}

/**
 * Copies `src` to `dest` atomically (copy-on-write clone where the filesystem
 * supports it), creating missing parent folders. The copy keeps `src`'s mode
 * unless `mode` is given.
 */
export async function copyFileAtomic(src: string, dest: string, mode?: number): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  const tmp = tempPathFor(dest);
  try {
    await copyFile(src, tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
    if (mode !== undefined) await chmod(tmp, mode);
    await fsyncFile(tmp);
    await rename(tmp, dest);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fsyncDir(dirname(dest));
}
