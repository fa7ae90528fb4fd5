/**
 * The overrides a lock records. A `--set` is recorded only when it changes
 * what the pipeline file says (an override that repeats the file is no
 * override), and a partial run keeps the earlier overrides of the stages it
 * did not touch, so the header always describes every entry of the lock.
 */
import type { PipelineConfig, Override } from '../config.js';
import type { Lock } from '../lockfile.js';
import type { ParamValue } from '../stage-api.js';

/** path -> value of a list of overrides (a later one wins). */
export function overrideMap(overrides: readonly Override[]): Record<string, ParamValue> {
  return Object.fromEntries(overrides.map((o) => [o.path.join('.'), o.value]));
}

/** The overrides of a recorded map (the inverse of {@link overrideMap}). */
export function overridesOf(map: Readonly<Record<string, ParamValue>>): Override[] {
  return Object.entries(map).map(([k, v]) => ({ path: k.split('.'), value: v, text: `${k}=${JSON.stringify(v)}` }));
}

/** "a.b=1, c=2" for messages. */
export function formatOverrides(map: Readonly<Record<string, ParamValue>>): string {
  return Object.entries(map).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');
}

function getIn(v: ParamValue | undefined, path: readonly string[]): ParamValue | undefined {
  let cur = v;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, ParamValue>)[k];
  }
  return cur;
}

/** What the pipeline file itself says at an override's path (undefined: nothing). */
export function fileValue(plain: PipelineConfig, path: readonly string[]): ParamValue | undefined {
  const [head, ...rest] = path;
  if (head === undefined) return undefined;
  const stage = rest.length > 0 ? plain.stages.get(head) : undefined;
  if (stage) return getIn(stage.params as ParamValue, rest);
  return getIn(plain.params as ParamValue, path);
}

/** The overrides that change the file's value (`plain`: the config loaded without overrides). */
export function effectiveOverrides(plain: PipelineConfig, overrides: readonly Override[]): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [k, v] of Object.entries(overrideMap(overrides))) {
    if (JSON.stringify(fileValue(plain, k.split('.'))) !== JSON.stringify(v)) out[k] = v;
  }
  return out;
}

/**
 * The overrides to record after a run of `selected` stages with `now`: this
 * run's, plus earlier ones of stages the run left alone (a global override is
 * kept while any entry outside the selection remains).
 */
export function lockOverrides(
  prev: Lock,
  now: Readonly<Record<string, ParamValue>>,
  selected: ReadonlySet<string>,
  stageNames: ReadonlySet<string>,
): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = { ...now };
  const untouched = Object.keys(prev.stages).filter((n) => !selected.has(n));
  for (const [k, v] of Object.entries(prev.overrides ?? {})) {
    if (k in out) continue;
    const head = k.split('.')[0] ?? '';
    const isStage = k.includes('.') && stageNames.has(head);
    if (isStage ? untouched.includes(head) : untouched.length > 0) out[k] = v;
  }
  return out;
}
