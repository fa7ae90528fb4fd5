/**
 * Moving objects and run records between the local cache and a remote:
 * several at once (p-queue), skipping what the other side already has (HEAD
 * before PUT; the local store before GET), so a push or pull that was
 * interrupted resumes where it stopped when run again.
 *
 * Every download is hashed once, while it streams into a temp object in the
 * cache's `tmp/`; only bytes that hash to their name (and run records that pass their
 * integrity check) enter the local cache. A corrupt or truncated remote object
 * is reported by its digest and never used.
 */
import { stat } from 'node:fs/promises';
import { addAbortSignal } from 'node:stream';
import { canonicalJson, digestHex, hashBytes, type Digest } from '../digest.js';
import { isRunRecord, type RunCache, type RunRecord } from '../run-cache.js';
import type { ObjectStore, StoredRef } from '../store.js';
import type { RemoteBackend } from './backend.js';

/** Counts of one push or pull, for the progress line and `--json`. */
export interface TransferCounts {
  /** Objects and records looked at. */
  total: number;
  /** Done so far (moved or skipped). */
  done: number;
  /** Moved over the wire. */
  moved: number;
  movedBytes: number;
  /** The other side had them. */
  skipped: number;
}

/** Something that could not be moved: a digest (or stage key) and why. */
export interface TransferProblem {
  readonly digest: string;
  readonly problem: 'missing' | 'corrupt' | 'error';
  readonly detail: string;
}

/** Options of a transfer. */
export interface TransferOptions {
  readonly jobs: number;
  readonly signal: AbortSignal;
  /** Called after each item (throttle it yourself). */
  readonly onProgress?: (c: Readonly<TransferCounts>) => void;
}

