/**
 * The planner: for one stage, given what its needed stages produced, decide
 * whether it is fresh, can be restored from the run cache, or must run, and
 * say why. `pipe status`, `pipe run --dry-run` and the executor all use it.
 *
 *   key = stageKey(kind, code, params, input digests, dep digests, outs)
 *   lock has key, run record for key names other outputs  -> trust the record (below)
 *   lock has key, objects sound, workspace outs intact     -> fresh
 *   lock has key, objects sound, a workspace out differs   -> restore (from lock)
 *   run cache has key, objects sound                       -> restore
 *   otherwise                                              -> run (why: diff with lock)
 *
 * "Sound" means present and hashing to their names (ObjectStore.check: by a
 * verification stamp, or re-hashed), so nothing corrupt is called fresh or
 * restored; a corrupt object is named in the decision for the executor to
 * quarantine before the stage rebuilds. The run record is the cache's own
 * account of what a key produced (it carries an integrity check); a lock
 * whose outputs for the same key disagree with it was edited or damaged.
 */
import { relative } from 'node:path';
import type { Digest } from '../cache/digest.js';
import { PathProblemError } from '../cache/dir-manifest.js';
import type { FileState } from '../cache/file-state.js';
import type { RunCache } from '../cache/run-cache.js';
import { describeProblem, type ObjectProblem, type ObjectStore, type StoredRef } from '../cache/store.js';
import { codeFingerprint, stageKey, type KeyMaterial, type StageKey } from './fingerprint.js';
import type { ResolvedStage } from './graph.js';
import type { LockEntry } from './lockfile.js';
import { workspaceAbs } from './paths.js';
import { describeStageFailure, type StageFailure } from './result.js';

/** Output name (artifact name or workspace path) -> stored object. */
export type Outputs = Readonly<Record<string, StoredRef>>;

/** What to do with one stage. */
export type Decision =
  | { readonly action: 'fresh'; readonly key: StageKey; readonly material: KeyMaterial; readonly outputs: Outputs; readonly why: readonly string[] }
  | {
      readonly action: 'restore';
      readonly key: StageKey;
      readonly material: KeyMaterial;
      readonly outputs: Outputs;
      readonly metrics: Readonly<Record<string, number | string>>;
      readonly info: Readonly<Record<string, string>>;
      readonly durationMs: number;
      readonly why: readonly string[];
    }
  | {
      readonly action: 'run';
      readonly key: StageKey;
      readonly material: KeyMaterial;
      readonly why: readonly string[];
      /** Cached outputs found corrupt: the executor quarantines them before the stage runs. */
      readonly corrupt?: readonly ObjectProblem[];
    }
  /** Cannot be decided yet: a needed stage must run first. */
  | { readonly action: 'blocked'; readonly why: readonly string[] }
  /** Cannot run: e.g. a dep file is missing. */
  | { readonly action: 'error'; readonly why: readonly string[]; readonly failure?: StageFailure };

/** What the planner reads. */
export interface PlanEnv {
  readonly root: string;
  readonly store: ObjectStore;
  readonly runs: RunCache;
  readonly files: FileState;
  readonly lock: Readonly<Record<string, LockEntry>>;
}

/** The kind recorded in the key and the lock. */
export function kindOf(stage: ResolvedStage): string {
  return stage.runner.type === 'cmd' ? 'cmd' : stage.runner.uses;
}

/** The key material of `stage`, or why it cannot be computed. */
export async function keyMaterial(
  stage: ResolvedStage,
  upstream: ReadonlyMap<string, Outputs>,
  env: PlanEnv,
): Promise<{ material: KeyMaterial } | { missing: { dep: string; detail: string }[] }> {
  const inputs: Record<string, Digest> = {};
  for (const n of stage.needs) {
    for (const [name, ref] of Object.entries(upstream.get(n) ?? {})) inputs[`${n}/${name}`] = ref.digest;
  }
  const deps: Record<string, Digest> = {};
  const missing: { dep: string; detail: string }[] = [];
  for (const d of stage.deps) {
    const abs = workspaceAbs(env.root, d);
    try {
      deps[d] = (await env.files.hashPath(abs)).digest;
    } catch (e) {
      missing.push({ dep: d, detail: depProblem(abs, e) });
    }
  }
  if (missing.length > 0) return { missing };
  const code = stage.runner.type === 'cmd' ? stage.runner.cmd : codeFingerprint(stage.runner.module).digest;
  const outs = [...stage.artifacts.map((a) => `artifact:${a}`), ...stage.outs];
  return { material: { kind: kindOf(stage), code, params: stage.config.params, inputs, deps, outs } };
}

/** Why the dep at `abs` could not be hashed, as a predicate ("does not exist", "contains x, which is a FIFO ..."). */
function depProblem(abs: string, e: unknown): string {
  if (e instanceof PathProblemError) {
    return e.path === abs ? e.what : `contains ${JSON.stringify(relative(abs, e.path))}, which ${e.what}`;
  }
  return `cannot be read: ${e instanceof Error ? e.message : String(e)}`;
}

/** An output that cannot be used, and why. */
interface Unusable {
  readonly output: string;
  readonly problem: ObjectProblem;
}

