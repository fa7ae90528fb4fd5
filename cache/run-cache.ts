/**
 * The run cache: for every stage key ever run, the outputs and facts of that
 * run, one JSON file per key at `<root>/<64 hex>.json` (the engine uses
 * `<cache root>/runs`). Going back to an earlier parameter value finds its
 * record here and restores the outputs without running the stage.
 *
 * Each file carries `check`, the digest of the canonical JSON of the record
 * without it: a record edited by hand or damaged on disk (say, an output
 * digest pointed at another object) fails it and counts as absent.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tempNamePid, writeFileAtomic } from './atomic.js';
import { canonicalJson, hashBytes, isDigest } from './digest.js';
import type { StoredRef } from './store.js';

/** What one completed run of a stage produced. */
export interface RunRecord {
  /** The stage key, `sha256:<hex>`. */
  key: string;
  /** Artifact (or out path) name -> stored object. */
  outputs: Record<string, StoredRef>;
  /** Metrics the stage reported. */
  metrics: Record<string, number | string>;
  /** Facts about the run (backend, versions). */
  info: Record<string, string>;
  durationMs: number;
  /** ISO 8601 time the run finished. */
  finishedAt: string;
}

/** Key -> {@link RunRecord}, stored as JSON files. */
export class RunCache {
  /** The folder holding the records. */
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** The record for `key`, or undefined if there is none or it is damaged. Throws for a malformed key (a bug). */
  async get(key: string): Promise<RunRecord | undefined> {
    const r = await this.read(key);
    return 'record' in r ? r.record : undefined;
  }

  /**
   * The record for `key`, or why there is none: `absent`, or `damaged` with
   * what is wrong (not JSON, wrong shape, another key, failed check).
   */
  async read(key: string): Promise<{ record: RunRecord } | { absent: true } | { damaged: string }> {
    const path = this.pathFor(key);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return { absent: true };
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return { damaged: 'not JSON' };
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { damaged: 'not a run record' };
    const { check, ...rec } = raw as Record<string, unknown>;
    if (!isRunRecord(rec)) return { damaged: 'not a run record' };
    if (rec.key !== key) return { damaged: `it holds the record of another key (${rec.key})` };
    if (check !== checkOf(rec)) return { damaged: check === undefined ? 'it has no integrity check' : 'it fails its integrity check (edited or damaged)' };
    return { record: rec };
  }

  /** Stores a record atomically, replacing any earlier one for its key. */
  async put(record: RunRecord): Promise<void> {
    if (!isRunRecord(record)) throw new Error(`not a valid run record for ${String((record as { key?: unknown }).key)}`);
    await writeFileAtomic(this.pathFor(record.key), canonicalJson({ ...record, check: checkOf(record) }) + '\n');
  }

  /** Deletes `key`'s record (absent is fine). */
  async remove(key: string): Promise<void> {
    await rm(this.pathFor(key), { force: true });
  }

  /**
   * The keys of every record file, and the names of files here that are not
   * records (temp files of records being written are neither).
   */
  async list(): Promise<{ keys: string[]; strays: string[] }> {
    const keys: string[] = [];
    const strays: string[] = [];
    for (const f of (await readdir(this.root).catch(() => [] as string[])).sort()) {
      const key = `sha256:${f.slice(0, -5)}`;
      if (f.endsWith('.json') && isDigest(key)) keys.push(key);
      else if (tempNamePid(f) === undefined) strays.push(f);
    }
    return { keys, strays };
  }

  /** The file holding `key`'s record. Throws for a key that is not `sha256:<64 hex>`. */
  pathFor(key: string): string {
    if (!isDigest(key)) throw new Error(`not a stage key: ${JSON.stringify(key)}`);
    return join(this.root, `${key.slice(7)}.json`);
  }
}

/** The integrity check of a record: the digest of its canonical JSON. */
function checkOf(record: RunRecord): string {
  return hashBytes(canonicalJson(record));
}

function isRecordOf(v: unknown, ok: (x: unknown) => boolean): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every(ok);
}

function isStoredRef(v: unknown): boolean {
  const r = v as Partial<StoredRef> | null;
  return (
    r !== null && typeof r === 'object' && typeof r.digest === 'string' && isDigest(r.digest) &&
    (r.kind === 'file' || r.kind === 'dir') && typeof r.size === 'number' && Number.isSafeInteger(r.size) && r.size >= 0
  );
}

/** Shape check of a parsed record. */
export function isRunRecord(v: unknown): v is RunRecord {
  const r = v as Partial<RunRecord> | null;
  return (
    r !== null && typeof r === 'object' && typeof r.key === 'string' && isDigest(r.key) &&
    isRecordOf(r.outputs, isStoredRef) &&
    isRecordOf(r.metrics, (x) => typeof x === 'string' || (typeof x === 'number' && Number.isFinite(x))) &&
    isRecordOf(r.info, (x) => typeof x === 'string') &&
    typeof r.durationMs === 'number' && Number.isFinite(r.durationMs) && typeof r.finishedAt === 'string'
  );
}
