/**
 * `pipe push`, `pipe pull` and `pipe gc --remote`: the team's remote cache
 * (the pipeline file's `remote:` block, see remote.ts).
 *
 *   push [--run-cache]  the objects of every output in pipe.lock and the run
 *                       records of its keys (--run-cache: every run record in
 *                       the local run cache, and its objects) that the remote
 *                       lacks (HEAD first)
 *   pull [STAGE...]     the run records and output objects pipe.lock names
 *                       (or STAGE's) that the local cache lacks, each verified;
 *                       `pipe run` then restores them without running anything
 *   gc --remote         deletes remote objects and run records that no lock in
 *                       the project nor a kept experiment needs, and the temp
 *                       files crashed writes left (file://)
 *
 * Run again after an interruption, each resumes: what arrived is skipped.
 */
import type { RemoteBackend } from '../cache/remote/backend.js';
import { Transfer, type TransferCounts } from '../cache/remote/transfer.js';
import { digestHex, hashBytes, type Digest } from '../cache/digest.js';
import { parseManifest } from '../cache/dir-manifest.js';
import type { StoredRef } from '../cache/store.js';
import { EXIT, report, type CommandEnv } from './commands.js';
import { ExperimentStore } from './exp/store.js';
import { keptDigests, keptEntries } from './gc.js';
import type { LockEntry } from './lockfile.js';
import type { Out } from './logger.js';
import { openProject, type Project } from './project.js';
import { DEFAULT_REMOTE_JOBS, projectRemote } from './remote.js';

/** Options shared by the remote commands. */
export interface RemoteCommandOptions {
  readonly signal: AbortSignal;
}

/** Opens the project and its remote, or reports why not (exit 2: no `remote:` block). */
async function open(env: CommandEnv): Promise<{ p: Project; remote: RemoteBackend; jobs: number } | number> {
  const opened = await openProject(env.file, env.overrides, env.registry);
  if (!opened.ok) return report(env, opened.error);
  const p = opened.value;
  const remote = await projectRemote(p.graph.config);
  if (remote === undefined) return report(env, { reason: 'usage', message: `${env.file} names no remote: add a \`remote:\` block with a url (see the README)` });
  if ('error' in remote) return report(env, { reason: 'usage', message: remote.error });
  return { p, remote, jobs: p.graph.config.remote?.jobs ?? DEFAULT_REMOTE_JOBS };
}

/** A progress printer: one line a second at most, and the last one. */
function progress(out: Out, verb: string, t0: number): { tick: (c: Readonly<TransferCounts>) => void; line: (c: Readonly<TransferCounts>) => string } {
  let last = 0;
  const line = (c: Readonly<TransferCounts>): string => {
    const s = (performance.now() - t0) / 1000;
    return `${verb}: ${c.done}/${c.total} objects and records, ${c.moved} ${verb === 'push' ? 'uploaded' : 'downloaded'} (${(c.movedBytes / 1e6).toFixed(1)} MB, ` +
      `${(c.movedBytes / 1e6 / Math.max(s, 1e-3)).toFixed(1)} MB/s), ${c.skipped} already there`;
  };
  return {
    tick: (c) => {
      const now = performance.now();
      if (now - last < 1000) return;
      last = now;
      out.write(`${line(c)}\n`);
    },
    line,
  };
}

/** Prints the outcome; resolves to the exit code. */
function finish(env: CommandEnv, verb: string, remote: RemoteBackend, t: Transfer, t0: number, signal: AbortSignal, extra: Record<string, unknown> = {}): number {
  const human = env.json ? env.stderr : env.stdout;
  const ms = performance.now() - t0;
  for (const p of t.problems) human.write(`${verb}: ${p.digest}: ${p.problem === 'corrupt' ? 'corrupt' : p.problem === 'missing' ? 'missing' : 'failed'}: ${p.detail}\n`);
  human.write(`${progress(human, verb, t0).line(t.counts)} in ${(ms / 1000).toFixed(1)} s (${remote.display})${signal.aborted ? ' (interrupted: run it again to resume)' : ''}\n`);
  const code = signal.aborted ? EXIT.interrupted : t.problems.length > 0 ? EXIT.failed : EXIT.ok;
  if (env.json) {
    env.stdout.write(JSON.stringify({
      ok: code === EXIT.ok, remote: remote.display, duration_ms: Math.round(ms), ...t.counts, problems: t.problems, ...extra,
      ...(signal.aborted ? { interrupted: true } : {}),
    }, null, 2) + '\n');
  }
  return code;
}

