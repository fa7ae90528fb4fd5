/**
 * The on-disk form of the file-hash state: compact and binary, so that loading
 * the state of an 11,000-file folder costs one read and no per-file parsing.
 *
 * ```
 * "PIPEFS3\n"                      8 bytes magic
 * u32 LE n, n bytes JSON header    {"gen":N,"trees":[{"path","kind","digest","size","gen","count","relChars"}]}
 * spaces up to a multiple of 8
 * f64 LE x 5 per file, all trees   size, mtimeMs, ino, ctimeMs, flags (1 trusted, 2 executable)
 * 32 bytes per file, all trees     sha256
 * UTF-8 text                       each tree's relative paths, each followed by "\0"
 * ```
 */
import { endianness } from 'node:os';
import { digestFromHex, digestHex, type Digest } from './digest.js';
import type { ObjectKind } from './store.js';

/** Numbers per file in {@link TreeRecord.nums}. */
export const NUMS = 5;
/** Flag bit in the 5th number: the digest may be reused while the stat matches (not racy). */
export const TRUSTED = 1;
/** Flag bit in the 5th number: the file has an execute bit. */
export const EXEC = 2;

const MAGIC = 'PIPEFS3\n';
const LE = endianness() === 'LE';

/**
 * What the state remembers about one hashed path (a "tree": a folder and its
 * files, or a single file with relative path ""), files in manifest order.
 */
export interface TreeRecord {
  /** Absolute path that was hashed. */
  readonly path: string;
  readonly kind: ObjectKind;
  /** The file's digest or the folder manifest's. */
  readonly digest: Digest;
  /** Total bytes. */
  readonly size: number;
  /** Save generation when it was last hashed. */
  gen: number;
  readonly count: number;
  /** {@link NUMS} numbers per file. */
  readonly nums: Float64Array;
  /** 32 digest bytes per file. */
  readonly digests: Buffer;
  /** Each file's relative path followed by "\0". */
  readonly rels: string;
}

interface TreeHeader {
  path: string;
  kind: ObjectKind;
  digest: string;
  size: number;
  gen: number;
  count: number;
  relChars: number;
}

/** Serialises the state. */
export function encodeState(gen: number, trees: readonly TreeRecord[]): Buffer {
  const headers: TreeHeader[] = trees.map((t) => ({
    path: t.path, kind: t.kind, digest: digestHex(t.digest), size: t.size, gen: t.gen, count: t.count, relChars: t.rels.length,
  }));
  let header = JSON.stringify({ gen, trees: headers });
  const headerBytes = Buffer.byteLength(header);
  header += ' '.repeat((8 - ((12 + headerBytes) % 8)) % 8);
  const files = trees.reduce((n, t) => n + t.count, 0);
  const rels = Buffer.from(trees.map((t) => t.rels).join(''), 'utf8');
  const numsAt = 12 + Buffer.byteLength(header);
  const digestsAt = numsAt + files * NUMS * 8;
  const relsAt = digestsAt + files * 32;
  const out = Buffer.alloc(relsAt + rels.length);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(Buffer.byteLength(header), 8);
  out.write(header, 12, 'utf8');
  let n = numsAt;
  let d = digestsAt;
  for (const t of trees) {
    for (let i = 0; i < t.nums.length; i++, n += 8) out.writeDoubleLE(t.nums[i]!, n);
    t.digests.copy(out, d);
    d += t.digests.length;
  }
  rels.copy(out, relsAt);
  return out;
}

/** Parses the state; throws on anything malformed (the caller then starts empty). */
export function decodeState(buf: Buffer): { gen: number; trees: TreeRecord[] } {
  if (buf.toString('latin1', 0, 8) !== MAGIC) throw new Error('bad magic');
  const hlen = buf.readUInt32LE(8);
  const raw = JSON.parse(buf.toString('utf8', 12, 12 + hlen)) as { gen?: unknown; trees?: unknown };
  if (!Number.isSafeInteger(raw.gen) || !Array.isArray(raw.trees)) throw new Error('bad header');
  const heads = raw.trees as TreeHeader[];
  let files = 0;
  for (const h of heads) {
    if (
      typeof h.path !== 'string' || (h.kind !== 'file' && h.kind !== 'dir') || typeof h.digest !== 'string' ||
      !Number.isSafeInteger(h.count) || h.count < 0 || !Number.isSafeInteger(h.relChars) ||
      typeof h.size !== 'number' || typeof h.gen !== 'number'
    ) {
      throw new Error('bad tree header');
    }
    files += h.count;
  }
  const numsAt = 12 + hlen;
  const digestsAt = numsAt + files * NUMS * 8;
  const relsAt = digestsAt + files * 32;
  if (numsAt % 8 !== 0 || relsAt > buf.length) throw new Error('truncated');
  let nums: Float64Array;
  if (LE && (buf.byteOffset + numsAt) % 8 === 0) {
    nums = new Float64Array(buf.buffer, buf.byteOffset + numsAt, files * NUMS);
  } else {
    nums = new Float64Array(files * NUMS);
    for (let i = 0; i < nums.length; i++) nums[i] = buf.readDoubleLE(numsAt + i * 8);
  }
  const rels = buf.toString('utf8', relsAt);
  const trees: TreeRecord[] = [];
  let f = 0;
  let c = 0;
  for (const h of heads) {
    const r = rels.slice(c, c + h.relChars);
    if (r.length !== h.relChars || (h.count > 0 && !r.endsWith('\0'))) throw new Error('bad paths');
    trees.push({
      path: h.path, kind: h.kind, digest: digestFromHex(h.digest), size: h.size, gen: h.gen, count: h.count,
      nums: nums.subarray(f * NUMS, (f + h.count) * NUMS),
      digests: buf.subarray(digestsAt + f * 32, digestsAt + (f + h.count) * 32),
      rels: r,
    });
    f += h.count;
    c += h.relChars;
  }
  if (c !== rels.length) throw new Error('bad paths');
  return { gen: raw.gen as number, trees };
}
