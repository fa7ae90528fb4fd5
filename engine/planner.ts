/**
 * The planner: for one stage, given what its needed stages produced, decide
 * whether it is fresh, can be restored from the run cache, or must run, and
 * say why. `pipe status`, `pipe run --dry-run` and the executor all use it.
 *
 *   key = stageKey(kind, code, params, input digests, dep digests, outs)
 *   lock has key, objects present, workspace outs intact  -> fresh
 *   lock has key, objects present, a workspace out differs -> restore (from lock)
 *   run cache has key, objects present                    -> restore
 *   otherwise                                             -> run (why: diff with lock)
 */
import { join, resolve } from 'node:path';
import type { Digest } from '../cache/digest.js';
import type { FileState } from '../cache/file-state.js';
import type { RunCache } from '../cache/run-cache.js';
import type { ObjectStore, StoredRef } from '../cache/store.js';
import { codeFingerprint, stageKey, type KeyMaterial, type StageKey } from './fingerprint.js';
import type { ResolvedStage } from './graph.js';
import type { LockEntry } from './lockfile.js';

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
  | { readonly action: 'run'; readonly key: StageKey; readonly material: KeyMaterial; readonly why: readonly string[] }
  /** Cannot be decided yet: a needed stage must run first. */
  | { readonly action: 'blocked'; readonly why: readonly string[] }
  /** Cannot run: e.g. a dep file is missing. */
  | { readonly action: 'error'; readonly why: readonly string[] };

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
): Promise<{ material: KeyMaterial } | { missing: string[] }> {
  const inputs: Record<string, Digest> = {};
  for (const n of stage.needs) {
    for (const [name, ref] of Object.entries(upstream.get(n) ?? {})) inputs[`${n}/${name}`] = ref.digest;
  }
  const deps: Record<string, Digest> = {};
  const missing: string[] = [];
  for (const d of stage.deps) {
    try {
      deps[d] = (await env.files.hashPath(resolve(env.root, d))).digest;
    } catch {
      missing.push(d);
    }
  }
  if (missing.length > 0) return { missing };
  const code = stage.runner.type === 'cmd' ? stage.runner.cmd : codeFingerprint(stage.runner.module).digest;
  const outs = [...stage.artifacts.map((a) => `artifact:${a}`), ...stage.outs];
  return { material: { kind: kindOf(stage), code, params: stage.config.params, inputs, deps, outs } };
}

async function allStored(store: ObjectStore, outputs: Outputs): Promise<string | undefined> {
  for (const [name, ref] of Object.entries(outputs)) {
    if (!(await store.has(ref))) return name;
  }
  return undefined;
}

/** Workspace outs whose content differs from `outputs` (missing or edited). */
async function changedOuts(stage: ResolvedStage, outputs: Outputs, env: PlanEnv): Promise<string[]> {
  const changed: string[] = [];
  for (const o of stage.outs) {
    const want = outputs[o];
    try {
      const got = await env.files.hashPath(join(env.root, o));
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
    return { action: 'error', why: km.missing.map((d) => `dependency "${d}" does not exist`) };
  }
  const { material } = km;
  const key = stageKey(material);
  const prev = env.lock[stage.name];
  if (force) return { action: 'run', key, material, why: ['forced (--force)'] };

  if (prev && prev.key === key) {
    const lost = await allStored(env.store, prev.outputs);
    if (lost === undefined) {
      const changed = await changedOuts(stage, prev.outputs, env);
      if (changed.length === 0) return { action: 'fresh', key, material, outputs: prev.outputs, why: [] };
      return {
        action: 'restore', key, material, outputs: prev.outputs, metrics: prev.metrics, info: prev.info, durationMs: prev.duration_ms,
        why: changed.map((o) => `output "${o}" was changed or deleted in the workspace`),
      };
    }
  }
  const record = await env.runs.get(key);
  if (record && (await allStored(env.store, record.outputs)) === undefined) {
    return {
      action: 'restore', key, material, outputs: record.outputs, metrics: record.metrics, info: record.info, durationMs: record.durationMs,
      why: [`a previous run with this key (${record.finishedAt}) is in the run cache`],
    };
  }
  return { action: 'run', key, material, why: await whyStale(prev, key, material, env) };
}

async function whyStale(prev: LockEntry | undefined, key: StageKey, m: KeyMaterial, env: PlanEnv): Promise<string[]> {
  if (!prev) return ['never ran (no entry in pipe.lock)'];
  if (prev.key === key) {
    const lost = await allStored(env.store, prev.outputs);
    return [`cached output "${lost ?? '?'}" is missing from the cache`];
  }
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
