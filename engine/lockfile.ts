/**
 * pipe.lock: the complete recipe of one experiment, committed by users.
 *
 * YAML with a fixed key order (stages in pipeline order, fields in the order
 * below, maps sorted), so a diff shows exactly what changed. It is rewritten
 * whole and atomically after each stage completes; a crash leaves the previous
 * version, never a half file.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { writeFileAtomic } from '../cache/atomic.js';
import { canonicalJson, hashBytes, isDigest } from '../cache/digest.js';
import type { StoredRef } from '../cache/store.js';
import type { KeyMaterial, StageKey } from './fingerprint.js';
import type { ParamValue } from './stage-api.js';

/**
 * What the lock records for one stage: the material its key was made from
 * (kind, code, params, input and dep digests; not the declared outs, which
 * show as the output names) and what the run produced.
 */
export interface LockEntry extends Omit<KeyMaterial, 'outs'> {
  readonly key: StageKey;
  readonly outputs: Readonly<Record<string, StoredRef>>;
  readonly metrics: Readonly<Record<string, number | string>>;
  /** How it ran: backend, threads, versions. */
  readonly info: Readonly<Record<string, string>>;
  readonly duration_ms: number;
  readonly finished_at: string;
}

/** The whole lock. */
export interface Lock {
  readonly version: 1;
  /**
   * The `--set` overrides (param path -> value) its entries were made with,
   * so the lock never silently disagrees with the pipeline file; absent or
   * empty: made from the pipeline file as written.
   */
  readonly overrides?: Readonly<Record<string, ParamValue>>;
  readonly stages: Readonly<Record<string, LockEntry>>;
  /**
   * Code fingerprint -> the files it hashed (relative to the stage module's
   * folder) and their digests: what lets `pipe repro` name the files that
   * changed since the lock was made.
   */
  readonly code_files?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

const HEADER = '# pipe.lock: written by `pipe run`; commit it with pipeline.yaml to reproduce this experiment.\n';

/** The second line of a lock: which overrides made it. */
function overridesLine(overrides: Readonly<Record<string, ParamValue>>): string {
  const sets = Object.entries(overrides).map(([k, v]) => `--set ${k}=${JSON.stringify(v)}`);
  return sets.length === 0
    ? '# made from the pipeline file as written (no --set overrides)\n'
    : `# made with overrides: ${sets.join(' ')} (the pipeline file says otherwise for these)\n`;
}

/*
 * A lock's JSON mirror (ProjectLayout.lockMirror, in `.pipe/state`) holds the
 * digest of the lock's text and the data that text parses to, written with
 * the lock, and the version of the formatter that wrote the text. A command
 * whose lock text has that digest, from this formatter, reads the JSON (well
 * under a millisecond) instead of parsing the YAML (tens of milliseconds,
 * most of a short command's CPU after start-up). Any other text (edited by
 * hand, a crash between the two writes) or another formatter's mirror is
 * parsed as YAML.
 */

/**
 * The version of the text formatLock makes: bump it with any change to the
 * text of the same data (the header, a field's place, a `yaml` upgrade that
 * writes otherwise). A mirror of another version does not vouch for the
 * lock's text being formatLock's, so a no-op run formats the lock again and
 * rewrites it in this version's format (LockWriter.settle).
 */
export const LOCK_FORMAT = 1;

/** The data of the mirror `m` if it was written for exactly `text`, by this formatter. */
function readMirror(m: string | undefined, text: string): unknown {
  if (m === undefined) return undefined;
  try {
    const j = JSON.parse(readFileSync(m, 'utf8')) as { format?: unknown; text?: unknown; data?: unknown } | null;
    return j !== null && j.format === LOCK_FORMAT && j.text === hashBytes(text) ? j.data : undefined;
  } catch {
    return undefined;
  }
}

/** Whether JSON keeps `v` as YAML does: no non-finite numbers and no -0 (JSON writes them as null and 0). */
function jsonSafe(v: unknown): boolean {
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (v === null || typeof v !== 'object') return true;
  return Object.values(v).every(jsonSafe);
}

/** Writes the mirror `m` of a lock (its text and the document it was formatted from), or removes a mirror that could not be right. */
async function writeMirror(m: string | undefined, text: string, doc: unknown): Promise<void> {
  if (m === undefined) return;
  if (jsonSafe(doc)) await writeFileAtomic(m, JSON.stringify({ format: LOCK_FORMAT, text: hashBytes(text), data: doc }) + '\n').catch(() => undefined);
  else await rm(m, { force: true }).catch(() => undefined);
}

/**
 * Reads a lock; a missing file is an empty lock, an unreadable or malformed
 * one an error message naming it. Each call reads the file (the data from
 * its JSON mirror when that is for this text, else parsing the YAML): a
 * command keeps the lock its project was opened with (`Project.lock`)
 * instead of reading it again.
 */
export function readLock(path: string, mirror?: string): { lock: Lock } | { error: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { lock: { version: 1, stages: nullProto({}) } };
    return { error: `cannot read ${path}: ${code ?? String(e)}` };
  }
  const startOver = '(fix it, or delete it to start over: outputs are rebuilt or restored from the cache)';
  let data: unknown;
  let mirrored = false;
  try {
    const fromMirror = readMirror(mirror, text);
    mirrored = fromMirror !== undefined;
    data = fromMirror ?? parse(text, { maxAliasCount: 100, uniqueKeys: true, logLevel: 'error' });
  } catch (e) {
    return { error: `${path} is not valid YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)} ${startOver}` };
  }
  const problem = lockProblem(data);
  if (problem !== undefined) return { error: `${path} is not a valid pipe.lock: ${problem} ${startOver}` };
  const d = data as { stages: Record<string, LockEntry>; overrides?: unknown; code_files?: unknown };
  const stages = nullProto(d.stages);
  const overrides = isMap(d.overrides) ? (d.overrides as Record<string, ParamValue>) : {};
  const codeFiles = isMap(d.code_files) ? (d.code_files as Record<string, Record<string, string>>) : undefined;
  const lock: Lock = { version: 1, overrides, stages, ...(codeFiles ? { code_files: codeFiles } : {}) };
  // Read from the mirror of this very text: the text is what formatLock makes of this lock.
  if (mirrored) verbatim.set(lock, hashBytes(text));
  return { lock };
}

