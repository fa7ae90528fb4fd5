/**
 * Where a lock to reproduce comes from: a lock file, an experiment (id or
 * name), or git (`--rev REV`: the lock and the pipeline file as committed);
 * and the project opened with that lock's params instead of the pipeline
 * file's.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { FileState } from '../../cache/file-state.js';
import { RunCache } from '../../cache/run-cache.js';
import { ObjectStore } from '../../cache/store.js';
import { parseConfig, type StageConfig } from '../config.js';
import { buildGraph, type KindRegistry } from '../graph.js';
import { readLock, type Lock } from '../lockfile.js';
import { projectLayout } from '../layout.js';
import type { Project } from '../project.js';
import { fail, ok, type Failure, type Result } from '../result.js';
import { overridesOf } from './overrides.js';
import { ExperimentStore } from './store.js';

/** A lock to reproduce and the pipeline text that gives its stages their shape. */
export interface ReproSource {
  readonly label: string;
  readonly lock: Lock;
  readonly pipelineText: string;
}

function git(root: string, args: string[]): string {
  return execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
}

function parseLockText(text: string, label: string): Result<Lock, Failure> {
  const dir = mkdtempSync(join(tmpdir(), 'pipe-lock-'));
  try {
    writeFileSync(join(dir, 'x.lock'), text);
    const r = readLock(join(dir, 'x.lock'));
    return 'error' in r ? fail({ reason: 'usage', message: `${label} is not a pipe lock: ${r.error.replace(/^\S+ /, '')}` }) : ok(r.lock);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Finds the lock `ref` names (default: the pipeline's own lock), from git when `rev` is set. */
export function findSource(file: string, ref: string | undefined, rev: string | undefined): Result<ReproSource, Failure> {
  const { root, lockPath, dotDir } = projectLayout(file);
  if (rev !== undefined) {
    let prefix: string;
    try {
      prefix = git(root, ['rev-parse', '--show-prefix']).trim();
      git(root, ['rev-parse', '--verify', '-q', `${rev}^{commit}`]);
    } catch {
      return fail({ reason: 'usage', message: `--rev ${rev}: not a commit of a git repository at ${root}` });
    }
    const lockRel = prefix + (ref ?? relative(root, lockPath)).split('\\').join('/');
    const pipeRel = prefix + basename(file);
    let lockText: string;
    let pipelineText: string;
    try {
      lockText = git(root, ['show', `${rev}:${lockRel}`]);
      pipelineText = git(root, ['show', `${rev}:${pipeRel}`]);
    } catch (e) {
      const msg = e instanceof Error && 'stderr' in e ? String((e as { stderr: unknown }).stderr).trim().split('\n')[0] : String(e);
      return fail({ reason: 'usage', message: `--rev ${rev}: ${msg}` });
    }
    const lock = parseLockText(lockText, `${rev}:${lockRel}`);
    return lock.ok ? ok({ label: `${rev}:${lockRel}`, lock: lock.value, pipelineText }) : lock;
  }
  const pipelineText = readFileSync(file, 'utf8');
  const path = ref === undefined ? lockPath : resolve(ref);
  if (ref === undefined || existsSync(path)) {
    const r = parseLockText(readFileSync(path, 'utf8'), ref ?? basename(lockPath));
    return r.ok ? ok({ label: ref ?? basename(lockPath), lock: r.value, pipelineText }) : r;
  }
  const f = new ExperimentStore(dotDir).find(ref);
  if ('error' in f) return fail({ reason: 'usage', message: `${ref} is neither a lock file nor an experiment: ${f.error}` });
  return ok({ label: `experiment ${f.exp.name} (${f.exp.id})`, lock: f.exp.lock, pipelineText });
}

/**
 * The project with the stages of `src.pipelineText`, each stage's params
 * replaced by those the lock recorded (the lock's overrides applied first, so
 * paths made from global params agree too).
 */
export async function openAsLocked(file: string, src: ReproSource, registry: KindRegistry): Promise<Result<Project, Failure>> {
  const config = parseConfig(file, src.pipelineText, overridesOf(src.lock.overrides ?? {}));
  if (!config.ok) return fail({ reason: 'invalid-config', diagnostics: config.error });
  const missing = Object.keys(src.lock.stages).filter((n) => !config.value.stages.has(n));
  if (missing.length) {
    return fail({ reason: 'usage', message: `${src.label} has stages the pipeline file does not: ${missing.join(', ')} (--rev REV takes the pipeline file from git)` });
  }
  const stages = new Map<string, StageConfig>();
  for (const [n, s] of config.value.stages) {
    const e = src.lock.stages[n];
    stages.set(n, e ? { ...s, params: e.params } : s);
  }
  const layout = projectLayout(file);
  const { root, lockPath, dotDir } = layout;
  const graph = await buildGraph({ ...config.value, stages }, root, registry);
  if (!graph.ok) return fail({ reason: 'invalid-config', diagnostics: graph.error });
  const read = readLock(lockPath);
  const current: Lock = 'lock' in read ? read.lock : { version: 1, stages: {} };
  return ok({
    root, graph: graph.value, lockPath, lock: current, dotDir, layout,
    env: {
      root, store: new ObjectStore(layout.cache.root), runs: new RunCache(layout.cache.runs),
      files: await FileState.load(layout.stateFile),
      lock: current.stages,
    },
  });
}
