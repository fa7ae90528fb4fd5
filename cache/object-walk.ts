/**
 * Walking what the store holds: an artifact's objects (a file, or a folder's
 * manifest and members) and every file of the `objects/` folder.
 */
import { statSync, type Stats } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { digestFromHex, type Digest } from './digest.js';
import { parseManifest, type DirManifest } from './dir-manifest.js';
import { mapLimit, PARALLEL } from './fs-util.js';
import type { ObjectEntry, ObjectProblem, StoredRef } from './object-problem.js';

/**
 * Applies `check` to the artifact's objects (a folder: its manifest, then
 * each distinct object of its files once, several at once) and compares sizes
 * with the reference; the first problem, or undefined.
 */
export async function walkArtifact(
ref: StoredRef,
filePath: (digest: Digest) => string,
check: (digest: Digest) => Promise<number | ObjectProblem>,
): Promise<ObjectProblem | undefined> {
  const top = await check(ref.digest);
  if (typeof top !== 'number') return top;
  if (ref.kind === 'file') {
    return top === ref.size ? undefined : { problem: 'mismatch', digest: ref.digest, detail: `recorded as ${ref.size} bytes, the object has ${top}` };
  }
  let manifest: DirManifest;
  try {
    manifest = parseManifest(await readFile(filePath(ref.digest), 'utf8'), 'recorded as a folder');
  } catch (e) {
    return { problem: 'mismatch', digest: ref.digest, detail: (e as Error).message };
  }
  let first: ObjectProblem | undefined;
  let total = 0;
  // Members with the same content (empty masks, say) share one object: check each object once.
  const checked = new Map<Digest, Promise<number | ObjectProblem>>();
  await mapLimit(manifest.files, PARALLEL, async (f) => {
    if (first !== undefined) return;
    let pending = checked.get(f.digest);
    if (pending === undefined) checked.set(f.digest, (pending = check(f.digest)));
    const got = await pending;
    if (typeof got !== 'number') first ??= { ...got, member: f.path };
    else if (got !== f.size) first ??= { problem: 'mismatch', digest: f.digest, member: f.path, detail: `listed as ${f.size} bytes, the object has ${got}` };
    total += f.size;
  });
  if (first !== undefined) return first;
  return total === ref.size ? undefined : { problem: 'mismatch', digest: ref.digest, detail: `recorded as ${ref.size} bytes, its files total ${total}` };
}

/** Every file under the `objects` folder (sorted by name), with the digest its name spells. */
export async function* listObjects(objectsDir: string): AsyncGenerator<ObjectEntry> {
  const shards = (await readdir(objectsDir).catch(() => [] as string[])).sort();
  for (const shard of shards) {
    const names = (await readdir(join(objectsDir, shard)).catch(() => [] as string[])).sort();
    for (const rest of names) {
      const path = join(objectsDir, shard, rest);
      let digest: Digest | undefined;
      try {
        digest = digestFromHex(shard + rest);
      } catch {
        digest = undefined;
      }
      yield { path, digest, size: statSync(path, { throwIfNoEntry: false })?.size ?? 0 };
    }
  }
}

/** Whether two stats describe the same, unchanged file. */
export function sameStat(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}
