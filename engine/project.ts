/**
 * Opening a project: pipeline.yaml -> config -> graph, plus the cache, the run
 * cache, the file-hash state and the lock that planning and running read.
 *
 *   <root>/pipeline.yaml      the pipeline (--file to choose another)
 *   <root>/pipe.lock          the lock of pipeline.yaml (X.yaml has X.lock)
 *   <root>/.pipe/cache/       objects/, runs/, views/
 *   <root>/.pipe/state/files  the file-hash state
 *   <root>/.pipe/tmp/         stage work folders
 *   <root>/.pipe/run.lock     held by the running `pipe run`
 */
import { mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FileState } from '../cache/file-state.js';
import { RunCache } from '../cache/run-cache.js';
import { ObjectStore } from '../cache/store.js';
import { loadConfig, type Override } from './config.js';
import { buildGraph, type Graph, type KindRegistry } from './graph.js';
import { readLock } from './lockfile.js';
import type { PlanEnv } from './planner.js';
import { fail, ok, type Failure, type Result } from './result.js';

/** An opened project. */
export interface Project {
  readonly root: string;
  readonly graph: Graph;
  readonly env: PlanEnv;
  readonly lockPath: string;
  readonly dotDir: string;
}

/** Where a project keeps its things, from the pipeline file's path. */
export function projectPaths(file: string): { root: string; lockPath: string; dotDir: string } {
  const root = dirname(resolve(file));
  // pipeline.yaml -> pipe.lock; another pipeline file gets its own lock (pipeline.kaggle.yaml -> pipeline.kaggle.lock).
  const name = basename(file);
  const lock = name === 'pipeline.yaml' ? 'pipe.lock' : `${name.replace(/\.ya?ml$/i, '')}.lock`;
  return { root, lockPath: join(root, lock), dotDir: join(root, '.pipe') };
}

/** Loads and checks the pipeline and opens the cache; never writes anything. */
export async function openProject(file: string, overrides: readonly Override[], registry: KindRegistry): Promise<Result<Project, Failure>> {
  const config = loadConfig(file, overrides);
  if (!config.ok) return fail({ reason: 'invalid-config', diagnostics: config.error });
  const { root, lockPath, dotDir } = projectPaths(file);
  const graph = await buildGraph(config.value, root, registry);
  if (!graph.ok) return fail({ reason: 'invalid-config', diagnostics: graph.error });
  const lock = readLock(lockPath);
  if ('error' in lock) return fail({ reason: 'io', message: lock.error });
  const cacheRoot = join(dotDir, 'cache');
  const env: PlanEnv = {
    root,
    store: new ObjectStore(cacheRoot),
    runs: new RunCache(join(cacheRoot, 'runs')),
    files: await FileState.load(join(dotDir, 'state', 'files')),
    lock: lock.lock.stages,
  };
  return ok({ root, graph: graph.value, env, lockPath, dotDir });
}

/** Creates the .pipe folders a run writes into. */
export function ensureDotDir(p: Project): void {
  for (const d of ['cache', 'state', 'tmp']) mkdirSync(join(p.dotDir, d), { recursive: true });
}
