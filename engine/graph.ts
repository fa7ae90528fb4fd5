/**
 * PipelineConfig -> Graph: resolves each stage's kind, its deps, outs and
 * artifacts, and checks the DAG. Errors point into pipeline.yaml.
 *
 *   config.stages --resolve kind--> ResolvedStage (module loaded for built-ins)
 *                 --check needs---> unknown stage, cycle (a -> b -> a)
 *                 --check outs----> a path claimed by two stages
 *                 --topo order----> Graph (file order among independent stages)
 */
import { isAbsolute, resolve } from 'node:path';
import type { PipelineConfig, StageConfig } from './config.js';
import { byPlace } from './config.js';
import { loadStageKind } from './load-module.js';
import type { Diagnostic, Location } from './diagnostic.js';
import { closest } from './did-you-mean.js';
import { checkParams } from './params-check.js';
import { isOutsideProject, outProblem, overlaps, reservedFor, within, workspacePath, type Reserved } from './paths.js';
import { fail, ok, type Result } from './result.js';
import type { StageKind } from './stage-api.js';

/** Where built-in kinds live: name -> absolute module path. */
export interface KindRegistry {
  /** Module path of a built-in kind, or undefined. */
  builtin(name: string): string | undefined;
  /** Names of all built-in kinds, for messages. */
  names(): readonly string[];
}

/** How a stage runs. */
export type StageRunner =
  | { readonly type: 'cmd'; readonly cmd: string }
  | { readonly type: 'module'; readonly uses: string; readonly module: string; readonly kind: StageKind };

/** A stage with everything needed to plan and run it. */
export interface ResolvedStage {
  readonly name: string;
  readonly config: StageConfig;
  readonly runner: StageRunner;
  readonly needs: readonly string[];
  /** Workspace paths read (relative to root, posix, or absolute outside it). */
  readonly deps: readonly string[];
  /** Workspace paths written. */
  readonly outs: readonly string[];
  /** Artifact names written into the cache (by the kind, or a command stage's `artifacts`). */
  readonly artifacts: readonly string[];
}

/** The checked DAG. */
export interface Graph {
  readonly root: string;
  readonly config: PipelineConfig;
  readonly stages: ReadonlyMap<string, ResolvedStage>;
  /** Topological order; among independent stages, file order. */
  readonly order: readonly string[];
  /** name -> stages that need it. */
  readonly dependents: ReadonlyMap<string, readonly string[]>;
}

