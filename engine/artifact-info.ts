/**
 * What a stored artifact holds, for `pipe show` and `pipe export`: which
 * format its bytes are in (safetensors tensors, JSON, CSV, a folder, or plain
 * bytes) and a summary of its content. Formats are recognised by content,
 * not by name (artifact names such as `dataset` have no extension), except
 * that a CSV must be named `*.csv` or look like one (a comma-separated
 * header line of plain text).
 *
 * Artifacts are found through the lock: `STAGE/ARTIFACT` names an output of
 * STAGE as pipe.lock recorded it (an artifact name, or a workspace out path).
 */
import { readFile } from 'node:fs/promises';
import type { Digest } from '../cache/digest.js';
import type { StoredRef } from '../cache/store.js';
import { decodeTensors, type TensorFile } from '../cache/tensors.js';
import type { Project } from './project.js';
import { fail, ok, type Failure, type Result } from './result.js';

/** How an artifact's bytes are laid out. */
export type ArtifactFormat = 'tensors' | 'json' | 'csv' | 'dir' | 'file';

/** One artifact of one stage, as recorded in the lock. */
export interface ArtifactRef {
  readonly stage: string;
  readonly name: string;
  readonly ref: StoredRef;
}

/** An artifact read from the cache, with its decoded content where it has one. */
export interface LoadedArtifact extends ArtifactRef {
  readonly format: ArtifactFormat;
  /** A read-only path: the object file, or a folder view. Never write to it. */
  readonly path: string;
  readonly tensors?: TensorFile;
  readonly json?: unknown;
  readonly csv?: { readonly header: readonly string[]; readonly rows: number };
  readonly files?: readonly { readonly path: string; readonly size: number }[];
}

/** The summary `pipe show --json` prints for one artifact. */
export interface ArtifactSummary {
  readonly stage: string;
  readonly name: string;
  readonly digest: Digest;
  readonly size: number;
  readonly format: ArtifactFormat;
  readonly tensors?: readonly { readonly name: string; readonly dtype: string; readonly shape: readonly number[] }[];
  readonly metadata?: readonly string[];
  readonly keys?: readonly { readonly key: string; readonly type: string; readonly size: number }[];
  readonly header?: readonly string[];
  readonly rows?: number;
  readonly files?: readonly { readonly path: string; readonly size: number }[];
}

/**
 * The artifacts `spec` names: `STAGE` (all its outputs) or `STAGE/ARTIFACT`
 * (the first `/` separates them, so `STAGE/data/out.csv` names a workspace out).
 */
export function findArtifacts(p: Project, spec: string): Result<ArtifactRef[], Failure> {
  const slash = spec.indexOf('/');
  const stage = slash < 0 ? spec : spec.slice(0, slash);
  const name = slash < 0 ? undefined : spec.slice(slash + 1);
  const entry = Object.hasOwn(p.env.lock, stage) ? p.env.lock[stage] : undefined;
  if (!entry) {
    const known = p.graph.stages.has(stage);
    return fail({
      reason: 'usage',
      message: known
        ? `stage "${stage}" has no outputs in ${lockName(p)} yet: run \`pipe run ${stage}\` first`
        : `no stage named "${stage}" in ${p.graph.config.file} (stages: ${p.graph.order.join(', ')})`,
    });
  }
  const names = Object.keys(entry.outputs);
  if (name === undefined) return ok(names.map((n) => ({ stage, name: n, ref: entry.outputs[n] as StoredRef })));
  const ref = Object.hasOwn(entry.outputs, name) ? entry.outputs[name] : undefined;
  if (!ref) {
    return fail({ reason: 'usage', message: `stage "${stage}" has no artifact "${name}" (it has: ${names.join(', ') || 'none'})` });
  }
  return ok([{ stage, name, ref }]);
}

function lockName(p: Project): string {
  return p.lockPath.slice(p.root.length + 1);
}

const MAX_PARSE = 512 << 20;

