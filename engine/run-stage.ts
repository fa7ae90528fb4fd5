/**
 * Running one stage's work: a shell command (under engine/stage-guard.ts) or a
 * module stage in a worker process, each the leader of its own process group
 * with a lifeline to the engine (engine/lifeline.ts), streaming its output
 * line by line under the stage's name.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EventSink } from './events.js';
import type { ResolvedStage } from './graph.js';
import { lifelineSpawn } from './lifeline.js';
import type { StageFailure } from './result.js';
import type { Progress } from './stage-api.js';
import type { WorkerJob, WorkerMessage } from './worker.js';

/** The outcome of a stage's work. */
export type RunResult =
  | { ok: true; metrics: Record<string, number | string>; info: Record<string, string> }
  | { ok: false; failure: StageFailure };

/**
 * Told about each stage process group while it runs (the run lock records
 * them, so that a run taking over from a dead one can kill what it left).
 */
export interface GroupTracker {
  started(stage: string, pgid: number): void;
  ended(pgid: number): void;
}

/** How a stage process ended, for a process that did not report success. */
function exitFailure(r: { signal?: string | undefined; exitCode?: number | undefined; message?: string }, command?: string): StageFailure {
  if (r.signal) return { reason: 'killed', signal: r.signal };
  if (r.exitCode !== undefined) return { reason: 'exit-code', code: r.exitCode, ...(command !== undefined ? { command } : {}) };
  return { reason: 'threw', message: (r.message ?? 'failed').split('\n')[0] ?? 'failed' };
}

/** Emits each line of `stream` as stage output. */
function pipeLines(stream: Readable | null | undefined, stage: string, which: 'stdout' | 'stderr', emit: EventSink): Promise<void> {
  if (!stream) return Promise.resolve();
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', (line) => emit({ type: 'stage-output', stage, line, stream: which }));
  return new Promise((res) => rl.on('close', () => res()));
}

/** Milliseconds between two progress events of one stage that reach the logger. */
const PROGRESS_EVERY_MS = 1000;

function progressThrottle(stage: string, emit: EventSink): (p: Progress) => void {
  const t0 = performance.now();
  let last = -Infinity;
  return (progress) => {
    const now = performance.now();
    if (now - last < PROGRESS_EVERY_MS && progress.done < progress.total) return;
    last = now;
    emit({ type: 'stage-progress', stage, progress, elapsedMs: now - t0 });
  };
}

/** What a module stage's worker reported, collected by {@link workerReport}. */
export interface WorkerReport {
  /** Feeds one message of the worker (IPC locally, a JSON-lines file from a Slurm job). */
  onMessage(m: WorkerMessage): void;
  readonly metrics: Record<string, number | string>;
  readonly info: Record<string, string>;
  /** How the worker said it ended (`done` or `failed`); undefined while it has said neither. */
  readonly outcome: { ok: true } | { ok: false; failure: StageFailure } | undefined;
}

/**
 * One handler for a module stage's worker messages, wherever the worker runs:
 * progress reaches `emit` throttled, with the time since the stage started;
 * log lines as stage output; metrics, info and the outcome are collected.
 */
export function workerReport(stage: string, emit: EventSink): WorkerReport {
  const progress = progressThrottle(stage, emit);
  const r: { -readonly [K in keyof WorkerReport]: WorkerReport[K] } = {
    metrics: {},
    info: {},
    outcome: undefined,
    onMessage: (m) => {
      switch (m.type) {
        case 'progress': progress(m.progress); break;
        case 'log': emit({ type: 'stage-output', stage, line: m.message, stream: 'stdout' }); break;
        case 'metric': r.metrics[m.name] = m.value; break;
        case 'info': r.info[m.key] = m.value; break;
        case 'done': r.outcome = { ok: true }; break;
        case 'failed': r.outcome = { ok: false, failure: { reason: 'threw', message: m.message, ...(m.stack ? { stack: m.stack } : {}) } }; break;
      }
    },
  };
  return r;
}

/**
 * What a command stage reads and writes besides its workspace files: the
 * read-only cache paths of its input artifacts by needed stage and artifact
 * name, and the folder its declared `artifacts` go into.
 */
export interface CommandIO {
  readonly inputs: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly outDir?: string;
  readonly artifacts: readonly string[];
}

/** `PIPE_<prefix><NAME>` for a name: upper-cased, every other character than A-Z and 0-9 becomes `_`. */
export function envName(prefix: string, ...parts: readonly string[]): string {
  return `PIPE_${prefix}${parts.map((p) => p.toUpperCase().replace(/[^A-Z0-9]/g, '_')).join('_')}`;
}

/**
 * A command stage's environment: PIPE_STAGE; params as PIPE_PARAMS (JSON) and
 * PIPE_PARAM_<NAME> for scalars; each input artifact's read-only path as
 * PIPE_INPUT_<STAGE>_<ARTIFACT>, all of them as PIPE_INPUTS (JSON
 * {stage: {artifact: path}}); with declared artifacts, PIPE_OUT_DIR and
 * PIPE_ARTIFACT_<NAME> (the path to write each one to).
 */
