/**
 * Code fingerprints and stage keys.
 *
 * A module stage's code fingerprint is the hash of its module file and every
 * project module it imports, transitively (relative imports only: packages in
 * node_modules are covered by the versions recorded in the lock). Paths inside
 * the fingerprint are relative to the entry module, so two checkouts in
 * different folders agree. Each file is hashed as {@link codeText} gives it:
 * without comments, whitespace between tokens normalised, so a JSDoc fix or a
 * re-indent keeps every key and a code edit changes it. Built-in kinds are
 * hashed as compiled (dist/stages/*.js: types are gone too); user modules as
 * written.
 *
 * The stage key is the hash of the canonical JSON of everything that decides a
 * stage's outputs: same key, same outputs. Nothing else decides staleness.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { writeFileAtomic } from '../cache/atomic.js';
import { canonicalJson, hashBytes, isDigest, type Digest } from '../cache/digest.js';
import { codeText } from './code-text.js';
import type { Params } from './stage-api.js';

/** A stage key: `sha256:<hex>` over the canonical key material. */
export type StageKey = string & { readonly __brand: 'StageKey' };

const IMPORT_RE = /(?:^|[;\s})])(?:import|export)\s*(?:[\w*{}\s,$]+\s*from\s*)?['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** `x.js` imported from TypeScript names `x.ts` when only that exists (see load-module.ts). */
function moduleFile(path: string): string {
  return /\.m?js$/.test(path) && !existsSync(path) && existsSync(path.replace(/js$/, 'ts')) ? path.replace(/js$/, 'ts') : path;
}

/**
 * A module file as last read: its identity (for the memo), digest and
 * relative imports as written (resolved on each use: which file `./u.js`
 * names can change without this file changing, e.g. a new u.js beside u.ts).
 */
interface ModuleEntry {
  readonly stamp: string;
  readonly digest: Digest;
  readonly imports: readonly string[];
}

/**
 * Memo of module files, valid while a file's inode, size, mtime and ctime
 * are unchanged: a long-lived process (`pipe watch`) sees an edited stage
 * module, and a short one reads each file once. A file modified in the last
 * {@link RACY_MS} is not memoised (git's "racily clean" rule): a second write
 * within the file system's clock tick could leave its stamp unchanged.
 */
const fileCache = new Map<string, ModuleEntry>();
const RACY_MS = 2000;
const RACY_NS = BigInt(RACY_MS) * 1_000_000n;

/**
 * The memo kept between commands (ProjectLayout.codeMemo, `.pipe/state/code.json`):
 * every command fingerprints every module stage, and reading and tokenising
 * all their files (the models, the kernels) costs more than the rest of a
 * short command's planning. Same rule: an entry serves only while its file's
 * stamp is unchanged. `generation` counts the entries this process made; a
 * memo file is rewritten only when it has not seen them all.
 */
let generation = 0;
const savedAt = new Map<string, number>();

/** Adds the memo kept in `path` (a missing or unreadable file adds nothing). */
export function loadCodeMemo(path: string): void {
  if (savedAt.has(path)) return;
  savedAt.set(path, generation);
  let data: unknown;
  let written: bigint;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
    written = statSync(path, { bigint: true }).mtimeNs;
  } catch {
    return;
  }
  const files = (data as { files?: unknown } | null)?.files;
  if ((data as { v?: unknown } | null)?.v !== 2 || files === null || typeof files !== 'object') return;
  for (const [file, e] of Object.entries(files as Record<string, unknown>)) {
    if (!Array.isArray(e) || e.length !== 3 || fileCache.has(file)) continue;
    const [stamp, digest, imports] = e as unknown[];
    if (typeof stamp !== 'string' || typeof digest !== 'string' || !isDigest(digest) || !Array.isArray(imports) || imports.some((i) => typeof i !== 'string')) continue;
    // Racily clean against the memo file's own time (the file system's clock, not this machine's: NFS):
    // a file changed shortly before the memo was written may have changed again within one clock tick.
    const ctime = /:(\d+)$/.exec(stamp)?.[1];
    if (ctime === undefined || BigInt(ctime) > written - RACY_NS) continue;
    fileCache.set(file, { stamp, digest, imports: imports as string[] });
  }
}

/** Writes the memo to `path` (atomically) when this process made entries it lacks; a failure only costs a later command the re-reading. */
export async function saveCodeMemo(path: string): Promise<void> {
  if (savedAt.get(path) === generation) return;
  savedAt.set(path, generation);
  const files = Object.fromEntries([...fileCache].map(([f, m]) => [f, [m.stamp, m.digest, m.imports]]));
  await writeFileAtomic(path, JSON.stringify({ v: 2, files }) + '\n').catch(() => undefined);
}

function readModule(path: string): ModuleEntry {
  const st = statSync(path, { bigint: true });
  const stamp = `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  const memo = fileCache.get(path);
  if (memo?.stamp === stamp) return memo;
  const text = codeText(readFileSync(path, 'utf8'));
  const imports: string[] = [];
  for (const match of text.matchAll(IMPORT_RE)) {
    const spec = match[1] ?? match[2];
    if (spec) imports.push(spec);
  }
  const m = { stamp, digest: hashBytes(text), imports };
  if (Date.now() - Number(st.ctimeMs) > RACY_MS) fileCache.set(path, m);
  else fileCache.delete(path);
  generation++;
  return m;
}

/**
 * The fingerprint of `entry` and the project modules it imports. Also returns
 * the files, so watch mode can watch them, and each file's digest (of its
 * code, as codeText sees it). A missing imported file is an error naming both
 * files.
 */
export function codeFingerprint(entry: string): { digest: Digest; files: string[]; fileDigests: ReadonlyMap<string, Digest> } {
  const seen = new Map<string, Digest>();
  const base = dirname(entry);
  const visit = (path: string, from?: string): void => {
    if (seen.has(path)) return;
    let m: ModuleEntry;
    try {
      m = readModule(path);
    } catch (e) {
      throw new Error(from ? `${from} imports ${path}, which cannot be read` : `cannot read stage module ${path}: ${String(e)}`);
    }
    seen.set(path, m.digest);
    for (const spec of m.imports) visit(moduleFile(resolve(dirname(path), spec)), path);
  };
  visit(entry);
  const entries = [...seen].map(([p, d]) => [relative(base, p).split(sep).join('/'), d] as const);
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { digest: hashBytes(canonicalJson(entries)), files: [...seen.keys()], fileDigests: seen };
}

/** Everything that goes into a stage key. */
export interface KeyMaterial {
  /** "cmd" or the `uses` of a module stage. */
  readonly kind: string;
  /** Code fingerprint (module stages) or the command line (cmd stages). */
  readonly code: string;
  readonly params: Params;
  /** `<stage>/<output>` -> digest, for every output of every needed stage. */
  readonly inputs: Readonly<Record<string, Digest>>;
  /** Workspace path -> digest, for every file dep. */
  readonly deps: Readonly<Record<string, Digest>>;
  /** Declared workspace outs and artifact names: renaming one changes the key. */
  readonly outs: readonly string[];
}

/** The key for `m`. Format version 1; bump it when the material changes shape. */
export function stageKey(m: KeyMaterial): StageKey {
  return hashBytes(canonicalJson({ v: 1, ...m })) as string as StageKey;
}
