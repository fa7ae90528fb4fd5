/**
 * `pipe gc`: frees cache space. Keeps every object that a lock in the project
 * folder points at (pipe.lock and the X.lock of any other pipeline file), drops
 * run-cache records that point at anything else, deletes the unreferenced
 * objects, and clears the temporary folders (views/ and tmp/). Runs under the
 * run lock, so it never races a `pipe run`.
 *
 *   locks --refs--> keep set (dir refs: the manifest and every file in it)
 *   runs/*.json: all outputs kept? keep the record : delete it
 *   objects/**: in keep set? keep : delete
 */
import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import type { RunCache } from '../cache/run-cache.js';
import type { ObjectStore, StoredRef } from '../cache/store.js';
import { lockFilesIn } from './layout.js';
import { readLock, type Lock } from './lockfile.js';

/** What gc removed (or would remove, with dryRun). */
export interface GcReport {
  readonly keptObjects: number;
  readonly keptBytes: number;
  readonly removedObjects: number;
  readonly removedBytes: number;
  readonly removedRuns: number;
  readonly locks: readonly string[];
}

async function addRef(store: ObjectStore, ref: StoredRef, keep: Set<string>): Promise<void> {
  keep.add(ref.digest);
  if (ref.kind !== 'dir') return;
  try {
    for (const f of (await store.readManifest(ref.digest)).files) keep.add(f.digest);
  } catch { /* a missing manifest keeps nothing more */ }
}

/**
 * Collects garbage in `store` and `runs` for the project at `root`; `keptLocks`
 * (the locks of the experiments gc keeps) are kept like lock files.
 */
export async function collectGarbage(root: string, store: ObjectStore, runs: RunCache, dryRun: boolean, keptLocks: readonly Lock[] = []): Promise<GcReport> {
  const keep = new Set<string>();
  for (const l of keptLocks) for (const e of Object.values(l.stages)) for (const ref of Object.values(e?.outputs ?? {})) await addRef(store, ref, keep);
  const used: string[] = [];
  for (const path of lockFilesIn(root)) {
    const l = readLock(path);
    if ('error' in l) continue; // not a pipe lock (or unreadable): it references nothing
    used.push(basename(path));
    for (const e of Object.values(l.lock.stages)) for (const ref of Object.values(e?.outputs ?? {})) await addRef(store, ref, keep);
  }
  let removedRuns = 0;
  const { keys, strays } = await runs.list();
  for (const key of keys) {
    const rec = await runs.get(key);
    if (rec && Object.values(rec.outputs).every((r) => keep.has(r.digest))) continue;
    removedRuns++;
    if (!dryRun) await runs.remove(key).catch(() => undefined);
  }
  removedRuns += strays.length;
  if (!dryRun) for (const s of strays) await rm(`${runs.root}/${s}`, { recursive: true, force: true });
  let keptObjects = 0;
  let keptBytes = 0;
  let removedObjects = 0;
  let removedBytes = 0;
  for await (const o of store.objects()) {
    if (o.digest === undefined || keep.has(o.digest)) {
      keptObjects++; // not an object name: leave it
      keptBytes += o.size;
    } else {
      removedObjects++;
      removedBytes += o.size;
      if (!dryRun) await rm(o.path, { force: true });
    }
  }
  if (!dryRun) {
    await store.dropViews();
    await store.cleanStaleTemps();
  }
  return { keptObjects, keptBytes, removedObjects, removedBytes, removedRuns, locks: used };
}