/** Resolves and checks the pipeline; every problem found is reported, not just the first. */
export async function buildGraph(config: PipelineConfig, root: string, registry: KindRegistry): Promise<Result<Graph, readonly Diagnostic[]>> {
  const diagnostics: Diagnostic[] = [];
  const stages = new Map<string, ResolvedStage>();
  const names = [...config.stages.keys()];
  /** Where each stage's outs came from, for messages. */
  const origins = new Map<string, OutOrigin[]>();

  for (const [name, written] of config.stages) {
    let sc = written;
    let runner: StageRunner;
    let artifacts: readonly string[] = [];
    const deps = sc.deps.map((d) => workspacePath(root, d));
    const outs: OutOrigin[] = sc.outs.map((o, i) => ({ path: workspacePath(root, o), at: ['stages', name, 'outs', i] }));
    // A metrics file is an output too: stored, restored, and claimed by this stage.
    if (sc.metrics !== undefined) outs.push({ path: workspacePath(root, sc.metrics), at: ['stages', name, 'metrics'] });
    if (sc.cmd !== undefined) {
      runner = { type: 'cmd', cmd: sc.cmd };
      artifacts = sc.artifacts;
    } else {
      if (sc.artifacts.length > 0) {
        diagnostics.push({
          message: `stage "${name}": "artifacts" is for command stages (a stage kind declares its artifacts in its module)`,
          location: config.where(['stages', name, 'artifacts'], true),
        });
        continue;
      }
      const uses = sc.uses as string;
      const isPath = uses.startsWith('.') || isAbsolute(uses);
      const module = isPath ? resolve(root, uses) : registry.builtin(uses);
      if (isPath && isOutsideProject(workspacePath(root, uses))) {
        // Not even imported: status, dag and --dry-run load a module's top level.
        diagnostics.push({
          message: `stage "${name}" uses module "${uses}", which is outside the project folder: a stage module must live in the project`,
          location: config.where(['stages', name, 'uses']),
        });
        continue;
      }
      if (!module) {
        diagnostics.push({
          message: `stage "${name}" uses unknown kind "${uses}" (built-in kinds: ${registry.names().join(', ')}; or a module path like ./my-stage.js)`,
          location: config.where(['stages', name, 'uses']),
        });
        continue;
      }
      try {
        const kind = await loadStageKind(module);
        const checked = checkParams(config, sc, kind, uses);
        if (!checked.ok) {
          diagnostics.push(...checked.error);
          continue;
        }
        sc = checked.value;
        runner = { type: 'module', uses, module, kind };
        artifacts = [...kind.artifacts(sc.params)];
        for (const d of kind.deps?.(sc.params) ?? []) deps.push(workspacePath(root, d));
        for (const o of kind.outs?.(sc.params) ?? []) outs.push(derivedOut(config, root, sc, workspacePath(root, o)));
      } catch (e) {
        diagnostics.push({
          message: `stage "${name}": cannot load "${uses}": ${e instanceof Error ? e.message : String(e)}`,
          location: config.where(['stages', name, 'uses']),
        });
        continue;
      }
    }
    sc.needs.forEach((need, i) => {
      if (need === name) {
        diagnostics.push({ message: `stage "${name}" needs itself`, location: config.where(['stages', name, 'needs', i]) });
      } else if (!config.stages.has(need)) {
        const hint = closest(need, names);
        diagnostics.push({
          message: `stage "${name}" needs "${need}", which is not a stage` + (hint ? ` (did you mean "${hint}"?)` : ` (stages: ${names.join(', ')})`),
          location: config.where(['stages', name, 'needs', i]),
        });
      }
    });
    origins.set(name, outs);
    stages.set(name, { name, config: sc, runner, needs: sc.needs.filter((n) => n !== name), deps: [...new Set(deps)], outs: [...new Set(outs.map((o) => o.path))], artifacts });
  }
  if (diagnostics.length > 0) return fail(byPlace(diagnostics));
  diagnostics.push(...checkOuts(config, root, reservedFor(config.file), stages, origins));
  if (diagnostics.length > 0) return fail(byPlace(diagnostics));
  addImplicitNeeds(stages);

  diagnostics.push(...checkArtifacts(config, stages));
  const cycle = findCycle(names, stages);
  if (cycle) {
    // The cycle reads in data-flow order (x -> y: y needs x); point at the last edge's `needs` item.
    const [x, y] = [cycle[cycle.length - 2] as string, cycle[cycle.length - 1] as string];
    const i = stages.get(y)?.needs.indexOf(x) ?? -1;
    diagnostics.push({ message: `cycle: ${cycle.join(' -> ')}`, location: config.where(['stages', y, 'needs', i]) });
  }
  if (diagnostics.length > 0) return fail(byPlace(diagnostics));

  const order = topoOrder(names, stages);
  const dependents = new Map<string, string[]>(names.map((n) => [n, []]));
  for (const s of stages.values()) for (const n of s.needs) dependents.get(n)?.push(s.name);
  return ok({ root, config, stages, order, dependents });
}

/** A stage whose dep lies in (or contains) another stage's out needs that stage, as in DVC. */
function addImplicitNeeds(stages: Map<string, ResolvedStage>): void {
  for (const s of stages.values()) {
    const extra = new Set<string>();
    for (const other of stages.values()) {
      if (other === s || s.needs.includes(other.name)) continue;
      if (s.deps.some((d) => other.outs.some((o) => overlaps(d, o)))) extra.add(other.name);
    }
    if (extra.size > 0) stages.set(s.name, { ...s, needs: [...s.needs, ...extra] });
  }
}