export function paramEnv(stage: ResolvedStage, io: CommandIO = { inputs: {}, artifacts: [] }): Record<string, string> {
  const env: Record<string, string> = { PIPE_STAGE: stage.name, PIPE_PARAMS: JSON.stringify(stage.config.params) };
  for (const [k, v] of Object.entries(stage.config.params)) {
    if (v === null || typeof v !== 'object') env[envName('PARAM_', k)] = String(v);
  }
  env['PIPE_INPUTS'] = JSON.stringify(io.inputs);
  for (const [from, artifacts] of Object.entries(io.inputs)) {
    for (const [name, path] of Object.entries(artifacts)) env[envName('INPUT_', from, name)] = path;
  }
  if (io.outDir !== undefined) {
    env['PIPE_OUT_DIR'] = io.outDir;
    for (const a of io.artifacts) env[envName('ARTIFACT_', a)] = join(io.outDir, a);
  }
  return env;
}

/**
 * Stops a stage's process tree when `signal` aborts: SIGTERM to its process
 * group (a shell's children too), SIGKILL after `graceMs`. Returns a disposer.
 */
export function killOnAbort(pid: number | undefined, signal: AbortSignal, graceMs: number): () => void {
  const kill = (sig: NodeJS.Signals): void => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch { /* already gone */ }
  };
  let timer: NodeJS.Timeout | undefined;
  const onAbort = (): void => {
    kill('SIGTERM');
    timer = setTimeout(() => kill('SIGKILL'), graceMs);
    timer.unref();
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => {
    signal.removeEventListener('abort', onAbort);
    clearTimeout(timer);
  };
}

const GUARD = fileURLToPath(new URL('./stage-guard.js', import.meta.url));

/** Runs a command stage in `root` with a shell, under the stage guard. */
export async function runCommand(
  stage: ResolvedStage, cmd: string, root: string, signal: AbortSignal, emit: EventSink, io?: CommandIO, groups?: GroupTracker,
): Promise<RunResult> {
  const { execa } = await import('execa');
  const life = lifelineSpawn();
  const sub = execa(process.execPath, [GUARD, cmd], {
    cwd: root, reject: false, detached: true, stdio: life.stdio,
    env: { ...paramEnv(stage, io), ...life.env }, buffer: false, stripFinalNewline: false,
  });
  if (sub.pid !== undefined) groups?.started(stage.name, sub.pid);
  const dispose = killOnAbort(sub.pid, signal, 3000);
  await Promise.all([pipeLines(sub.stdout, stage.name, 'stdout', emit), pipeLines(sub.stderr, stage.name, 'stderr', emit)]);
  const r = await sub;
  dispose();
  sub.stdio[3]?.destroy();
  if (sub.pid !== undefined) groups?.ended(sub.pid);
  if (signal.aborted) return { ok: false, failure: { reason: 'interrupted' } };
  if (r.failed) return { ok: false, failure: exitFailure(r, cmd) };
  return commandMetrics(stage, root);
}

/** A finished command stage's result: its metrics file (`metrics:`) read, or why it could not be. */
export async function commandMetrics(stage: ResolvedStage, root: string): Promise<RunResult> {
  const metrics: Record<string, number | string> = {};
  if (stage.config.metrics) {
    const path = resolve(root, stage.config.metrics);
    try {
      const data = JSON.parse(await readFile(path, 'utf8')) as unknown;
      if (!data || typeof data !== 'object' || Array.isArray(data)) throw new Error('expected a JSON object');
      for (const [k, v] of Object.entries(data)) if (typeof v === 'number' || typeof v === 'string') metrics[k] = v;
    } catch (e) {
      return { ok: false, failure: { reason: 'bad-metrics', file: stage.config.metrics, detail: e instanceof Error ? e.message : String(e) } };
    }
  }
  return { ok: true, metrics, info: {} };
}

/** The worker entry (engine/worker.js), for executors that start it elsewhere. */
export const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

/** Runs a module stage in a worker process; `tmp/out` receives its artifacts. */
export async function runModule(
  stage: ResolvedStage,
  module: string,
  inputs: Record<string, string>,
  tmp: string,
  root: string,
  signal: AbortSignal,
  emit: EventSink,
  threads: number,
  groups?: GroupTracker,
  scratch?: string,
): Promise<RunResult> {
  const { execaNode } = await import('execa');
  const life = lifelineSpawn();
  const job: WorkerJob = {
    name: stage.name, module, params: stage.config.params, inputs, outDir: join(tmp, 'out'), root, ...(scratch !== undefined ? { scratchDir: scratch } : {}),
  };
  const jobPath = join(tmp, 'job.json');
  await writeFile(jobPath, JSON.stringify(job));
  const sub = execaNode(WORKER, [jobPath], {
    cwd: root, reject: false, detached: true, ipc: true, serialization: 'json', stdio: life.stdio, buffer: false,
    env: { PIPE_STAGE: stage.name, PIPE_THREADS: process.env['PIPE_THREADS'] ?? String(threads), ...life.env },
  });
  if (sub.pid !== undefined) groups?.started(stage.name, sub.pid);
  const dispose = killOnAbort(sub.pid, signal, 5000);
  const report = workerReport(stage.name, emit);
  sub.on('message', (raw: unknown) => report.onMessage(raw as WorkerMessage));
  await Promise.all([pipeLines(sub.stdout, stage.name, 'stdout', emit), pipeLines(sub.stderr, stage.name, 'stderr', emit)]);
  const r = await sub;
  dispose();
  sub.stdio[3]?.destroy();
  if (sub.pid !== undefined) groups?.ended(sub.pid);
  if (signal.aborted) return { ok: false, failure: { reason: 'interrupted' } };
  const { outcome, metrics, info } = report;
  if (outcome?.ok === false) return outcome;
  if (!outcome || r.failed) return { ok: false, failure: exitFailure(r) };
  return { ok: true, metrics, info };
}
