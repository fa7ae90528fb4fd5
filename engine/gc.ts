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
import type { Digest } from '../cache/digest.js';
import type { ObjectStore } from '../cache/store.js';
import { lockFilesIn, lockMirrorOf } from './layout.js';
import { readLock, type Lock, type LockEntry } from './lockfile.js';

/** What gc removed (or would remove, with dryRun). */
export interface GcReport {
  readonly keptObjects: number;
  readonly keptBytes: number;
  readonly removedObjects: number;
  readonly removedBytes: number;
  readonly removedRuns: number;
  readonly locks: readonly string[];
}

/**
 * What gc keeps: the entries of every pipe lock in the project folder at
 * `root` (`locks`: their file names; a file that is not a pipe lock, or is
 * unreadable, references nothing) and of `keptLocks` (the kept experiments').
 * Each lock is read through its JSON mirror where that vouches for its text
 * (as openProject reads the workspace's), else as YAML.
 * `pipe gc` and `pipe gc --remote` keep by the same list.
 */
export function keptEntries(root: string, keptLocks: readonly Lock[]): { entries: LockEntry[]; locks: string[] } {
  const entries: LockEntry[] = [];
  const add = (l: Lock): void => {
    for (const e of Object.values(l.stages)) if (e !== undefined) entries.push(e);
  };
  keptLocks.forEach(add);
  const locks: string[] = [];
  for (const path of lockFilesIn(root)) {
    const l = readLock(path, lockMirrorOf(path));
    if ('error' in l) continue;
    locks.push(basename(path));
    add(l.lock);
  }
  return { entries, locks };
}

/**
 * The digests `entries` need: every output, and of a folder its manifest and
 * every file in it (`filesOf` reads a manifest, once each: locally, or from a remote).
 */
export async function keptDigests(entries: readonly LockEntry[], filesOf: (manifest: Digest) => Promise<readonly Digest[]>): Promise<Set<Digest>> {
  const keep = new Set<Digest>();
  const read = new Set<Digest>(); // manifests already read: the locks share most folders
  for (const e of entries) {
    for (const ref of Object.values(e.outputs)) {
      keep.add(ref.digest);
      if (ref.kind !== 'dir' || read.has(ref.digest)) continue;
      read.add(ref.digest);
      for (const f of await filesOf(ref.digest)) keep.add(f);
    }
  }
  return keep;
}

/**
 * Collects garbage in `store` and `runs` for the project at `root`; `keptLocks`
 * (the locks of the experiments gc keeps) are kept like lock files.
 */
export async function collectGarbage(root: string, store: ObjectStore, runs: RunCache, dryRun: boolean, keptLocks: readonly Lock[] = []): Promise<GcReport> {
  const { entries, locks: used } = keptEntries(root, keptLocks);
  // A missing manifest keeps nothing more.
  const keep: ReadonlySet<string> = await keptDigests(entries, (d) => store.readManifest(d).then((m) => m.files.map((f) => f.digest), () => []));
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