/** The first output whose objects are missing, corrupt or disagree with its reference. */
async function firstUnusable(store: ObjectStore, outputs: Outputs): Promise<Unusable | undefined> {
  for (const [output, ref] of Object.entries(outputs)) {
    const problem = await store.check(ref);
    if (problem) return { output, problem };
  }
  return undefined;
}

function describeUnusable(u: Unusable): string {
  return u.problem.problem === 'missing'
    ? `cached output "${u.output}" is missing from the cache`
    : `cached output "${u.output}": ${describeProblem(u.problem)}`;
}

/** Output names whose references differ between two output maps. */
function differingOutputs(a: Outputs, b: Outputs): string[] {
  const same = (x: StoredRef | undefined, y: StoredRef | undefined): boolean =>
    x !== undefined && y !== undefined && x.digest === y.digest && x.kind === y.kind && x.size === y.size;
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !same(a[k], b[k])).sort();
}

/** Workspace outs whose content differs from `outputs` (missing or edited). */
async function changedOuts(stage: ResolvedStage, outputs: Outputs, env: PlanEnv): Promise<string[]> {
  const changed: string[] = [];
  for (const o of stage.outs) {
    const want = outputs[o];
    try {
      const got = await env.files.hashPath(workspaceAbs(env.root, o));
      if (!want || got.digest !== want.digest) changed.push(o);
    } catch {
      changed.push(o);
    }
  }
  return changed;
}

/** Decides one stage; `force` makes it run whatever its state. */
export async function decide(stage: ResolvedStage, upstream: ReadonlyMap<string, Outputs>, env: PlanEnv, force = false): Promise<Decision> {
  const km = await keyMaterial(stage, upstream, env);
  if ('missing' in km) {
    const first = km.missing[0];
    return {
      action: 'error', why: km.missing.map((m) => describeStageFailure({ reason: 'dep-missing', ...m })),
      ...(first ? { failure: { reason: 'dep-missing', ...first } } : {}),
    };
  }
  const { material } = km;
  const key = stageKey(material);
  const prev = env.lock[stage.name];
  if (force) return { action: 'run', key, material, why: ['forced (--force)'] };

  const found: Unusable[] = [];
  const record = await env.runs.get(key);
  if (prev && prev.key === key) {
    const differs = record ? differingOutputs(prev.outputs, record.outputs) : [];
    if (record && differs.length > 0) {
      // The lock was edited or damaged: the run record (integrity-checked) says what this key produced.
      const bad = await firstUnusable(env.store, record.outputs);
      if (bad === undefined) {
        return {
          action: 'restore', key, material, outputs: record.outputs, metrics: record.metrics, info: record.info, durationMs: record.durationMs,
          why: [`pipe.lock records other outputs for this key than the run that made them (${differs.join(', ')}): restoring the run's`],
        };
      }
      found.push(bad);
    } else {
      const bad = await firstUnusable(env.store, prev.outputs);
      if (bad === undefined) {
        const changed = await changedOuts(stage, prev.outputs, env);
        if (changed.length === 0) return { action: 'fresh', key, material, outputs: prev.outputs, why: [] };
        return {
          action: 'restore', key, material, outputs: prev.outputs, metrics: prev.metrics, info: prev.info, durationMs: prev.duration_ms,
          why: changed.map((o) => `output "${o}" was changed or deleted in the workspace`),
        };
      }
      found.push(bad);
    }
  }
  if (record && found.length === 0) {
    const bad = await firstUnusable(env.store, record.outputs);
    if (bad === undefined) {
      return {
        action: 'restore', key, material, outputs: record.outputs, metrics: record.metrics, info: record.info, durationMs: record.durationMs,
        why: [`a previous run with this key (${record.finishedAt}) is in the run cache`],
      };
    }
    found.push(bad);
  }
  const corrupt = found.filter((u) => u.problem.problem === 'corrupt').map((u) => u.problem);
  const why = found.length > 0 ? found.map(describeUnusable) : whyStale(prev, material);
  return { action: 'run', key, material, why, ...(corrupt.length ? { corrupt } : {}) };
}

function whyStale(prev: LockEntry | undefined, m: KeyMaterial): string[] {
  if (!prev) return ['never ran (no entry in pipe.lock)'];
  const why: string[] = [];
  if (prev.kind !== m.kind) why.push(`kind changed (${prev.kind} -> ${m.kind})`);
  else if (prev.code !== m.code) why.push(m.kind === 'cmd' ? 'command changed' : 'code changed');
  const diffKeys = (a: Readonly<Record<string, unknown>>, b: Readonly<Record<string, unknown>>): string[] =>
    [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])).sort();
  const params = diffKeys(prev.params, m.params);
  if (params.length) why.push(`params changed: ${params.map((p) => `${p} ${JSON.stringify(prev.params[p])} -> ${JSON.stringify(m.params[p])}`).join(', ')}`);
  const inputs = diffKeys(prev.inputs, m.inputs);
  if (inputs.length) why.push(`inputs changed: ${inputs.join(', ')}`);
  const deps = diffKeys(prev.deps, m.deps);
  if (deps.length) why.push(`deps changed: ${deps.join(', ')}`);
  if (why.length === 0) why.push('declared outputs changed');
  return why;
}
