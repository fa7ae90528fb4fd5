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
import { readdirSync, statSync } from 'node:fs';
import { readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { digestFromHex, type Digest } from '../cache/digest.js';
import { RunCache } from '../cache/run-cache.js';
import type { ObjectStore, StoredRef } from '../cache/store.js';
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
 * Collects garbage in `cacheRoot` for the project at `root`; `keptLocks` (the
 * locks of the experiments gc keeps) are kept like lock files.
 */
export async function collectGarbage(root: string, store: ObjectStore, cacheRoot: string, dryRun: boolean, keptLocks: readonly Lock[] = []): Promise<GcReport> {
  const keep = new Set<string>();
  for (const l of keptLocks) for (const e of Object.values(l.stages)) for (const ref of Object.values(e.outputs)) await addRef(store, ref, keep);
  const locks = readdirSync(root).filter((f) => f.endsWith('.lock'));
  const used: string[] = [];
  for (const f of locks) {
    const l = readLock(join(root, f));
    if ('error' in l) continue; // not a pipe lock (or unreadable): it references nothing
    used.push(f);
    for (const e of Object.values(l.lock.stages)) for (const ref of Object.values(e.outputs)) await addRef(store, ref, keep);
  }
  const runs = new RunCache(join(cacheRoot, 'runs'));
  let removedRuns = 0;
  const runFiles = await readdir(runs.root).catch(() => [] as string[]);
  for (const f of runFiles) {
    const rec = f.endsWith('.json') ? await runs.get(`sha256:${f.slice(0, -5)}`).catch(() => undefined) : undefined;
    if (rec && Object.values(rec.outputs).every((r) => keep.has(r.digest))) continue;
    removedRuns++;
    if (!dryRun) await unlink(join(runs.root, f)).catch(() => undefined);
  }
  let keptObjects = 0;
  let keptBytes = 0;
  let removedObjects = 0;
  let removedBytes = 0;
  const objects = join(cacheRoot, 'objects');
  for (const shard of await readdir(objects).catch(() => [] as string[])) {
    for (const rest of await readdir(join(objects, shard)).catch(() => [] as string[])) {
      const path = join(objects, shard, rest);
      const size = statSync(path, { throwIfNoEntry: false })?.size ?? 0;
      let digest: Digest | undefined;
      try {
        digest = digestFromHex(shard + rest);
      } catch {
        digest = undefined; // not an object name: leave it
      }
      if (digest === undefined || keep.has(digest)) {
        keptObjects++;
        keptBytes += size;
      } else {
        removedObjects++;
        removedBytes += size;
        if (!dryRun) await rm(path, { force: true });
      }
    }
  }
  if (!dryRun) for (const d of ['views', 'tmp']) await rm(join(cacheRoot, d), { recursive: true, force: true });
  return { keptObjects, keptBytes, removedObjects, removedBytes, removedRuns, locks: used };
}
