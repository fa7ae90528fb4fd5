/**
 * The run cache: for every stage key ever run, the outputs and facts of that
 * run, one JSON file per key at `<root>/<64 hex>.json` (the engine uses
 * `<cache root>/runs`). Going back to an earlier parameter value finds its
 * record here and restores the outputs without running the stage.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { canonicalJson, isDigest } from './digest.js';
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

  /** The record for `key`, or undefined if there is none or it is corrupt. Throws for a malformed key (a bug). */
  async get(key: string): Promise<RunRecord | undefined> {
    const path = this.pathFor(key);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const rec = JSON.parse(text) as unknown;
      return isRunRecord(rec) && rec.key === key ? rec : undefined;
    } catch {
      return undefined;
    }
  }

  /** Stores a record atomically, replacing any earlier one for its key. */
  async put(record: RunRecord): Promise<void> {
    if (!isRunRecord(record)) throw new Error(`not a valid run record for ${String((record as { key?: unknown }).key)}`);
    await writeFileAtomic(this.pathFor(record.key), canonicalJson(record) + '\n');
  }

  /** The file holding `key`'s record. Throws for a key that is not `sha256:<64 hex>`. */
  pathFor(key: string): string {
    if (!isDigest(key)) throw new Error(`not a stage key: ${JSON.stringify(key)}`);
    return join(this.root, `${key.slice(7)}.json`);
  }
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
