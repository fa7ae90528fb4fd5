/**
 * `pipe verify`: an fsck of the cache. Re-hashes every object, checks every
 * run record and every pipe lock in the project against the objects, and
 * reports what is wrong; with `--quarantine` it also moves bad objects (and
 * stray files) to the cache's `quarantine/` and drops the run records that
 * are damaged or name a bad or missing object.
 *
 *   objects/**      re-hash each (stamps ignored)      -> corrupt / stray
 *   runs/*.json     integrity check, each output sound  -> damaged / bad output
 *   *.lock          each output sound, agrees with the run record of its key
 *
 * An object a lock names but the cache lacks is listed as not cached, not as a
 * problem: a fresh clone, a deleted `.pipe/` or a colleague's lock are normal,
 * and `pipe run` rebuilds it. Locks are never rewritten here: the next
 * `pipe run` repairs an entry that disagrees with its run record.
 */
import { relative } from 'node:path';
import { isDigest } from '../cache/digest.js';
import { RunCache } from '../cache/run-cache.js';
import { describeProblem, ObjectStore, type ObjectProblem, type StoredRef } from '../cache/store.js';
import { EXIT, report, type CommandEnv } from './commands.js';
import { lockFilesIn, projectLayout } from './layout.js';
import { readLock } from './lockfile.js';
import { acquireRunLock } from './run-lock.js';

/** One thing wrong in the cache, a run record or a lock. */
export interface VerifyProblem {
  /** What kind of thing is wrong. */
  readonly kind: 'corrupt-object' | 'stray-file' | 'damaged-run' | 'run-output' | 'lock-output' | 'lock-disagrees' | 'lock-unreadable';
  /** The object, run record file or lock file at fault (project-relative). */
  readonly where: string;
  /** The line a person reads. */
  readonly message: string;
  /** The bad object, when there is one. */
  readonly digest?: string;
}

/** A lock entry's output whose object is not in the cache (not a problem). */
export interface NotCached {
  readonly lock: string;
  readonly stage: string;
  readonly output: string;
  readonly digest: string;
}

/** What `pipe verify` found (and did). */
export interface VerifyReport {
  readonly objects: number;
  readonly bytes: number;
  readonly runs: number;
  readonly locks: readonly string[];
  readonly problems: readonly VerifyProblem[];
  readonly notCached: readonly NotCached[];
  /** Project-relative paths of what was moved to quarantine. */
  readonly quarantined: readonly string[];
  /** Keys of the run records dropped. */
  readonly droppedRuns: readonly string[];
}

/**
 * Verifies the cache of the project at `root` whose own lock is `ownLock`
 * (reported when unreadable; other `*.lock` files that are not pipe locks are
 * ignored). With `quarantine`, repairs what it can (see the module comment).
 */
export async function verifyCache(root: string, store: ObjectStore, runs: RunCache, ownLock: string, quarantine: boolean): Promise<VerifyReport> {
  const rel = (p: string): string => relative(root, p);
  const problems: VerifyProblem[] = [];
  const badObjects = new Set<string>();
  const strays: string[] = [];
  let objects = 0;
  let bytes = 0;
  for await (const o of store.objects()) {
    if (o.digest === undefined) {
      strays.push(o.path);
      problems.push({ kind: 'stray-file', where: rel(o.path), message: `${rel(o.path)} is not named as an object` });
      continue;
    }
    objects++;
    bytes += o.size;
    const got = await store.checkObject(o.digest, true);
    if (typeof got !== 'number') {
      badObjects.add(o.digest);
      problems.push({ kind: 'corrupt-object', where: rel(o.path), message: describeProblem(got), digest: o.digest });
    }
  }
  store.flushStamps();

  const refProblem = async (ref: unknown): Promise<ObjectProblem | string | undefined> => {
    if (!isRef(ref)) return `not an output reference: ${JSON.stringify(ref)}`;
    return store.check(ref);
  };

  const dropRuns: string[] = [];
  const { keys, strays: runStrays } = await runs.list();
  for (const s of runStrays) problems.push({ kind: 'stray-file', where: rel(`${runs.root}/${s}`), message: `${rel(`${runs.root}/${s}`)} is not a run record` });
  for (const key of keys) {
    const where = rel(runs.pathFor(key));
    const r = await runs.read(key);
    if ('absent' in r) continue;
    if ('damaged' in r) {
      problems.push({ kind: 'damaged-run', where, message: `run record ${where} is damaged: ${r.damaged}` });
      dropRuns.push(key);
      continue;
    }
    for (const [name, ref] of Object.entries(r.record.outputs)) {
      const p = await refProblem(ref);
      if (p === undefined) continue;
      const detail = typeof p === 'string' ? p : describeProblem(p);
      problems.push({ kind: 'run-output', where, message: `run record ${where}: output "${name}": ${detail}`, ...(typeof p === 'string' ? {} : { digest: p.digest }) });
      if (!dropRuns.includes(key)) dropRuns.push(key);
    }
  }

  const locks: string[] = [];
  const notCached: NotCached[] = [];
  for (const path of lockFilesIn(root)) {
    const lock = readLock(path);
    if ('error' in lock) {
      if (path === ownLock) problems.push({ kind: 'lock-unreadable', where: rel(path), message: lock.error });
      continue; // another tool's lock
    }
    const name = rel(path);
    locks.push(name);
    for (const [stage, entry] of Object.entries(lock.lock.stages)) {
      const outputs = (entry as { outputs?: unknown } | null)?.outputs;
      if (outputs === null || typeof outputs !== 'object') {
        problems.push({ kind: 'lock-output', where: name, message: `${name}: stage "${stage}" has no outputs map` });
        continue;
      }
      for (const [output, ref] of Object.entries(outputs as Record<string, unknown>)) {
        const p = await refProblem(ref);
        if (p === undefined) continue;
        if (typeof p !== 'string' && p.problem === 'missing') {
          notCached.push({ lock: name, stage, output, digest: p.digest });
          continue;
        }
        const detail = typeof p === 'string' ? p : describeProblem(p);
        problems.push({ kind: 'lock-output', where: name, message: `${name}: stage "${stage}", output "${output}": ${detail}`, ...(typeof p === 'string' ? {} : { digest: p.digest }) });
      }
      const key = (entry as { key?: unknown }).key;
      if (typeof key !== 'string' || !isDigest(key)) continue;
      const r = await runs.read(key);
      if (!('record' in r)) continue;
      const differs = differing(outputs as Record<string, unknown>, r.record.outputs);
      if (differs.length > 0) {
        problems.push({
          kind: 'lock-disagrees', where: name,
          message: `${name}: stage "${stage}" records other outputs (${differs.join(', ')}) than the run record of its key ${rel(runs.pathFor(key))} (\`pipe run\` restores the run's)`,
        });
      }
    }
  }

  const quarantined: string[] = [];
  const droppedRuns: string[] = [];
  if (quarantine) {
    for (const d of badObjects) {
      const moved = await store.quarantine(d as StoredRef['digest']);
      if (moved) quarantined.push(rel(moved));
    }
    for (const s of strays) quarantined.push(rel(await store.quarantinePath(s)));
    for (const key of dropRuns) {
      await runs.remove(key);
      droppedRuns.push(key);
    }
  }
  return { objects, bytes, runs: keys.length, locks, problems, notCached, quarantined, droppedRuns };
}

