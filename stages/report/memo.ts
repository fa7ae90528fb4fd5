/**
 * The report's render memo: chart SVGs and image tiles already drawn, kept
 * in `.pipe/render/` (engine/layout.ts) under a digest of exactly what
 * determines them, so a page whose charts and images did not change is built
 * without loading vega or sharp at all.
 *
 * ```
 * .pipe/render/objects/<key>.<ext>   "<sha256 of the payload>\n" + the payload
 * .pipe/render/used/<user>.json      the entries the latest render of <user> used
 *
 * key = sha256(what determines the payload: the spec JSON or the tile's pixels and
 *              outlines, and the renderer: its libraries' versions and its code)
 *
 * get(key) --entry there and its payload hashes to its header--> the payload (hit)
 *          --else--> render(), write it (temp file + rename), the payload (miss)
 * finish() --> used/<user>.json = this render's entries; remove entries no user uses
 * ```
 *
 * An entry is never trusted: one whose payload does not hash to its header
 * (truncated, flipped, half written by a crash) is rendered again and
 * replaced. A user is one producer of pages (the `report` stage by its name,
 * `pipe report`), so the folder holds at most what the latest page of each
 * one needs. The memo is a speed-up only: a failure to read or write it
 * renders as if it were empty, and the page's bytes are the same either way.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeDeadTemps, tempPathFor } from '../../cache/atomic.js';

/** What one build did with the memo. */
export interface MemoStats {
  /** Entries read and verified. */
  hits: number;
  /** Entries rendered (absent, or corrupt). */
  misses: number;
  /** Entries there whose payload did not match their digest (counted in misses too). */
  corrupt: number;
}

/** One part of a key: text (UTF-8) or bytes. */
export type KeyPart = string | Uint8Array;

const sha256 = (): ReturnType<typeof createHash> => createHash('sha256');

/** The key of `parts` (length-prefixed, so two different part lists never collide by concatenation). */
export function memoKey(parts: readonly KeyPart[]): string {
  const h = sha256();
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    h.update(`${b.length}:`);
    h.update(b);
  }
  return h.digest('hex');
}

const ENTRY = /^([0-9a-f]{64})\.(svg|jpg)$/;

/** A memo folder as seen by one user (see the module comment). */
export class RenderMemo {
  readonly stats: MemoStats = { hits: 0, misses: 0, corrupt: 0 };
  private readonly used = new Set<string>();
  private readonly objects: string;

  /** `dir`: the memo folder (`.pipe/render`); `user`: who renders (a file-name-safe form is used). */
  constructor(readonly dir: string, readonly user: string) {
    this.objects = join(dir, 'objects');
  }

  /** The payload of `key`: the verified entry, or `render()`'s result, stored. */
  async get(key: string, ext: 'svg' | 'jpg', render: () => Promise<Buffer>): Promise<Buffer> {
    const name = `${key}.${ext}`;
    this.used.add(name);
    const path = join(this.objects, name);
    const found = await readFile(path).catch(() => undefined);
    if (found !== undefined) {
      const payload = verified(found);
      if (payload !== undefined) {
        this.stats.hits++;
        return payload;
      }
      this.stats.corrupt++;
    }
    this.stats.misses++;
    const payload = await render();
    await this.store(path, payload).catch(() => undefined);
    return payload;
  }

  /** A text payload (an SVG document): {@link get} in UTF-8. */
  async text(key: string, ext: 'svg', render: () => Promise<string>): Promise<string> {
    return (await this.get(key, ext, async () => Buffer.from(await render(), 'utf8'))).toString('utf8');
  }

  /**
   * Records the entries this render used as its user's, and removes every
   * entry that no user's latest render used (and temp files of dead writers).
   * Failures are ignored: the next render prunes again.
   */
  async finish(): Promise<void> {
    try {
      const usedDir = join(this.dir, 'used');
      await mkdir(usedDir, { recursive: true });
      const mine = join(usedDir, `${fileSafe(this.user)}.json`);
      const tmp = tempPathFor(mine);
      await writeFile(tmp, JSON.stringify([...this.used].sort()));
      await rename(tmp, mine);
      const keep = new Set<string>();
      for (const f of await readdir(usedDir)) {
        if (!f.endsWith('.json')) continue;
        const list: unknown = JSON.parse(await readFile(join(usedDir, f), 'utf8').catch(() => '[]'));
        if (Array.isArray(list)) for (const n of list) if (typeof n === 'string') keep.add(n);
      }
      for (const f of await readdir(this.objects).catch(() => [] as string[])) {
        if (ENTRY.test(f) && !keep.has(f)) await rm(join(this.objects, f), { force: true });
      }
      await removeDeadTemps(this.objects);
      await removeDeadTemps(usedDir);
    } catch {
      /* a speed-up only: see the module comment */
    }
  }

  /** Writes an entry: header and payload to a temp file, renamed into place (readers see all of it or none). */
  private async store(path: string, payload: Buffer): Promise<void> {
    await mkdir(this.objects, { recursive: true });
    const tmp = tempPathFor(path);
    try {
      await writeFile(tmp, Buffer.concat([Buffer.from(`${sha256().update(payload).digest('hex')}\n`), payload]));
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    }
  }
}

/** The payload of an entry's bytes if it hashes to the entry's header; undefined otherwise. */
function verified(entry: Buffer): Buffer | undefined {
  if (entry.length < 65 || entry[64] !== 0x0a) return undefined;
  const payload = entry.subarray(65);
  return sha256().update(payload).digest('hex') === entry.toString('latin1', 0, 64) ? payload : undefined;
}

/** `user` as a file name: letters, digits, `.`, `_` and `-` kept, anything else `_`. */
function fileSafe(user: string): string {
  return user.replace(/[^A-Za-z0-9._-]/g, '_') || '_';
}
