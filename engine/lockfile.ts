/**
 * pipe.lock: the complete recipe of one experiment, committed by users.
 *
 * YAML with a fixed key order (stages in pipeline order, fields in the order
 * below, maps sorted), so a diff shows exactly what changed. It is rewritten
 * whole and atomically after each stage completes; a crash leaves the previous
 * version, never a half file.
 */
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { writeFileAtomic } from '../cache/atomic.js';
import type { StoredRef } from '../cache/store.js';
import type { KeyMaterial, StageKey } from './fingerprint.js';

/**
 * What the lock records for one stage: the material its key was made from
 * (kind, code, params, input and dep digests; not the declared outs, which
 * show as the output names) and what the run produced.
 */
export interface LockEntry extends Omit<KeyMaterial, 'outs'> {
  readonly key: StageKey;
  readonly outputs: Readonly<Record<string, StoredRef>>;
  readonly metrics: Readonly<Record<string, number | string>>;
  /** How it ran: backend, threads, versions. */
  readonly info: Readonly<Record<string, string>>;
  readonly duration_ms: number;
  readonly finished_at: string;
}

/** The whole lock. */
export interface Lock {
  readonly version: 1;
  readonly stages: Readonly<Record<string, LockEntry>>;
}

const HEADER = '# pipe.lock: written by `pipe run`; commit it with pipeline.yaml to reproduce this experiment.\n';

/** Reads a lock; a missing file is an empty lock, an unreadable one an error message. */
export function readLock(path: string): { lock: Lock } | { error: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { lock: { version: 1, stages: {} } };
  }
  try {
    const data = parse(text) as Partial<Lock> | null;
    if (!data || data.version !== 1 || typeof data.stages !== 'object' || data.stages === null) {
      return { error: `${path} is not a pipe.lock of version 1 (delete it to start over)` };
    }
    return { lock: { version: 1, stages: data.stages } };
  } catch (e) {
    return { error: `${path} is not valid YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` };
  }
}

function sorted<T>(o: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k] as T]));
}

/** The lock's text: stages in `order` (others after, by name), fields in a fixed order. */
export function formatLock(lock: Lock, order: readonly string[]): string {
  const names = [...order.filter((n) => n in lock.stages), ...Object.keys(lock.stages).filter((n) => !order.includes(n)).sort()];
  const stages: Record<string, unknown> = {};
  for (const n of names) {
    const e = lock.stages[n] as LockEntry;
    stages[n] = {
      kind: e.kind,
      key: e.key,
      code: e.code,
      params: sorted(e.params),
      inputs: sorted(e.inputs),
      deps: sorted(e.deps),
      outputs: Object.fromEntries(Object.entries(sorted(e.outputs)).map(([k, r]) => [k, { digest: r.digest, kind: r.kind, size: r.size }])),
      metrics: sorted(e.metrics),
      info: sorted(e.info),
      duration_ms: e.duration_ms,
      finished_at: e.finished_at,
    };
  }
  return HEADER + stringify({ version: 1, stages }, { lineWidth: 0, sortMapEntries: false });
}

/**
 * Serialises updates to one lock file: each `set` rewrites the file atomically,
 * in call order, so concurrent stage completions never interleave.
 */
export class LockWriter {
  private current: Record<string, LockEntry>;
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly path: string, initial: Lock, private readonly order: readonly string[]) {
    this.current = { ...initial.stages };
  }

  /** The entries as they are now (including unwritten updates). */
  get stages(): Readonly<Record<string, LockEntry>> {
    return this.current;
  }

  /** Records `entry` for `stage` and rewrites the file; resolves when written. */
  set(stage: string, entry: LockEntry): Promise<void> {
    this.current = { ...this.current, [stage]: entry };
    return this.flush();
  }

  /** Drops entries of stages that are no longer in the pipeline. */
  prune(keep: ReadonlySet<string>): Promise<void> {
    const before = Object.keys(this.current).length;
    this.current = Object.fromEntries(Object.entries(this.current).filter(([n]) => keep.has(n)));
    return Object.keys(this.current).length === before ? this.chain : this.flush();
  }

  private flush(): Promise<void> {
    const snapshot: Lock = { version: 1, stages: this.current };
    this.chain = this.chain.then(() => writeFileAtomic(this.path, formatLock(snapshot, this.order)));
    return this.chain;
  }
}