function isRef(v: unknown): v is StoredRef {
  const r = v as Partial<StoredRef> | null;
  return r !== null && typeof r === 'object' && typeof r.digest === 'string' && isDigest(r.digest) &&
    (r.kind === 'file' || r.kind === 'dir') && typeof r.size === 'number' && Number.isSafeInteger(r.size) && r.size >= 0;
}

function differing(a: Record<string, unknown>, b: Record<string, StoredRef>): string[] {
  const same = (x: unknown, y: StoredRef | undefined): boolean =>
    isRef(x) && y !== undefined && x.digest === y.digest && x.kind === y.kind && x.size === y.size;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !same(a[k], b[k])).sort();
}

/** `pipe verify [--quarantine]`: exit 0 when sound, 1 when problems were found (even if quarantined). */
export async function cmdVerify(env: CommandEnv, o: { quarantine: boolean; wait: boolean; signal: AbortSignal }): Promise<number> {
  const layout = projectLayout(env.file);
  const human = env.json ? env.stderr : env.stdout;
  const store = new ObjectStore(layout.cache.root);
  const runs = new RunCache(layout.cache.runs);
  let held: Awaited<ReturnType<typeof acquireRunLock>> | undefined;
  if (o.quarantine) {
    held = await acquireRunLock(layout.runLock, { wait: o.wait, signal: o.signal, onWait: (who) => human.write(`waiting: ${who}\n`) });
    if (!held.ok) return report(env, { reason: 'io', message: held.message });
  }
  let r: VerifyReport;
  try {
    r = await verifyCache(layout.root, store, runs, layout.lockPath, o.quarantine);
  } finally {
    if (held?.ok) await held.lock.release();
  }
  if (env.json) {
    env.stdout.write(JSON.stringify({
      ok: r.problems.length === 0, objects: r.objects, bytes: r.bytes, runs: r.runs, locks: r.locks,
      problems: r.problems, not_cached: r.notCached, quarantined: r.quarantined, dropped_runs: r.droppedRuns,
    }, null, 2) + '\n');
  }
  const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
  human.write(`checked ${r.objects} objects (${mb(r.bytes)}), ${r.runs} run records, ${r.locks.length ? r.locks.join(', ') : 'no lock'}\n`);
  for (const p of r.problems) human.write(`problem: ${p.message}\n`);
  for (const n of r.notCached) human.write(`not cached: ${n.lock}: stage "${n.stage}", output "${n.output}" (${n.digest}): \`pipe run\` rebuilds it\n`);
  if (o.quarantine && (r.quarantined.length || r.droppedRuns.length)) {
    human.write(`moved ${r.quarantined.length} files to ${relative(layout.root, layout.cache.quarantine)}/, dropped ${r.droppedRuns.length} run records\n`);
  }
  if (r.problems.length === 0) {
    human.write('the cache is sound\n');
    return EXIT.ok;
  }
  human.write(`${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} found${o.quarantine ? '' : ' (`pipe verify --quarantine` moves bad objects aside and drops the run records that name them)'}\n`);
  return EXIT.failed;
}
