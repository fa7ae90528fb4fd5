/**
 * pipeline.yaml -> validated, interpolated {@link PipelineConfig}.
 *
 * Phases (vite's UserConfig -> ResolvedConfig):
 *   text --guards (size, nesting)--> --yaml.parseDocument--> Document (nodes keep their source range)
 *        --structure (duplicate keys, aliases)--> --toJS--> raw data
 *        --ajv (pipeline.schema.json)--> shape checked, errors mapped to nodes
 *        --values (finite numbers, reserved names)--> --apply --set-->
 *        --resolve globals (they may refer to each other), then stages--> PipelineConfig (Readonly)
 * Every error is a Diagnostic with file, line and column (or the --set it came from).
 * Beside it: config-checks.ts (guards, structure, values, globals),
 * config-overrides.ts (`--set`), config-source.ts (hidden `${...}`, node locations).
 */
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { parseDocument, type Document } from 'yaml';
import type { ParamValue } from './stage-api.js';
import { LineIndex, locate, type Diagnostic, type Location } from './diagnostic.js';
import { fail, ok, type Result } from './result.js';
import { schemaErrors } from './schema.js';
import { interpolate, interpolateCommand, lookupIn } from './interpolate.js';
import { checkValues, isReservedKey, parseGuards, resolveGlobals, structureErrors } from './config-checks.js';
import { applyGlobalOverrides, withStageOverrides, type Override } from './config-overrides.js';
import { hideReferences, nodeLocation, references, unhide } from './config-source.js';

export { parseOverride, type Override } from './config-overrides.js';

/** One stage as written, after interpolation. */
export interface StageConfig {
  readonly name: string;
  readonly description?: string;
  /** Built-in kind or module path (exactly one of uses/cmd is set). */
  readonly uses?: string;
  /** Shell command; a list in the file is joined with ` && `; `${...}` values are shell-quoted. */
  readonly cmd?: string;
  readonly needs: readonly string[];
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly deps: readonly string[];
  readonly outs: readonly string[];
  /** Command stages: artifacts the command writes into `PIPE_OUT_DIR` (stored like a built-in's). */
  readonly artifacts: readonly string[];
  readonly metrics?: string;
  /** What the stage's cluster job asks for (executor: slurm); not part of the key. */
  readonly resources?: Resources;
}

/** A stage's `resources:` (sbatch options). */
export interface Resources {
  readonly cpus?: number;
  /** e.g. "4G" (sbatch --mem). */
  readonly mem?: string;
  readonly gpus?: number;
  /** Minutes, H:MM:SS or D-HH:MM:SS (sbatch --time). */
  readonly time?: string;
  readonly partition?: string;
}

/** The `remote:` block: where the shared cache is (credentials come from the environment). */
export interface RemoteConfig {
  /** http(s)://host/prefix, s3://bucket/prefix or file:///path. */
  readonly url: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly path_style?: boolean;
  /** Transfers at once. */
  readonly jobs?: number;
}

/** Where stale stages run. */
export type ExecutorName = 'local' | 'slurm';

/** A whole validated pipeline. Stage order is the file's order. */
export interface PipelineConfig {
  /** Path as given (used in messages). */
  readonly file: string;
  /** Global params, resolved (a global may refer to another). */
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly stages: ReadonlyMap<string, StageConfig>;
  /** The shared remote cache, if the file names one. */
  readonly remote?: RemoteConfig;
  /** `executor:` (default local). */
  readonly executor?: ExecutorName;
  /** Points into the file: a node by its path of keys, or its key when `key` is set. */
  where(path: readonly (string | number)[], key?: boolean): Location | undefined;
  /** Source text index, for code frames. */
  readonly index: LineIndex;
  /** The `--set` overrides applied, so later checks can name the one that caused an error. */
  readonly overrides: readonly Override[];
  /**
   * The `--set` texts that went into the value at `path` (e.g. `['stages',
   * 'a', 'outs', 0]`), directly or through `${...}` references; with `under`,
   * those of every value below `path`.
   */
  setsAt(path: readonly (string | number)[], under?: boolean): readonly string[];
}

/** Pipeline files larger than this are refused unread (a recipe, not data). */
export const MAX_PIPELINE_BYTES = 4 * 1024 * 1024;

/** Reads and validates a pipeline file. */
export function loadConfig(file: string, overrides: readonly Override[] = []): Result<PipelineConfig, readonly Diagnostic[]> {
  let text: string;
  try {
    const st = statSync(file);
    if (st.isDirectory()) return fail([{ message: `cannot read ${file}: it is a folder` }]);
    if (!st.isFile()) return fail([{ message: `cannot read ${file}: not a regular file` }]);
    if (st.size > MAX_PIPELINE_BYTES) return fail([{ message: tooBig(file, st.size) }]);
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file (create one, or pass --file)' : String(e);
    return fail([{ message: `cannot read ${file}: ${why}` }]);
  }
  return parseConfig(file, text, overrides);
}