/** `pipe push [--run-cache]`. */
export async function cmdPush(env: CommandEnv, o: RemoteCommandOptions & { runCache: boolean }): Promise<number> {
  const opened = await open(env);
  if (typeof opened === 'number') return opened;
  const { p, remote, jobs } = opened;
  const t0 = performance.now();
  const human = env.json ? env.stderr : env.stdout;
  const t = new Transfer(p.env.store, p.env.runs, remote, { jobs, signal: o.signal, onProgress: progress(human, 'push', t0).tick });
  try {
    const refs = new Map<string, StoredRef>();
    const keys = new Set<string>();
    for (const e of Object.values(p.env.lock)) {
      if (!e) continue;
      for (const ref of Object.values(e.outputs)) refs.set(ref.digest, ref);
      if (await p.env.runs.get(e.key)) keys.add(e.key);
    }
    if (o.runCache) {
      for (const key of (await p.env.runs.list()).keys) {
        const rec = await p.env.runs.get(key);
        if (!rec) continue;
        keys.add(key);
        for (const ref of Object.values(rec.outputs)) refs.set(ref.digest, ref);
      }
    }
    // Objects first, records after: a remote record never names an object the remote lacks.
    const pushed = new Map<string, Promise<boolean>>();
    for (const ref of refs.values()) pushed.set(ref.digest, t.pushRef(ref).catch((e: unknown) => {
      t.problems.push({ digest: ref.digest, problem: 'missing', detail: `local ${(e as Error).message}` });
      return false;
    }));
    await Promise.all(pushed.values());
    for (const key of keys) {
      const rec = await p.env.runs.get(key);
      if (!rec) continue;
      const oks = await Promise.all(Object.values(rec.outputs).map((r) => pushed.get(r.digest) ?? Promise.resolve(false)));
      if (oks.every(Boolean)) void t.pushRecord(key);
    }
    await t.idle();
  } finally {
    remote.close();
  }
  return finish(env, 'push', remote, t, t0, o.signal);
}

/** `pipe pull [STAGE...]`: the lock's outputs and run records into the local cache. */
export async function cmdPull(env: CommandEnv, targets: readonly string[], o: RemoteCommandOptions): Promise<number> {
  const opened = await open(env);
  if (typeof opened === 'number') return opened;
  const { p, remote, jobs } = opened;
  const bad = targets.filter((s) => !p.env.lock[s]);
  if (bad.length > 0) {
    remote.close();
    return report(env, { reason: 'usage', message: `${bad.map((b) => `"${b}"`).join(', ')}: not in ${p.lockPath} (stages there: ${Object.keys(p.env.lock).join(', ') || 'none'})` });
  }
  const t0 = performance.now();
  const human = env.json ? env.stderr : env.stdout;
  const t = new Transfer(p.env.store, p.env.runs, remote, { jobs, signal: o.signal, onProgress: progress(human, 'pull', t0).tick });
  const stages: Record<string, 'pulled' | 'failed'> = {};
  try {
    const names = targets.length ? targets : Object.keys(p.env.lock);
    await Promise.all(names.map(async (name) => {
      const e = p.env.lock[name] as LockEntry;
      const [, ...oks] = await Promise.all([t.pullRecord(e.key), ...Object.values(e.outputs).map((r) => t.pullRef(r))]);
      stages[name] = oks.every(Boolean) ? 'pulled' : 'failed';
    }));
    await t.idle();
  } finally {
    remote.close();
  }
  const failed = Object.entries(stages).filter(([, s]) => s === 'failed').map(([n]) => n);
  if (failed.length) human.write(`pull: not every output of ${failed.join(', ')} could be fetched: \`pipe run\` runs ${failed.length > 1 ? 'them' : 'it'}\n`);
  return finish(env, 'pull', remote, t, t0, o.signal, { stages });
}

/**
 * `pipe gc --remote`: deletes the remote's objects and run records that no
 * lock in the project and none of the newest `keepLast` experiments need, and
 * (not in a dry run) what crashed writes left there.
 */
export async function cmdGcRemote(env: CommandEnv, o: RemoteCommandOptions & { dryRun: boolean; keepLast: number }): Promise<number> {
  const opened = await open(env);
  if (typeof opened === 'number') return opened;
  const { p, remote } = opened;
  const human = env.json ? env.stderr : env.stdout;
  try {
    const exps = new ExperimentStore(p.dotDir).list();
    const { entries } = keptEntries(p.root, exps.slice(Math.max(0, exps.length - o.keepLast)).map((e) => e.lock));
    const keepKeys = new Set(entries.map((e) => digestHex(e.key as unknown as Digest)));
    const keep = new Set([...await keptDigests(entries, async (d) => (await manifestOf(p, remote, d)).files.map((f) => f.digest))].map(digestHex));
    const drop = async (area: 'cas' | 'ac', kept: Set<string>): Promise<number> => {
      let n = 0;
      for (const hex of await remote.list(area)) {
        if (kept.has(hex) || o.signal.aborted) continue;
        n++;
        if (!o.dryRun) await remote.remove(area, hex);
      }
      return n;
    };
    const records = await drop('ac', keepKeys);
    const objects = await drop('cas', keep);
    if (!o.dryRun && !o.signal.aborted) await remote.removeDeadTemps?.();
    human.write(`${o.dryRun ? 'would remove' : 'removed'} ${objects} objects and ${records} run records from ${remote.display}; kept what ${entries.length} lock entries need\n`);
    if (env.json) env.stdout.write(JSON.stringify({ ok: true, dry_run: o.dryRun, remote: remote.display, removedObjects: objects, removedRuns: records }, null, 2) + '\n');
    return EXIT.ok;
  } catch (e) {
    return report(env, { reason: 'io', message: `gc --remote: ${(e as Error).message} (nothing more was deleted)` });
  } finally {
    remote.close();
  }
}

/** A folder manifest, from the local cache or else from the remote (verified). */
async function manifestOf(p: Project, remote: RemoteBackend, digest: Digest): Promise<ReturnType<typeof parseManifest>> {
  try {
    return await p.env.store.readManifest(digest);
  } catch {
    const body = await remote.read('cas', digestHex(digest));
    if (body === undefined) return { files: [] } as unknown as ReturnType<typeof parseManifest>;
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    if (hashBytes(bytes) !== digest) throw new Error(`the remote's folder manifest ${digest} is corrupt`);
    return parseManifest(bytes.toString('utf8'), `folder manifest ${digest}`);
  }
}
