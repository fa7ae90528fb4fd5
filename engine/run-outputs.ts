/**
 * Running one stage's work through its executor and storing what it wrote:
 * declared outs are cleared first (contained, see paths.ts), artifacts and
 * outs go into the cache, and a write that fails becomes a StageFailure
 * naming the file.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { removeOut, workspaceAbs, type Reserved } from './paths.js';
import { PathProblemError } from '../cache/dir-manifest.js';
import { CacheObjectError, describeProblem, type StoredRef } from '../cache/store.js';
import type { EngineEvent } from './events.js';
import type { ResolvedStage } from './graph.js';
import type { Outputs, PlanEnv } from './planner.js';
import { describeStageFailure, type StageFailure } from './result.js';
import type { RunResult } from './run-stage.js';
import { localExecutor } from './executors/local.js';
import type { ExecuteOptions } from './executor.js';

/**
 * The failure of storing or restoring through the cache, or of writing the
 * run cache or `lockPath`: a corrupt object, or an I/O error (ENOSPC) naming
 * the file that could not be written.
 */
export function storeFailure(e: unknown, fallbackPath: string): StageFailure {
  if (e instanceof CacheObjectError) return { reason: 'cache-corrupt', digest: e.detail.digest, detail: describeProblem(e.detail) };
  const err = e as NodeJS.ErrnoException;
  return { reason: 'io', path: err.path ?? fallbackPath, message: ioMessage(err) };
}

/** "no space left on device (ENOSPC)" for errno errors, else the message. */
function ioMessage(err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOSPC') return 'no space left on device (ENOSPC)';
  return err.code && err.syscall ? `${err.code} (${err.syscall})` : err.message ?? String(err);
}

/**
 * Why storing the declared output (or artifact) `name` at `abs` failed: not
 * written, not a file or folder, or an I/O error; with the line a person
 * reads when it says more than the failure alone.
 */
function outputFailure(name: string, artifact: boolean, abs: string, e: unknown, env: PlanEnv): { failure: StageFailure; message?: string } {
  const what = `${artifact ? 'artifact' : 'output'} "${name}"`;
  if (e instanceof PathProblemError) {
    if (e.path === abs && e.what === 'does not exist') return { failure: { reason: 'output-missing', output: name, ...(artifact ? { artifact } : {}) } };
    const rel = relative(env.root, e.path) || '.';
    return { failure: { reason: 'io', path: rel, message: e.what }, message: `${what}: ${rel} ${e.what}` };
  }
  // Without a path on the error, it was writing the temp object that failed.
  const f = storeFailure(e, env.store.paths.tmp);
  if (f.reason !== 'io') return { failure: f };
  const rel = { ...f, path: relative(env.root, f.path) };
  return { failure: rel, message: `cannot store ${what} in the cache: ${describeStageFailure(rel)}` };
}

/** What {@link runStage} needs of a run's options. */
export type RunStageOptions = Pick<ExecuteOptions, 'signal' | 'emit' | 'tmpDir' | 'threadsPerStage' | 'groups' | 'executor' | 'scratchDir'>;

let serial = 0;

/**
 * The scratch folder of a module stage for `key` (`<scratchDir>/<stage>/<key hex>`),
 * created; the folders of the stage's other keys (other params or inputs) are
 * removed, so a checkpoint never outlives the key it was written for.
 */
async function scratchFor(scratchDir: string, stage: string, key: string): Promise<string> {
  const base = join(scratchDir, stage);
  const mine = key.replace(/^sha256:/, '');
  for (const other of await readdir(base).catch(() => [] as string[])) {
    if (other !== mine) await rm(join(base, other), { recursive: true, force: true });
  }
  const dir = join(base, mine);
  await mkdir(dir, { recursive: true });
  return dir;
}

/**
 * Runs a stage's work and stores its outputs. With `key` and
 * `opts.scratchDir`, a module stage gets a scratch folder for that key, kept
 * when it fails (an interrupted training resumes from it) and removed once
 * its outputs are stored.
 */