/** Locks read from a mirror that vouches for the file's text (written by a LockWriter from this data), with the digest of that text. */
const verbatim = new WeakMap<Lock, string>();

/**
 * Whether `formatLock(lock, order)` is `text` (the lock file as it is now),
 * known without formatting: `text` is still the text `lock` was read from,
 * through a mirror that vouches it is the formatting of this data, and
 * `order` puts the stages in the order they have there. Text changed since (a
 * checkout, an editor) or another stage order gives false.
 */
export function isVerbatim(lock: Lock, text: string, order: readonly string[]): boolean {
  const digest = verbatim.get(lock);
  if (digest === undefined || digest !== hashBytes(text)) return false;
  const names = stageNames(lock, order);
  const keys = Object.keys(lock.stages);
  return names.length === keys.length && names.every((n, i) => n === keys[i]);
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What is wrong with parsed lock data (the shape formatLock writes), or undefined. Extra fields are kept. */
function lockProblem(data: unknown): string | undefined {
  if (!isMap(data)) return 'expected a map with "version: 1" and "stages"';
  if (data['version'] !== 1) return `expected "version: 1", found ${JSON.stringify(data['version']) ?? 'none'}`;
  const stages = data['stages'];
  if (!isMap(stages)) return '"stages" is not a map';
  for (const [name, e] of Object.entries(stages)) {
    const at = `stage "${name}"`;
    if (name === '__proto__' || name === 'constructor' || name === 'prototype') return `${at}: not a valid stage name`;
    if (!isMap(e)) return `${at} is not a map`;
    for (const f of ['kind', 'key', 'code', 'finished_at'] as const) {
      if (typeof e[f] !== 'string') return `${at}: "${f}" is not a string`;
    }
    if (!isDigest(e['key'] as string)) return `${at}: "key" is not a sha256 digest`;
    if (typeof e['duration_ms'] !== 'number' || !Number.isFinite(e['duration_ms'])) return `${at}: "duration_ms" is not a number`;
    for (const f of ['params', 'inputs', 'deps', 'outputs', 'metrics', 'info'] as const) {
      if (!isMap(e[f])) return `${at}: "${f}" is not a map`;
    }
    for (const f of ['inputs', 'deps'] as const) {
      for (const [k, d] of Object.entries(e[f] as Record<string, unknown>)) {
        if (typeof d !== 'string' || !isDigest(d)) return `${at}: ${f} "${k}" is not a sha256 digest`;
      }
    }
    for (const [k, r] of Object.entries(e['outputs'] as Record<string, unknown>)) {
      if (!isMap(r) || typeof r['digest'] !== 'string' || !isDigest(r['digest'])) return `${at}: output "${k}" has no sha256 digest`;
      if (r['kind'] !== 'file' && r['kind'] !== 'dir') return `${at}: output "${k}" has kind ${JSON.stringify(r['kind'])} (expected file or dir)`;
      if (typeof r['size'] !== 'number' || !Number.isSafeInteger(r['size']) || r['size'] < 0) return `${at}: output "${k}" has no valid size`;
    }
    for (const [k, m] of Object.entries(e['metrics'] as Record<string, unknown>)) {
      if (typeof m !== 'string' && (typeof m !== 'number' || !Number.isFinite(m))) return `${at}: metric "${k}" is not a number or a string`;
    }
    for (const [k, v] of Object.entries(e['info'] as Record<string, unknown>)) {
      if (typeof v !== 'string') return `${at}: info "${k}" is not a string`;
    }
  }
  return undefined;
}

/** A copy of `o` without a prototype: a stage named "toString" finds its own entry or nothing. */
function nullProto<T>(o: Readonly<Record<string, T>>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, o);
}