/** A batch of transfers run through one queue, with shared counts and problems. */
export class Transfer {
  readonly counts: TransferCounts = { total: 0, done: 0, moved: 0, movedBytes: 0, skipped: 0 };
  readonly problems: TransferProblem[] = [];
  private queue: Promise<import('p-queue').default> | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly runs: RunCache,
    private readonly remote: RemoteBackend,
    private readonly opts: TransferOptions,
  ) {}

  private async q(): Promise<import('p-queue').default> {
    this.queue ??= import('p-queue').then(({ default: PQueue }) => new PQueue({ concurrency: Math.max(1, this.opts.jobs) }));
    return this.queue;
  }

  /** Runs `task` in the queue as one counted item; a throw becomes a problem for `what`. */
  private async item(what: string, task: () => Promise<'moved' | 'skipped' | TransferProblem>, bytes = 0): Promise<boolean> {
    this.counts.total++;
    const q = await this.q();
    return (await q.add(async () => {
      if (this.opts.signal.aborted) return false;
      let r: 'moved' | 'skipped' | TransferProblem;
      try {
        r = await task();
      } catch (e) {
        r = { digest: what, problem: 'error', detail: e instanceof Error ? e.message : String(e) };
      }
      this.counts.done++;
      if (r === 'moved') {
        this.counts.moved++;
        this.counts.movedBytes += bytes;
      } else if (r === 'skipped') {
        this.counts.skipped++;
      } else {
        this.problems.push(r);
      }
      this.opts.onProgress?.(this.counts);
      return typeof r === 'string';
    })) ?? false;
  }

  /** Uploads the objects of `ref` (a folder: its manifest and every file) that the remote lacks. */
  async pushRef(ref: StoredRef): Promise<boolean> {
    const digests = [ref.digest, ...(ref.kind === 'dir' ? (await this.store.readManifest(ref.digest)).files.map((f) => f.digest) : [])];
    const oks = await Promise.all([...new Set(digests)].map((d) => this.pushObject(d)));
    return oks.every(Boolean);
  }

  /** Uploads one object unless the remote has it with the same size; checks it locally first. */
  private async pushObject(digest: Digest): Promise<boolean> {
    const path = this.store.filePath(digest);
    const size = (await stat(path).catch(() => undefined))?.size ?? 0;
    return this.item(digest, async () => {
      const hex = digestHex(digest);
      if ((await this.remote.stat('cas', hex)) === size) return 'skipped';
      // Never upload a local object that does not hash to its name.
      const local = await this.store.checkObject(digest, false);
      if (typeof local !== 'number') return { digest, problem: local.problem === 'missing' ? 'missing' : 'corrupt', detail: `local ${local.detail}` };
      await this.remote.write('cas', hex, path, size);
      return 'moved';
    }, size);
  }

  /** Uploads the run record of `key` (unless the remote has the same bytes' size). */
  async pushRecord(key: string): Promise<boolean> {
    return this.item(key, async () => {
      const r = await this.runs.read(key);
      if (!('record' in r)) return { digest: key, problem: 'missing', detail: 'no sound run record in the local cache' };
      const path = this.runs.pathFor(key);
      const size = (await stat(path)).size;
      const hex = digestHex(key as Digest);
      if ((await this.remote.stat('ac', hex)) === size) return 'skipped';
      await this.remote.write('ac', hex, path, size);
      return 'moved';
    });
  }

  /**
   * Downloads the objects of `ref` that the local cache lacks (a folder: the
   * manifest first, then its files), each verified. False if any is missing
   * on the remote or corrupt there.
   */
  async pullRef(ref: StoredRef): Promise<boolean> {
    if (!(await this.pullObject(ref.digest))) return false;
    if (ref.kind === 'file') return true;
    let members: Digest[];
    try {
      members = (await this.store.readManifest(ref.digest)).files.map((f) => f.digest);
    } catch (e) {
      this.problems.push({ digest: ref.digest, problem: 'corrupt', detail: (e as Error).message });
      return false;
    }
    return (await Promise.all([...new Set(members)].map((d) => this.pullObject(d)))).every(Boolean);
  }

  /** Downloads one object unless the local cache holds it sound. */
  private pullObject(digest: Digest): Promise<boolean> {
    return this.item(digest, async () => {
      if (typeof (await this.store.checkObject(digest, false)) === 'number') return 'skipped';
      const hex = digestHex(digest);
      const body = await this.remote.read('cas', hex);
      if (body === undefined) return { digest, problem: 'missing', detail: `not on the remote ${this.remote.display}` };
      const stored = await this.store.putStream(addAbortSignal(this.opts.signal, body), digest);
      if ('mismatch' in stored) return { digest, problem: 'corrupt', detail: `the remote's copy (${stored.size} bytes) hashes to ${stored.mismatch}: not used` };
      this.counts.movedBytes += stored.size;
      return 'moved';
    });
  }

  /**
   * Downloads the run record of `key` into the local run cache (after its
   * integrity check) and resolves to it; undefined when the remote has none or
   * it is damaged (a problem is recorded for a damaged one).
   */
  async pullRecord(key: string): Promise<RunRecord | undefined> {
    let got: RunRecord | undefined;
    await this.item(key, async () => {
      const body = await this.remote.read('ac', digestHex(key as Digest));
      if (body === undefined) return 'skipped';
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      const why = checkRecord(text, key);
      if (typeof why === 'string') return { digest: key, problem: 'corrupt', detail: `the remote's run record ${why}: not used` };
      await this.runs.put(why);
      got = why;
      return 'moved';
    });
    return got;
  }

  /** Resolves when every queued item has ended. */
  async idle(): Promise<void> {
    await (await this.q()).onIdle();
  }
}

/** The record in `text` if it is the sound record of `key`, else what is wrong with it. */
export function checkRecord(text: string, key: string): RunRecord | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return 'is not JSON';
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'is not a run record';
  const { check, ...rec } = raw as Record<string, unknown>;
  if (!isRunRecord(rec)) return 'is not a run record';
  if (rec.key !== key) return `holds another key (${rec.key})`;
  if (check !== hashBytes(canonicalJson(rec))) return 'fails its integrity check';
  return rec;
}