/** Validates pipeline text; `file` is used for messages only. */
export function parseConfig(file: string, text: string, overrides: readonly Override[] = []): Result<PipelineConfig, readonly Diagnostic[]> {
  if (text.length > MAX_PIPELINE_BYTES) {
    return fail([{ message: tooBig(file, text.length) }]);
  }
  // The same text parsed again (with other overrides: a run's plain config beside its --set one, a sweep's
  // points): the checked document is reused, its data copied (overrides are applied to the copy).
  const again = lastParse?.file === file && lastParse.text === text ? lastParse : undefined;
  if (again !== undefined) return fromData(file, again.where, again.index, structuredClone(again.raw), overrides);
  const index = new LineIndex(text);
  const at = (start: number, end: number): Location => locate(file, index, start, end);
  const guard = parseGuards(text);
  if (guard) return fail([{ message: guard.message, location: at(guard.offset, guard.offset + 1) }]);
  // `${name}` would open a YAML flow map inside [ ] or { }: hide its braces behind
  // same-length private-use characters so positions stay exact, and restore them after.
  // uniqueKeys is checked by structureErrors: yaml's own check is quadratic in a map's size.
  let doc: Document;
  try {
    doc = parseDocument(hideReferences(text), { prettyErrors: false, uniqueKeys: false, logLevel: 'error' });
  } catch (e) {
    // The yaml parser recurses per entry after some malformed indentation, and can run out of stack.
    if (!(e instanceof RangeError)) throw e;
    return fail([{ message: 'invalid YAML: the parser ran out of stack (malformed indentation in a long map, or nesting too deep)', location: at(0, 1) }]);
  }
  const where = (path: readonly (string | number)[], key = false): Location | undefined => nodeLocation(doc, path, key, at);

  if (doc.errors.length > 0) {
    // Later syntax errors are mostly echoes of the first: report that one.
    const e = doc.errors[0] as (typeof doc.errors)[number];
    let message = e.message.split('\n')[0] ?? e.message;
    const line = index.lineText(index.position(e.pos[0]).line);
    if (/[[{].*\$\{/.test(line)) message += ' (hint: inside [ ] or { }, quote strings that contain ${...})';
    return fail([{ message: `invalid YAML: ${message}`, location: at(e.pos[0], e.pos[1]) }]);
  }
  const structure = structureErrors(doc, at);
  if (structure.length > 0) return fail(structure);
  let raw: unknown;
  try {
    raw = unhide(doc.toJS({ maxAliasCount: 100 }));
  } catch (e) {
    // yaml's guard against alias bombs ("billion laughs").
    return fail([{ message: `invalid YAML: ${e instanceof Error ? e.message : String(e)}`, location: at(0, 1) }]);
  }
  if (raw === null || raw === undefined) {
    return fail([{ message: `${basename(file)} is empty: expected a map with a "stages" key`, location: at(0, 1) }]);
  }
  const shape = schemaErrors(raw, where);
  if (shape.length > 0) return fail(byPlace(shape));
  lastParse = { file, text, where, index, raw: structuredClone(raw) };
  return fromData(file, where, index, raw, overrides);
}

/** The last pipeline text that parsed and passed the schema, with its data (never handed out: copied). */
let lastParse: { file: string; text: string; where: (path: readonly (string | number)[], key?: boolean) => Location | undefined; index: LineIndex; raw: unknown } | undefined;

/** The config from schema-checked pipeline data (mutated: overrides are applied to it). */
function fromData(
  file: string, where: (path: readonly (string | number)[], key?: boolean) => Location | undefined, index: LineIndex, raw: unknown, overrides: readonly Override[],
): Result<PipelineConfig, readonly Diagnostic[]> {
  const data = raw as { params?: Record<string, ParamValue>; stages: Record<string, Record<string, unknown>>; remote?: RemoteConfig; executor?: ExecutorName };
  const diagnostics: Diagnostic[] = [];
  for (const name of Object.keys(data.stages)) {
    if (isReservedKey(name)) diagnostics.push({ message: `stage name "${name}" is reserved: choose another`, location: where(['stages', name], true) });
  }
  for (const b of checkValues(data.params ?? {}, ['params'])) diagnostics.push({ message: b.message, location: where(b.path, b.key) });
  for (const [name, s] of Object.entries(data.stages)) {
    for (const b of checkValues(s['params'] ?? {}, ['stages', name, 'params'])) diagnostics.push({ message: b.message, location: where(b.path, b.key) });
  }
  if (diagnostics.length > 0) return fail(byPlace(diagnostics));

  const rawGlobals = (data.params ?? {}) as Record<string, ParamValue>;
  const { stageOverrides, globalSets, errors: setErrors } = applyGlobalOverrides(rawGlobals, data.stages, overrides);
  diagnostics.push(...setErrors);
  const sets = new Map<string, readonly string[]>();
  const resolved = resolveGlobals(rawGlobals);
  for (const e of resolved.errors) {
    const set = globalSets.get(e.name);
    diagnostics.push({ message: (set ? `${set.map((t) => `--set ${t}`).join(', ')}: ` : '') + e.message, location: where(['params', e.name]) });
  }
  const params = resolved.params;
  const lookup = lookupIn(params);
  const known = (): readonly string[] => Object.keys(params);
  /** The --set texts behind a global, through the globals it refers to. */
  const setsOfGlobal = (head: string, acc: Set<string>, seen: Set<string>): void => {
    if (seen.has(head)) return;
    seen.add(head);
    for (const t of globalSets.get(head) ?? []) acc.add(t);
    for (const ref of resolved.refs.get(head) ?? []) setsOfGlobal(ref, acc, seen);
  };

  const stages = new Map<string, StageConfig>();
  for (const [name, s] of Object.entries(data.stages)) {
    const track = (v: unknown, path: (string | number)[]): void => {
      const texts = new Set<string>();
      const seen = new Set<string>();
      for (const ref of references(v)) setsOfGlobal(ref.split('.')[0] ?? '', texts, seen);
      if (path[0] === 'params') for (const o of stageOverrides) if (o.path[0] === name && o.path[1] === path[1]) texts.add(o.text);
      if (texts.size > 0) sets.set(JSON.stringify(['stages', name, ...path]), [...texts]);
    };
    const sub = (v: unknown, path: (string | number)[]): ParamValue => {
      track(v, path);
      const r = interpolate(v as ParamValue, lookup, known);
      if (r.ok) return r.value;
      diagnostics.push({ message: r.error, location: where(['stages', name, ...path]) });
      return null;
    };
    const command = (v: string, path: (string | number)[]): string => {
      track(v, path);
      const r = interpolateCommand(v, lookup, known);
      if (r.ok) return r.value;
      diagnostics.push({ message: r.error, location: where(['stages', name, ...path]) });
      return '';
    };
    const stageParams = withStageOverrides(name, (s['params'] ?? {}) as ParamValue, stageOverrides);
    const resolvedParams: Record<string, ParamValue> = {};
    for (const [k, v] of Object.entries(stageParams)) resolvedParams[k] = sub(v, ['params', k]);
    const strings = (key: string): string[] =>
      ((s[key] ?? []) as string[]).map((v, i) => String(sub(v, [key, i])));
    const cmd = s['cmd'];
    stages.set(name, {
      name,
      ...(typeof s['description'] === 'string' ? { description: s['description'] } : {}),
      ...(typeof s['uses'] === 'string' ? { uses: String(sub(s['uses'], ['uses'])) } : {}),
      ...(cmd !== undefined
        ? { cmd: Array.isArray(cmd) ? cmd.map((c, i) => command(String(c), ['cmd', i])).join(' && ') : command(String(cmd), ['cmd']) }
        : {}),
      needs: (s['needs'] ?? []) as string[],
      params: resolvedParams,
      deps: strings('deps'),
      outs: strings('outs'),
      artifacts: (s['artifacts'] ?? []) as string[],
      ...(typeof s['metrics'] === 'string' ? { metrics: String(sub(s['metrics'], ['metrics'])) } : {}),
      ...(s['resources'] !== undefined ? { resources: s['resources'] as Resources } : {}),
    });
  }
  if (diagnostics.length > 0) return fail(byPlace(diagnostics));
  const setsAt = (path: readonly (string | number)[], under = false): readonly string[] => {
    const key = JSON.stringify(path);
    if (!under) return sets.get(key) ?? [];
    const prefix = key.slice(0, -1);
    return [...new Set([...sets].filter(([k]) => k === key || k.startsWith(`${prefix},`)).flatMap(([, t]) => t))];
  };
  return ok({
    file, params, stages, where, index, overrides, setsAt,
    ...(data.remote ? { remote: data.remote } : {}), ...(data.executor ? { executor: data.executor } : {}),
  });
}

/** Diagnostics in file order; those without a place first. */
export function byPlace(ds: readonly Diagnostic[]): Diagnostic[] {
  const rank = (d: Diagnostic): number => (d.location ? d.location.line * 10000 + d.location.column : -1);
  return [...ds].sort((a, b) => rank(a) - rank(b));
}

function tooBig(file: string, bytes: number): string {
  return `${basename(file)} is ${(bytes / 2 ** 20).toFixed(1)} MiB: larger than the ${MAX_PIPELINE_BYTES / 2 ** 20} MiB a pipeline file may be`;
}