export async function runStage(
  stage: ResolvedStage,
  upstream: ReadonlyMap<string, Outputs>,
  artifactsOf: (stage: string) => readonly string[],
  env: PlanEnv,
  opts: RunStageOptions,
  reserved: Reserved,
  key?: string,
): Promise<{ ok: true; outputs: Record<string, StoredRef>; metrics: Record<string, number | string>; info: Record<string, string> } | { ok: false; failure: StageFailure; message?: string }> {
  // Old outputs must not pass for new ones: clear declared outs first (they are in the cache).
  for (const o of stage.outs) {
    const refused = await removeOut(env.root, o, reserved);
    if (refused !== undefined) return { ok: false, failure: { reason: 'io', path: o, message: refused }, message: refused };
    await mkdir(dirname(workspaceAbs(env.root, o)), { recursive: true });
  }
  const emit = (e: EngineEvent): void => opts.emit(e);
  let res: RunResult;
  // Unique within the process (a sweep runs the same stage for several points at once), and
  // still `<stage>-<pid>-<[0-9a-z]+>` as cleanStaleTemps (project.ts) reads it.
  const tmp = join(opts.tmpDir, `${stage.name}-${process.pid}-${Date.now().toString(36)}${(serial++).toString(36)}`);
  let scratch: string | undefined;
  try {
    // Input artifacts as read-only paths inside the cache, by needed stage and artifact name.
    const byStage: Record<string, Record<string, string>> = {};
    const inputs: Record<string, string> = {};
    for (const n of stage.needs) {
      const up = upstream.get(n) ?? {};
      for (const name of artifactsOf(n)) {
        const ref = up[name];
        if (!ref) continue;
        let path: string;
        try {
          path = await env.store.view(ref);
        } catch (e) {
          const failure = storeFailure(e, env.store.root);
          return { ok: false, failure, message: `input "${n}/${name}": ${describeStageFailure(failure)}` };
        }
        (byStage[n] ??= {})[name] = path;
        inputs[name] = path;
      }
    }
    await mkdir(join(tmp, 'out'), { recursive: true });
    // Where the work runs: this machine, or a cluster job (engine/executors/).
    const where = opts.executor ?? localExecutor;
    if (stage.runner.type === 'cmd') {
      const io = { inputs: byStage, artifacts: stage.artifacts, ...(stage.artifacts.length > 0 ? { outDir: join(tmp, 'out') } : {}) };
      res = await where.runCommand(stage, stage.runner.cmd, env.root, opts.signal, emit, io, opts.groups);
    } else {
      if (opts.scratchDir !== undefined && key !== undefined) scratch = await scratchFor(opts.scratchDir, stage.name, key);
      res = await where.runModule(stage, stage.runner.module, inputs, tmp, env.root, opts.signal, emit, opts.threadsPerStage, opts.groups, scratch);
    }
    if (!res.ok) return res;
    const outputs: Record<string, StoredRef> = {};
    for (const a of stage.artifacts) {
      try {
        outputs[a] = await env.store.putPath(join(tmp, 'out', a));
      } catch (e) {
        return { ok: false, ...outputFailure(a, true, join(tmp, 'out', a), e, env) };
      }
    }
    for (const o of stage.outs) {
      try {
        outputs[o] = await env.store.putPath(workspaceAbs(env.root, o));
      } catch (e) {
        return { ok: false, ...outputFailure(o, false, workspaceAbs(env.root, o), e, env) };
      }
    }
    // Stored: what the scratch space held (checkpoints) is of no further use.
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
    return { ok: true, outputs, metrics: res.metrics, info: res.info };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** An exception thrown while running a stage's work (a bug, or an error the cache did not name), as a failure. */
export function thrown(e: unknown): StageFailure {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.syscall === 'string') return { reason: 'io', path: err.path ?? '?', message: ioMessage(err) };
  return { reason: 'threw', message: e instanceof Error ? e.message : String(e), ...(e instanceof Error && e.stack ? { stack: e.stack } : {}) };
}
