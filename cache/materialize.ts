/**
 * Getting artifacts out of the store (already checked by the caller, see
 * `ObjectStore.view` and `ObjectStore.restore`):
 *
 * - a view: a read-only folder `views/<hex>/` of hard links to a folder
 *   artifact's objects, for stages to read. An existing view is reused only if
 *   it still holds exactly the manifest's files, each the object itself (same
 *   inode); otherwise it is rebuilt.
 * - a restore: writable copies at a workspace path.
 *
 * Everything is built under the cache's `tmp/` and renamed into place, so a
 * crash leaves debris only there (cleaned by `cleanStaleTemps`), never beside
 * a workspace output where a folder dep would hash it. Only when the
 * workspace is on another filesystem than the cache is the temp built beside
 * the destination (`.<name>.<pid>.<rand>.tmp`).
 */
import { constants, statSync } from 'node:fs';
import { chmod, copyFile, link, mkdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncDir, fsyncFile, tempPathFor } from './atomic.js';
import { digestHex } from './digest.js';
import { walkDirSync } from './dir-manifest.js';
import { buildTree, isDir, isRealDir, pathExists } from './fs-util.js';
import type { ObjectStore, StoredRef } from './store.js';

/** `views/<hex>/` for the folder artifact `ref`, built (or rebuilt) as needed. */
export async function viewArtifact(store: ObjectStore, ref: StoredRef): Promise<string> {
  const final = join(store.paths.views, digestHex(ref.digest));
  const manifest = await store.readManifest(ref.digest);
  if (isDir(final)) {
    if (viewIsIntact(store, final, manifest.files)) return final;
    const aside = await store.tempPath('bad-view');
    await rename(final, aside).catch(() => undefined);
    await rm(aside, { recursive: true, force: true });
  }
  await mkdir(store.paths.views, { recursive: true });
  const tmp = await store.tempPath('view');
  try {
    await buildTree(manifest.files, tmp, (d) => store.filePath(d), async (obj, dest) => {
      try {
        await link(obj, dest);
      } catch {
        await copyFile(obj, dest, constants.COPYFILE_FICLONE);
        await chmod(dest, 0o444);
      }
    });
    // Linking changed the objects' ctime: their content is the one just checked.
    for (const f of manifest.files) store.restamp(f.digest);
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

/** Whether `dir` holds exactly `files`, each a hard link to its object (copies, extra or edited files fail). */
function viewIsIntact(store: ObjectStore, dir: string, files: readonly { path: string; digest: StoredRef['digest'] }[]): boolean {
  let i = 0;
  try {
    const complete = walkDirSync(dir, (_abs, prefix, name, st) => {
      const f = files[i++];
      if (f === undefined || f.path !== prefix + name) return false;
      const obj = statSync(store.filePath(f.digest), { throwIfNoEntry: false });
      return obj !== undefined && obj.ino === st.ino && obj.dev === st.dev;
    });
    return complete && i === files.length;
  } catch {
    return false;
  }
}

/**
 * Writes the artifact to the workspace path `dest` as normal writable files
 * (copies, cloned where the filesystem can; mode 0644, or 0755 for a file
 * recorded as executable). The new file or folder is built in the cache's
 * `tmp/`, then swapped in: an old `dest` is renamed aside (into `tmp/`), the
 * new one renamed to `dest`, the old one removed.
 */
export async function restoreArtifact(store: ObjectStore, ref: StoredRef, dest: string): Promise<void> {
  const parent = dirname(dest);
  await mkdir(parent, { recursive: true });
  const temp = async (what: string): Promise<string> => (sameDevice(store.paths.root, parent) ? store.tempPath(what) : tempPathFor(dest));
  if (ref.kind === 'file') {
    const tmp = await temp('restore');
    try {
      await copyFile(store.filePath(ref.digest), tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
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
  const manifest = await store.readManifest(ref.digest);
  const tmp = await temp('restore');
  let old: string | undefined;
  try {
    await buildTree(manifest.files, tmp, (d) => store.filePath(d), async (obj, target, f) => {
      await copyFile(obj, target, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
      await chmod(target, f.exec ? 0o755 : 0o644);
      await fsyncFile(target);
    });
    if (await pathExists(dest)) {
      old = await temp('old');
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

/** Whether a rename can move entries between the two folders (both exist). */
function sameDevice(a: string, b: string): boolean {
  const sa = statSync(a, { throwIfNoEntry: false });
  const sb = statSync(b, { throwIfNoEntry: false });
  return sa !== undefined && sb !== undefined && sa.dev === sb.dev;
}
