/**
 * Verification stamps: for each object whose content was checked (hashed, or
 * written by us), the (inode, size, mtime, ctime) it had then. An object whose
 * stat still matches its stamp is trusted without re-reading it; anything that
 * rewrites, replaces or chmods it changes its ctime, so it is hashed again
 * before it is used. This keeps a no-op `pipe run` from re-hashing the cache
 * while nothing that comes out of the cache is used unverified.
 *
 * On disk: an append-only text log, one line per stamp, the last line of a
 * digest winning:
 *
 * ```
 * <64 hex> <ino> <size> <mtimeMs> <ctimeMs>\n
 * ```
 *
 * Appends are single small writes, so concurrent processes do not interleave
 * lines; a lost or torn line only means an object is hashed once more. The
 * log is compacted when it holds many superseded lines.
 *
 * Racy stamps (as in file-state.ts): a stamp taken after hashing is written to
 * the log only when the file's mtime and ctime are clearly older than the
 * moment hashing began (50 ms on filesystems with sub-millisecond timestamps,
 * 2 s on coarse ones), else it is trusted for this process only. A stamp taken
 * right after we wrote (or hard-linked) a verified object is logged at once on
 * fine-grained filesystems: only a rewrite within the same clock tick could
 * hide behind it.
 */
import { appendFileSync, readFileSync, renameSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { tempPathFor } from './atomic.js';

interface Stamp {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
}

/** How a stamp's content was vouched for. */
export type StampSource =
  /** We hashed the file; `startedMs` is when reading began. */
  | { readonly by: 'hash'; readonly startedMs: number }
  /** We just wrote or linked it after verifying its content. */
  | { readonly by: 'write' };

const LINE = /^([0-9a-f]{64}) (\d+) (\d+) ([0-9.e+-]+) ([0-9.e+-]+)$/;

/** The stamps of one cache, loaded on first use. */
export class StampLog {
  private map: Map<string, Stamp> | undefined;
  private pending: string[] = [];

  /** `path`: the log file (`<cache>/stamps`). */
  constructor(readonly path: string) {}

  /** Whether `hex`'s object, stat'd as `st`, is unchanged since it was verified. */
  matches(hex: string, st: Stats): boolean {
    const s = this.load().get(hex);
    return s !== undefined && s.ino === st.ino && s.size === st.size && s.mtimeMs === st.mtimeMs && s.ctimeMs === st.ctimeMs;
  }

  /** Records that `hex`'s object, stat'd as `st`, has verified content (see {@link flush}). */
  record(hex: string, st: Stats, source: StampSource): void {
    const stamp: Stamp = { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs };
    this.load().set(hex, stamp);
    const coarse = Number.isInteger(st.mtimeMs) && Number.isInteger(st.ctimeMs);
    const durable = source.by === 'write'
      ? !coarse
      : Math.max(st.mtimeMs, st.ctimeMs) < source.startedMs - (coarse ? 2000 : 50);
    if (durable) this.pending.push(`${hex} ${stamp.ino} ${stamp.size} ${stamp.mtimeMs} ${stamp.ctimeMs}\n`);
  }

  /** Forgets `hex` (its object was moved away). */
  forget(hex: string): void {
    this.load().delete(hex);
  }

  /**
   * Appends the recorded stamps to the log in one write. Failing to write
   * (disk full, read-only cache) is not an error: the objects are hashed
   * again next time.
   */
  flush(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    try {
      appendFileSync(this.path, text);
    } catch { /* see above */ }
  }

  private load(): Map<string, Stamp> {
    if (this.map) return this.map;
    this.map = new Map();
    let text = '';
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return this.map;
    }
    let lines = 0;
    for (const line of text.split('\n')) {
      const m = LINE.exec(line);
      if (!m) continue;
      lines++;
      this.map.set(m[1]!, { ino: Number(m[2]), size: Number(m[3]), mtimeMs: Number(m[4]), ctimeMs: Number(m[5]) });
    }
    if (lines > 2 * this.map.size + 1024) this.compact();
    return this.map;
  }

  /** Rewrites the log with one line per digest (best effort: a concurrent append may be lost, costing a re-hash). */
  private compact(): void {
    const body = [...this.map!].map(([h, s]) => `${h} ${s.ino} ${s.size} ${s.mtimeMs} ${s.ctimeMs}\n`).join('');
    const tmp = tempPathFor(this.path);
    try {
      writeFileSync(tmp, body);
      renameSync(tmp, this.path);
    } catch {
      try {
        unlinkSync(tmp);
      } catch { /* never created */ }
    }
  }
}
