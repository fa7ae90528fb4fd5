/**
 * Opening a project: pipeline.yaml -> config -> graph, plus the cache, the run
 * cache, the file-hash state and the lock that planning and running read
 * (where each lives: layout.ts).
 */
import { mkdirSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isAlive, removeDeadTemps } from '../cache/atomic.js';
import { FileState } from '../cache/file-state.js';
import { RunCache } from '../cache/run-cache.js';
import { ObjectStore } from '../cache/store.js';
import { loadConfig, type Override } from './config.js';
import { loadCodeMemo, saveCodeMemo } from './fingerprint.js';
import { buildGraph, type Graph, type KindRegistry } from './graph.js';
import { projectLayout, runFolders, type ProjectLayout } from './layout.js';
import { readLock, type Lock } from './lockfile.js';
import type { PlanEnv } from './planner.js';
import { fail, ok, type Failure, type Result } from './result.js';

/** An opened project. */
export interface Project {
  readonly root: string;
  readonly graph: Graph;
  readonly env: PlanEnv;
  readonly lockPath: string;
  /**
   * The lock as it was when the project was opened (parsed once per open;
   * `env.lock` is its stages). A command that waited for the run lock opens
   * the project again: another run may have rewritten it.
   */
  readonly lock: Lock;
  readonly dotDir: string;
  /** Where everything of the project lives. */
  readonly layout: ProjectLayout;
}

/**
 * Loads and checks the pipeline and opens the cache; never writes anything.
 * `lock`: the lock a project opened just before (same file, same moment) read,
 * so opening again with other overrides does not parse it again.
 */
export async function openProject(file: string, overrides: readonly Override[], registry: KindRegistry, lock?: Lock): Promise<Result<Project, Failure>> {
  const config = loadConfig(file, overrides);
  if (!config.ok) return fail({ reason: 'invalid-config', diagnostics: config.error });
  const layout = projectLayout(file);
  const { root, lockPath, dotDir } = layout;
  const graph = await buildGraph(config.value, root, registry);
  if (!graph.ok) return fail({ reason: 'invalid-config', diagnostics: graph.error });
  const read = lock === undefined ? readLock(lockPath, layout.lockMirror) : { lock };
  if ('error' in read) return fail({ reason: 'usage', message: read.error });
  // What earlier commands hashed of the stages' code (by file stamp).
  loadCodeMemo(layout.codeMemo);
  const env: PlanEnv = {
    root,
    store: new ObjectStore(layout.cache.root),
    runs: new RunCache(layout.cache.runs),
    files: await FileState.load(layout.stateFile),
    lock: read.lock.stages,
  };
  return ok({ root, graph: graph.value, env, lockPath, lock: read.lock, dotDir, layout });
}

/**
 * Saves what a command learnt for the next ones: the file-hash state and the
 * code fingerprints' memo. Never fails: both only spare re-hashing (a write
 * that fails, disk full, leaves the old file).
 */
export async function saveProjectState(p: Project): Promise<void> {
  await p.env.files.save();
  await saveCodeMemo(p.layout.codeMemo);
}

/** Creates the .pipe folders a run writes into. */
export function ensureDotDir(p: Project): void {
  for (const d of runFolders(p.layout)) mkdirSync(d, { recursive: true });
}

/**
 * Removes the temp debris of runs that died (kill -9, power loss): stage work
 * folders of dead processes in `.pipe/tmp/`; temp objects, views and restores
 * being built in the cache's `tmp/`; half-written run records, locks and
 * hash states. Call it at the start of a run,
 * holding the run lock. Resolves to the number of entries removed.
 */
export async function cleanStaleTemps(p: Project): Promise<number> {
  let removed = await p.env.store.cleanStaleTemps();
  for (const name of await readdir(p.layout.workTmp).catch(() => [] as string[])) {
    const pid = Number(/-(\d+)-[0-9a-z]+$/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) continue;
    await rm(join(p.layout.workTmp, name), { recursive: true, force: true });
    removed++;
  }
  // Half-written locks (beside the pipeline file) and hash states.
  removed += await removeDeadTemps(p.root, (target) => target.endsWith('.lock'));
  removed += await removeDeadTemps(dirname(p.layout.stateFile));
  return removed;
}