function sorted<T>(o: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k] as T]));
}

const YAML_OPTIONS = { lineWidth: 0, sortMapEntries: false } as const;

/** A stage's block under `stages:` (YAML, indented), by entry: a run rewrites the lock after each stage, changing one entry. */
const entryText = new WeakMap<LockEntry, { name: string; text: string; doc: object }>();

function stageText(name: string, e: LockEntry): { text: string; doc: object } {
  const hit = entryText.get(e);
  if (hit?.name === name) return hit;
  const doc = {
    kind: e.kind,
    key: e.key,
    code: e.code,
    params: sorted(e.params),
    inputs: sorted(e.inputs),
    deps: sorted(e.deps),
    outputs: Object.fromEntries(Object.entries(sorted(e.outputs)).map(([k, r]) => [k, { digest: r.digest, kind: r.kind, size: r.size }])),
    metrics: sorted(e.metrics),
    info: sorted(e.info),
    duration_ms: e.duration_ms,
    finished_at: e.finished_at,
  };
  // As a nested map's block is written: the same lines, two spaces further in (blank lines stay blank).
  const text = stringify({ [name]: doc }, YAML_OPTIONS).replace(/^(?=.)/gm, '  ');
  const made = { name, text, doc };
  entryText.set(e, made);
  return made;
}

/** The last `code_files` section formatted, by its JSON (which is far cheaper to make than its YAML). */
let codeFilesMemo: { json: string; text: string } | undefined;

function codeFilesText(doc: object): string {
  const json = JSON.stringify(doc);
  if (codeFilesMemo?.json !== json) codeFilesMemo = { json, text: stringify(doc, YAML_OPTIONS) };
  return codeFilesMemo.text;
}

/** The lock's text: stages in `order` (others after, by name), fields in a fixed order. */
export function formatLock(lock: Lock, order: readonly string[]): string {
  return formatted(lock, order).text;
}

/** The lock's stages in the order its text lists them: those in `order` first, in that order, the others by name. */
function stageNames(lock: Lock, order: readonly string[]): string[] {
  return [...order.filter((n) => Object.hasOwn(lock.stages, n)), ...Object.keys(lock.stages).filter((n) => !order.includes(n)).sort()];
}

/** The lock's text and the document it is the YAML of. */
function formatted(lock: Lock, order: readonly string[]): { text: string; doc: object } {
  const names = stageNames(lock, order);
  const overrides = sorted(lock.overrides ?? {});
  const used = new Set(names.map((n) => (lock.stages[n] as LockEntry).code));
  const code = Object.entries(lock.code_files ?? {}).filter(([d]) => used.has(d)).sort(([a], [b]) => (a < b ? -1 : 1));
  // The document {version, overrides, stages, code_files?}, each stage's block formatted once (stageText).
  const blocks = names.map((n) => [n, stageText(n, lock.stages[n] as LockEntry)] as const);
  const stages = names.length === 0 ? stringify({ stages: {} }, YAML_OPTIONS) : 'stages:\n' + blocks.map(([, b]) => b.text).join('');
  const codeDoc = code.length ? { code_files: Object.fromEntries(code.map(([d, f]) => [d, sorted(f)])) } : undefined;
  const codeFiles = codeDoc ? codeFilesText(codeDoc) : '';
  const text = HEADER + overridesLine(overrides) + stringify({ version: 1, overrides }, YAML_OPTIONS) + stages + codeFiles;
  return { text, doc: { version: 1, overrides, stages: Object.fromEntries(blocks.map(([n, b]) => [n, b.doc])), ...codeDoc } };
}