/** One out of a stage and the place in pipeline.yaml it came from. */
interface OutOrigin {
  readonly path: string;
  /** A node path for config.where; `key` points at the key rather than the value. */
  readonly at: readonly (string | number)[];
  readonly key?: boolean;
  /** For an out a stage kind derives from its params: look up --sets under the params. */
  readonly derived?: boolean;
}

/** The origin of an out derived by a stage kind: the param that holds the same path, else the stage's name. */
function derivedOut(config: PipelineConfig, root: string, sc: StageConfig, path: string): OutOrigin {
  for (const [k, v] of Object.entries(sc.params)) {
    if (typeof v === 'string' && workspacePath(root, v) === path) return { path, at: ['stages', sc.name, 'params', k] };
  }
  return { path, at: ['stages', sc.name], key: true, derived: true };
}

/**
 * Every out is a safe place to write (see outProblem), belongs to one stage,
 * and does not overlap a dep of its own stage (running would delete the
 * stage's input, or its output would feed its own key).
 */
function checkOuts(
  config: PipelineConfig,
  root: string,
  reserved: Reserved,
  stages: ReadonlyMap<string, ResolvedStage>,
  origins: ReadonlyMap<string, readonly OutOrigin[]>,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const claimed: { path: string; stage: string }[] = [];
  for (const s of stages.values()) {
    for (const o of origins.get(s.name) ?? []) {
      const location: Location | undefined = config.where(o.at, o.key);
      const sets = config.setsAt(o.derived ? ['stages', s.name, 'params'] : o.at, o.derived);
      const from = sets.length ? ` (from ${sets.map((t) => `--set ${t}`).join(', ')})` : '';
      const problem = outProblem(root, o.path, reserved);
      if (problem !== undefined) {
        out.push({ message: `output "${o.path}"${from} of stage "${s.name}" ${problem}: a stage writes, restores and deletes only its own paths inside the project`, location });
        continue;
      }
      const other = claimed.find((c) => overlaps(o.path, c.path) && c.stage !== s.name);
      if (other) {
        out.push({
          message: `output "${o.path}"${from} of stage "${s.name}" is also claimed by stage "${other.stage}" ("${other.path}"): each output path belongs to one stage`,
          location,
        });
      }
      const dep = s.deps.find((d) => overlaps(o.path, d));
      if (dep !== undefined) {
        const what = within(dep, o.path) ? 'running it would delete its own input' : 'its output would be part of its own input';
        out.push({ message: `output "${o.path}"${from} of stage "${s.name}" overlaps its own dep "${dep}": ${what}`, location });
      }
      claimed.push({ path: o.path, stage: s.name });
    }
  }
  return out;
}

function checkArtifacts(config: PipelineConfig, stages: ReadonlyMap<string, ResolvedStage>): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const s of stages.values()) {
    const seen = new Map<string, string>();
    for (const n of s.needs) {
      for (const a of stages.get(n)?.artifacts ?? []) {
        const prev = seen.get(a);
        if (prev !== undefined) {
          out.push({ message: `stage "${s.name}" gets an artifact named "${a}" from both "${prev}" and "${n}"`, location: config.where(['stages', s.name, 'needs']) });
        }
        seen.set(a, n);
      }
    }
  }
  return out;
}

/** The first cycle found, as a path that starts and ends at the same stage. */
export function findCycle(names: readonly string[], stages: ReadonlyMap<string, { needs: readonly string[] }>): string[] | undefined {
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    const st = state.get(n);
    if (st === 'done') return undefined;
    if (st === 'active') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'active');
    stack.push(n);
    for (const m of stages.get(n)?.needs ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of names) {
    const c = visit(n);
    if (c) return c.reverse();
  }
  return undefined;
}

function topoOrder(names: readonly string[], stages: ReadonlyMap<string, ResolvedStage>): string[] {
  const done = new Set<string>();
  const order: string[] = [];
  const visit = (n: string): void => {
    if (done.has(n)) return;
    done.add(n);
    for (const m of stages.get(n)?.needs ?? []) visit(m);
    order.push(n);
  };
  for (const n of names) visit(n);
  return order;
}
