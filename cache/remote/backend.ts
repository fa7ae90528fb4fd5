/**
 * A remote cache: a second object store and run cache that a team shares.
 * Every backend keeps two areas of opaque blobs named by hex digests, as
 * Bazel's HTTP remote-cache protocol lays them out:
 *
 * ```
 * <prefix>/cas/<sha256 hex>   objects (the bytes whose sha256 is the name)
 * <prefix>/ac/<stage key hex> run records (the JSON of cache/run-cache.ts)
 * ```
 *
 * Backends only move bytes; they trust nothing and verify nothing: the
 * transfer layer (transfer.ts) hashes every download before the local cache
 * takes it. Credentials come from the environment, never from the URL.
 */
import type { Readable } from 'node:stream';

/** `cas`: objects; `ac`: run records. */
export type Area = 'cas' | 'ac';

/** What a backend can do. Methods reject with a {@link RemoteError} on transport errors. */
export interface RemoteBackend {
  /** The URL, for messages (no credentials in it). */
  readonly display: string;
  /** The size of the blob, or undefined when the remote does not have it (HEAD). */
  stat(area: Area, hex: string): Promise<number | undefined>;
  /** A stream of the blob's bytes, or undefined when absent (GET). */
  read(area: Area, hex: string): Promise<Readable | undefined>;
  /** Stores the local file `src` of `size` bytes as the blob (PUT); a blob there is replaced. */
  write(area: Area, hex: string, src: string, size: number): Promise<void>;
  /** The names of every blob in an area (for `pipe gc --remote`). */
  list(area: Area): Promise<string[]>;
  /** Deletes a blob (absent is fine). */
  remove(area: Area, hex: string): Promise<void>;
  /**
   * Where a crashed write can leave debris on the remote (file://: temp
   * files), removes what crashed writes left, best effort; resolves to how
   * many. Called by `pipe gc --remote` only.
   */
  removeDeadTemps?(): Promise<number>;
  /** Frees sockets and clients. */
  close(): void;
}

/** A remote that could not be reached or answered with an error. */
export class RemoteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteError';
  }
}

/** Where the remote is, as the `remote:` block of pipeline.yaml says. */
export interface RemoteSpec {
  readonly url: string;
  /** s3: the server (default AWS). */
  readonly endpoint?: string;
  readonly region?: string;
  /** s3: bucket in the path. */
  readonly pathStyle?: boolean;
  /** Transfers at once (sockets to keep open). */
  readonly jobs: number;
  /** Where credentials come from (process.env). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * The backend for `spec.url` (http(s)://, s3://, file:///), loaded on demand;
 * or a message saying what is wrong with the URL.
 */
export async function openRemote(spec: RemoteSpec): Promise<RemoteBackend | { error: string }> {
  let u: URL;
  try {
    u = new URL(spec.url);
  } catch {
    return { error: `remote url ${JSON.stringify(spec.url)} is not a URL` };
  }
  if (u.username || u.password) return { error: 'the remote url holds credentials: put them in the environment (see the README), not in the pipeline file' };
  switch (u.protocol) {
    case 'file:': {
      const { FileRemote } = await import('./file.js');
      return new FileRemote(decodeURIComponent(u.pathname));
    }
    case 'http:':
    case 'https:': {
      const { HttpRemote } = await import('./http.js');
      return new HttpRemote(u, spec);
    }
    case 's3:': {
      const { S3Remote } = await import('./s3.js');
      return S3Remote.open(u, spec);
    }
    default:
      return { error: `remote url ${JSON.stringify(spec.url)}: expected http://, https://, s3:// or file:///` };
  }
}

/** True for the 64 lower-case hex digits of a sha256. */
export function isHex64(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}
