/**
 * Content digests and the canonical JSON encoding everything in `pipe` hashes.
 *
 * A {@link Digest} is always `sha256:` followed by 64 lowercase hex digits.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

/** A sha256 content digest, `sha256:<64 lowercase hex>`. Branded so a path can't pass as one. */
export type Digest = string & { readonly __brand: 'Digest' };

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
const CHUNK = 1 << 20;

/** True when `s` is a well-formed digest (`sha256:` + 64 lowercase hex digits). */
export function isDigest(s: string): s is Digest {
  return DIGEST_RE.test(s);
}

/** Turns 64 lowercase hex digits into a digest; throws on anything else (a bug). */
export function digestFromHex(hex: string): Digest {
  const d = `sha256:${hex}`;
  if (!isDigest(d)) throw new Error(`not a sha256 hex string: ${JSON.stringify(hex)}`);
  return d;
}

/** The 64 hex digits of a digest (without the `sha256:` prefix). */
export function digestHex(d: Digest): string {
  return d.slice(7);
}

/** Digest of bytes, or of a string's UTF-8 encoding. */
export function hashBytes(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
}

/** Digest of a file's content, read in 1 MiB chunks (never whole in memory). Rejects if unreadable. */
export async function hashFile(path: string): Promise<Digest> {
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return `sha256:${h.digest('hex')}` as Digest;
}

let sharedBuf: Buffer | undefined;

/**
 * Synchronous {@link hashFile}, for tight loops over many small files where a
 * promise per file costs more than the read. Also returns the bytes hashed.
 */
export function hashFileSync(path: string): { digest: Digest; size: number } {
  const buf = (sharedBuf ??= Buffer.allocUnsafe(CHUNK));
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  let size = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      size += n;
      h.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return { digest: `sha256:${h.digest('hex')}` as Digest, size };
}

/**
 * JSON with object keys sorted (by UTF-16 code units) at every depth and no
 * whitespace: equal values always give equal strings, so their hash is a key.
 * Follows `JSON.stringify` for `toJSON`, `undefined` object members (dropped)
 * and `undefined` array items (`null`); throws a TypeError for values JSON
 * can't represent faithfully (NaN, ±Infinity, bigint, functions, symbols,
 * cycles) rather than silently hashing them as `null`.
 */
export function canonicalJson(value: unknown): string {
  const out: string[] = [];
  write(value, out, new Set());
  return out.join('');
}

function write(value: unknown, out: string[], stack: Set<object>): void {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON(): unknown }).toJSON();
  }
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} has no JSON form`);
      out.push(JSON.stringify(value));
      return;
    case 'object': {
      if (value === null) {
        out.push('null');
        return;
      }
      if (stack.has(value)) throw new TypeError('canonicalJson: cyclic value');
      stack.add(value);
      if (Array.isArray(value)) {
        out.push('[');
        value.forEach((item, i) => {
          if (i > 0) out.push(',');
          if (item === undefined) out.push('null');
          else write(item, out, stack);
        });
        out.push(']');
      } else {
        const obj = value as Record<string, unknown>;
        const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
        out.push('{');
        keys.forEach((k, i) => {
          if (i > 0) out.push(',');
          out.push(JSON.stringify(k), ':');
          write(obj[k], out, stack);
        });
        out.push('}');
      }
      stack.delete(value);
      return;
    }
    default:
      throw new TypeError(`canonicalJson: a ${typeof value} has no JSON form`);
  }
}