/** Reads an artifact from the cache and recognises its format; fails if the cache lost it. */
export async function loadArtifact(p: Project, a: ArtifactRef): Promise<Result<LoadedArtifact, Failure>> {
  if (!(await p.env.store.has(a.ref))) {
    return fail({ reason: 'io', message: `${a.stage}/${a.name} (${a.ref.digest}) is not in the cache (deleted by \`pipe gc\`?): \`pipe run ${a.stage}\` writes it again` });
  }
  const path = await p.env.store.view(a.ref);
  if (a.ref.kind === 'dir') {
    const manifest = await p.env.store.readManifest(a.ref.digest);
    return ok({ ...a, format: 'dir', path, files: manifest.files.map((f) => ({ path: f.path, size: f.size })) });
  }
  if (a.ref.size > MAX_PARSE) return ok({ ...a, format: 'file', path });
  const bytes = await readFile(path);
  const tensors = asTensors(bytes, path);
  if (tensors) return ok({ ...a, format: 'tensors', path, tensors });
  const text = asText(bytes);
  if (text !== undefined) {
    try {
      return ok({ ...a, format: 'json', path, json: JSON.parse(text) as unknown });
    } catch { /* not JSON */ }
    const lines = text.split(/\r?\n/);
    if (lines.at(-1) === '') lines.pop();
    const first = lines[0] ?? '';
    if (a.name.endsWith('.csv') || (first.includes(',') && lines.length > 1)) {
      return ok({ ...a, format: 'csv', path, csv: { header: first.split(','), rows: Math.max(0, lines.length - 1) } });
    }
  }
  return ok({ ...a, format: 'file', path });
}

/** Decoded safetensors, or undefined when the bytes are not a valid tensor file. */
function asTensors(bytes: Buffer, path: string): TensorFile | undefined {
  if (bytes.length < 10) return undefined;
  const n = Number(bytes.readBigUInt64LE(0));
  if (n < 2 || 8 + n > bytes.length || bytes[8] !== 0x7b /* { */) return undefined;
  try {
    return decodeTensors(bytes, path);
  } catch {
    return undefined;
  }
}

/** The bytes as UTF-8 text, or undefined when they are binary. */
function asText(bytes: Buffer): string | undefined {
  if (bytes.includes(0)) return undefined;
  const text = bytes.toString('utf8');
  return text.includes('\uFFFD') ? undefined : text;
}

/** The `--json` summary of a loaded artifact. */
export function summarize(a: LoadedArtifact): ArtifactSummary {
  const base = { stage: a.stage, name: a.name, digest: a.ref.digest, size: a.ref.size, format: a.format };
  switch (a.format) {
    case 'tensors': {
      const t = a.tensors as TensorFile;
      return {
        ...base,
        tensors: Object.entries(t.tensors).map(([name, x]) => ({ name, dtype: x.dtype, shape: x.shape })),
        metadata: Object.keys(t.metadata).sort(),
      };
    }
    case 'json':
      return { ...base, keys: jsonKeys(a.json) };
    case 'csv':
      return { ...base, header: a.csv?.header ?? [], rows: a.csv?.rows ?? 0 };
    case 'dir':
      return { ...base, files: a.files ?? [] };
    case 'file':
      return base;
  }
}

/** Top-level entries of a JSON value: each key's type and size (items, keys, characters; 1 for a scalar). */
function jsonKeys(v: unknown): { key: string; type: string; size: number }[] {
  const entries: [string, unknown][] = Array.isArray(v) ? [['[]', v]] : v !== null && typeof v === 'object' ? Object.entries(v) : [['', v]];
  return entries.map(([key, x]) => {
    if (Array.isArray(x)) return { key, type: 'array', size: x.length };
    if (x !== null && typeof x === 'object') return { key, type: 'object', size: Object.keys(x).length };
    if (typeof x === 'string') return { key, type: 'string', size: x.length };
    return { key, type: x === null ? 'null' : typeof x, size: 1 };
  });
}

/** Bytes for people: 512 B, 12.3 kB, 4.1 MB. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