/**
 * Serialises updates to one lock file: each `set` rewrites the file atomically,
 * in call order, so concurrent stage completions never interleave.
 */
export class LockWriter {
  private current: Record<string, LockEntry>;
  private chain: Promise<void> = Promise.resolve();
  private overrides: Readonly<Record<string, ParamValue>>;
  private codeFiles: Readonly<Record<string, Readonly<Record<string, string>>>>;

  /** `mirror`: where to keep the lock's JSON mirror (ProjectLayout.lockMirror), if anywhere. */
  constructor(readonly path: string, private readonly initial: Lock, private readonly order: readonly string[], private readonly mirror?: string) {
    this.current = nullProto(initial.stages);
    this.overrides = initial.overrides ?? {};
    this.codeFiles = initial.code_files ?? {};
  }

  /** Set by every change of an entry, or of the header's data (compared by content). */
  private changed = false;
  /** The text this writer last wrote (with its mirror). */
  private written: string | undefined;

  /** Whether the writer was made with `lock` and still holds exactly its data (no entry set or dropped, the same header). */
  unchangedFrom(lock: Lock): boolean {
    return !this.changed && this.initial === lock;
  }

  /** The whole lock as it is now. */
  get lock(): Lock {
    const used = new Set(Object.values(this.current).map((e) => e.code));
    const code_files = Object.fromEntries(Object.entries(this.codeFiles).filter(([d]) => used.has(d)));
    return { version: 1, overrides: this.overrides, stages: this.current, code_files };
  }

  /**
   * Sets the overrides the header records and adds code file lists (kept for
   * the fingerprints entries use); written with the next update.
   */
  setMeta(overrides: Readonly<Record<string, ParamValue>>, codeFiles: Readonly<Record<string, Readonly<Record<string, string>>>>): void {
    const merged = { ...this.codeFiles, ...codeFiles };
    if (canonicalJson(overrides) !== canonicalJson(this.overrides) || canonicalJson(merged) !== canonicalJson(this.codeFiles)) this.changed = true;
    this.overrides = overrides;
    this.codeFiles = merged;
  }

  /** The entries as they are now (including unwritten updates). */
  get stages(): Readonly<Record<string, LockEntry>> {
    return this.current;
  }

  /** Records `entry` for `stage` and rewrites the file; resolves when written. */
  set(stage: string, entry: LockEntry): Promise<void> {
    this.changed = true;
    this.current = nullProto({ ...this.current, [stage]: entry });
    return this.flush();
  }

  /** Drops entries of stages that are no longer in the pipeline. */
  prune(keep: ReadonlySet<string>): Promise<void> {
    const before = Object.keys(this.current).length;
    this.current = nullProto(Object.fromEntries(Object.entries(this.current).filter(([n]) => keep.has(n))));
    if (Object.keys(this.current).length === before) return this.chain;
    this.changed = true;
    return this.flush();
  }

  /**
   * Formats the lock as it is now without writing it, so that the next write
   * formats only what changed (each entry's block is kept): for a moment when
   * pipe waits anyway (a stage running in a worker).
   */
  prime(): void {
    formatted(this.lock, this.order);
  }

  /** Rewrites the file now (e.g. after {@link setMeta}); resolves when written. */
  save(): Promise<void> {
    return this.flush();
  }

  /**
   * Brings the file in line with the lock as it is now, `onDisk` being its
   * text: rewrites it if that is not the lock's formatting; else writes only
   * its mirror, if no mirror vouched for this text yet (there was none, a
   * stale one, another formatter's), so that the next command reads the JSON.
   */
  async settle(onDisk: string): Promise<void> {
    await this.chain.catch(() => undefined);
    const { text, doc } = formatted(this.lock, this.order);
    if (text !== onDisk) return this.flush();
    // Written by this writer (with its mirror), or read through a mirror of this text: the mirror is right.
    if (text === this.written || verbatim.get(this.initial) === hashBytes(text)) return;
    await writeMirror(this.mirror, text, doc);
  }

  private flush(): Promise<void> {
    const snapshot: Lock = this.lock;
    // A failed write (disk full) fails its own caller only: the next one writes every entry again.
    this.chain = this.chain.catch(() => undefined).then(async () => {
      const { text, doc } = formatted(snapshot, this.order);
      await writeFileAtomic(this.path, text);
      await writeMirror(this.mirror, text, doc);
      this.written = text;
    });
    return this.chain;
  }
}
