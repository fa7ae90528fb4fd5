/**
 * `--set name=value` overrides: parsed from the command line, then applied to
 * the raw globals and stage params of a pipeline (config.ts) before anything
 * is interpolated. Only own keys are followed and reserved names
 * (`__proto__`, ...) are refused, so an override can never reach a prototype.
 */
import { parse as parseYaml } from 'yaml';
import type { ParamValue } from './stage-api.js';
import type { Diagnostic } from './diagnostic.js';
import { fail, ok, type Result } from './result.js';
import { checkValues, isReservedKey } from './config-checks.js';

/** A `--set a.b=value` override. */
export interface Override {
  readonly path: readonly string[];
  readonly value: ParamValue;
  /** The text as typed, for messages. */
  readonly text: string;
}

/** Parses `--set` text `name=value` (value read as YAML: 3 is a number, true a boolean). */
export function parseOverride(text: string): Result<Override, Diagnostic> {
  const eq = text.indexOf('=');
  const path = eq > 0 ? text.slice(0, eq).split('.') : [];
  if (eq <= 0 || path.some((p) => p === '')) {
    return fail({ message: `--set ${text}: expected name=value or stage.param=value` });
  }
  const reserved = path.find(isReservedKey);
  if (reserved !== undefined) return fail({ message: `--set ${text}: "${reserved}" is not allowed as a name` });
  let value: ParamValue;
  try {
    value = (parseYaml(text.slice(eq + 1), { maxAliasCount: 100, logLevel: 'error' }) ?? null) as ParamValue;
  } catch {
    value = text.slice(eq + 1);
  }
  const bad = checkValues(value, []);
  if (bad.length > 0) return fail({ message: `--set ${text}: ${(bad[0] as { message: string }).message}` });
  return ok({ path, value, text });
}

/** The overrides sorted by what they change: {@link applyGlobalOverrides}' result. */
export interface SortedOverrides {
  /** Those that name a stage (`stage.param=...`), applied per stage later. */
  readonly stageOverrides: readonly Override[];
  /** Global param name -> the --set texts that changed it. */
  readonly globalSets: ReadonlyMap<string, readonly string[]>;
  /** Overrides that name neither a global param nor a stage. */
  readonly errors: readonly Diagnostic[];
}

/**
 * Applies the overrides of global params to `globals` (in place: an existing
 * key only) and sets aside those of stages (whose first name is a stage).
 */
export function applyGlobalOverrides(
  globals: Record<string, ParamValue>,
  stageNames: Readonly<Record<string, unknown>>,
  overrides: readonly Override[],
): SortedOverrides {
  const stageOverrides: Override[] = [];
  const globalSets = new Map<string, string[]>();
  const errors: Diagnostic[] = [];
  for (const o of overrides) {
    const [head, ...rest] = o.path;
    if (head !== undefined && rest.length > 0 && Object.hasOwn(stageNames, head)) {
      stageOverrides.push(o);
    } else if (setIn(globals, o.path, o.value, false)) {
      globalSets.set(head as string, [...(globalSets.get(head as string) ?? []), o.text]);
    } else {
      const known = Object.keys(globals);
      errors.push({
        message: `--set ${o.text}: no global param "${o.path.join('.')}" and no stage "${head ?? ''}"` +
          (known.length ? ` (global params: ${listed(known)})` : ''),
      });
    }
  }
  return { stageOverrides, globalSets, errors };
}

/** Stage `name`'s raw params (deep-copied) with its `stage.param=...` overrides applied. */
export function withStageOverrides(name: string, params: ParamValue, stageOverrides: readonly Override[]): Record<string, ParamValue> {
  const out = cloneValue(params) as Record<string, ParamValue>;
  for (const o of stageOverrides) {
    if (o.path[0] === name) setIn(out, o.path.slice(1), o.value, true);
  }
  return out;
}

function listed(names: readonly string[]): string {
  return names.length > 50 ? `${names.slice(0, 50).join(', ')}, ... (${names.length} in all)` : names.join(', ');
}

/** A deep copy of a param value. */
function cloneValue(v: ParamValue): ParamValue {
  if (Array.isArray(v)) return (v as readonly ParamValue[]).map(cloneValue);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, ParamValue> = {};
    for (const [k, x] of Object.entries(v)) out[k] = cloneValue(x);
    return out;
  }
  return v;
}

/** Sets `path` in `target`; with `create` false, only an existing key may be replaced. Only own keys are followed. */
function setIn(target: Record<string, ParamValue>, path: readonly string[], value: ParamValue, create: boolean): boolean {
  let obj: Record<string, ParamValue> = target;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i] as string;
    if (isReservedKey(k)) return false;
    const next = Object.hasOwn(obj, k) ? obj[k] : undefined;
    if (next !== null && next !== undefined && typeof next === 'object' && !Array.isArray(next)) {
      obj = next as Record<string, ParamValue>;
    } else if (create) {
      const fresh: Record<string, ParamValue> = {};
      obj[k] = fresh;
      obj = fresh;
    } else {
      return false;
    }
  }
  const last = path[path.length - 1] as string;
  if (isReservedKey(last)) return false;
  if (!create && !Object.hasOwn(obj, last)) return false;
  obj[last] = value;
  return true;
}
