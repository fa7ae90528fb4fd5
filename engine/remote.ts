/**
 * The project's remote cache, as its pipeline file's `remote:` block names
 * it, and the lookup `pipe run` makes before running a stale stage: if the
 * remote's run cache has the stage key, its record and outputs are
 * downloaded (each object verified, see cache/remote/transfer.ts) and the
 * stage is restored instead of run.
 */
import { openRemote, type RemoteBackend } from '../cache/remote/backend.js';
import { Transfer } from '../cache/remote/transfer.js';
import type { RunCache } from '../cache/run-cache.js';
import type { ObjectStore } from '../cache/store.js';
import type { PipelineConfig } from './config.js';
import type { EventSink } from './events.js';

/** Transfers at once when the pipeline file does not say. */
export const DEFAULT_REMOTE_JOBS = 8;

/** Opens the remote the pipeline names: undefined when it names none, or a message when the URL is wrong. */
export async function projectRemote(config: PipelineConfig): Promise<RemoteBackend | undefined | { error: string }> {
  const r = config.remote;
  if (r === undefined) return undefined;
  return openRemote({
    url: r.url, jobs: r.jobs ?? DEFAULT_REMOTE_JOBS, env: process.env,
    ...(r.endpoint !== undefined ? { endpoint: r.endpoint } : {}),
    ...(r.region !== undefined ? { region: r.region } : {}),
    ...(r.path_style !== undefined ? { pathStyle: r.path_style } : {}),
  });
}

/**
 * Asks the remote for the run of `key`: resolves true when its record and
 * every output are now in the local cache (verified), false when the remote
 * has no such run or something of it is missing or corrupt there (a warning
 * names the digest; the stage then runs).
 */
export type RemoteLookup = (stage: string, key: string) => Promise<boolean>;

/** The lookup `pipe run` hands the executor. */
export function remoteLookup(remote: RemoteBackend, store: ObjectStore, runs: RunCache, jobs: number, signal: AbortSignal, emit: EventSink): RemoteLookup {
  return async (stage, key) => {
    const t = new Transfer(store, runs, remote, { jobs, signal });
    let ok = false;
    try {
      const record = await t.pullRecord(key);
      if (record !== undefined) {
        const oks = await Promise.all(Object.values(record.outputs).map((ref) => t.pullRef(ref)));
        ok = oks.every(Boolean);
        if (!ok) await runs.remove(key);
      }
    } catch (e) {
      emit({ type: 'note', level: 'warn', stage, message: `remote ${remote.display}: ${e instanceof Error ? e.message : String(e)}` });
      return false;
    }
    for (const p of t.problems) {
      emit({ type: 'note', level: 'warn', stage, message: `remote object ${p.digest} ${p.problem === 'corrupt' ? 'is corrupt' : p.problem === 'missing' ? 'is missing' : 'could not be read'}: ${p.detail}; the stage runs` });
    }
    if (ok) emit({ type: 'note', level: 'info', stage, message: `found in the remote cache ${remote.display} (${t.counts.moved} downloaded, ${t.counts.skipped} already here)` });
    return ok;
  };
}
