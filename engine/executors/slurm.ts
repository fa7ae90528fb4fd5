/**
 * The Slurm executor: each stale stage's work is one `sbatch` job, submitted
 * when the stage becomes ready; `pipe` stays the coordinator (it decides
 * staleness, restores, stores outputs and writes the lock) and only waits for
 * the job. The project folder (and `.pipe/`) must be on a file system the
 * nodes share, as on every Slurm cluster: the job reads its inputs from the
 * cache and writes its outputs into the stage's work folder there.
 *
 *   submit (sbatch --parsable, resources -> options) -> job id
 *     poll: squeue -j ID (PENDING/RUNNING...) while it is queued or running,
 *           streaming new lines of its log under the stage's name
 *     gone from squeue: sacct -c -j ID (else scontrol show job) -> final state
 *   COMPLETED -> the same result a local run gives (metrics, worker messages)
 *   other     -> failed: its Slurm state, exit code and the tail of its log
 *   Ctrl-C    -> scancel ID, then wait for it to leave the queue
 *
 * A command stage's job runs the same shell command with the same
 * environment (run-stage.ts paramEnv); a module stage's job runs the same
 * worker (engine/worker.js), which then reports through a JSON-lines file
 * instead of IPC.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Resources } from '../config.js';
import type { EventSink } from '../events.js';
import type { ResolvedStage } from '../graph.js';
import type { ProjectLayout } from '../layout.js';
import { shellQuote } from '../interpolate.js';
import { sleep } from '../proc.js';
import { commandMetrics, paramEnv, WORKER, workerReport, type CommandIO, type RunResult } from '../run-stage.js';
import type { WorkerMessage } from '../worker.js';
import type { StageExecutor } from './types.js';

/** Lines of a failed job's log quoted in its failure. */
const TAIL_LINES = 20;

/** sbatch options for a stage's `resources:`. */
export function sbatchOptions(r: Resources | undefined): string[] {
  const o: string[] = [];
  if (r?.cpus !== undefined) o.push(`--cpus-per-task=${r.cpus}`);
  if (r?.mem !== undefined) o.push(`--mem=${r.mem}`);
  if (r?.gpus !== undefined && r.gpus > 0) o.push(`--gpus=${r.gpus}`);
  if (r?.time !== undefined) o.push(`--time=${r.time}`);
  if (r?.partition !== undefined) o.push(`--partition=${r.partition}`);
  return o;
}

/** Runs a Slurm client command; resolves to its stdout, or rejects with its stderr. */
function slurm(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
  });
}

/** How a job ended. */
interface JobEnd {
  readonly state: string;
  readonly exitCode: string;
}

/** Stages as Slurm jobs. */
export class SlurmExecutor implements StageExecutor {
  readonly name = 'slurm';
  private readonly pollMs: number;

  private constructor(private readonly layout: ProjectLayout) {
    this.pollMs = Number(process.env['PIPE_SLURM_POLL_MS'] ?? '') || 500;
  }

  /** The executor, or why it cannot be used here. */
  static open(layout: ProjectLayout): SlurmExecutor | { error: string } {
    const r = spawnSync('sbatch', ['--version'], { encoding: 'utf8' });
    if (r.error || r.status !== 0) return { error: 'executor slurm: `sbatch` is not on the PATH (install the Slurm client, or run with --executor local)' };
    return new SlurmExecutor(layout);
  }

  async runCommand(stage: ResolvedStage, cmd: string, root: string, signal: AbortSignal, emit: EventSink, io?: CommandIO): Promise<RunResult> {
    const env = paramEnv(stage, io);
    const script = [...Object.entries(env).map(([k, v]) => `export ${k}=${shellQuote(v)}`), `exec bash -c ${shellQuote(cmd)}`];
    // The job's script and log: beside its artifacts, or in a work folder of its own.
    const own = io?.outDir === undefined ? join(this.layout.workTmp, `${stage.name}.slurm-${process.pid}-${Date.now().toString(36)}`) : undefined;
    const dir = own ?? join(io?.outDir ?? '', '..');
    let end: Awaited<ReturnType<SlurmExecutor['runJob']>>;
    try {
      end = await this.runJob(stage, dir, root, script, signal, emit, undefined);
    } finally {
      if (own !== undefined) await rm(own, { recursive: true, force: true });
    }
    if ('failed' in end) return end.failed;
    return commandMetrics(stage, root);
  }

  async runModule(
    stage: ResolvedStage, module: string, inputs: Record<string, string>, tmp: string, root: string,
    signal: AbortSignal, emit: EventSink, threads: number, _groups?: unknown, scratch?: string,
  ): Promise<RunResult> {
    const job = { name: stage.name, module, params: stage.config.params, inputs, outDir: join(tmp, 'out'), root, ...(scratch !== undefined ? { scratchDir: scratch } : {}) };
    await writeFile(join(tmp, 'job.json'), JSON.stringify(job));
    const messages = join(tmp, 'messages.jsonl');
    await writeFile(messages, '');
    const cpus = stage.config.resources?.cpus ?? threads;
    const script = [
      `export PIPE_STAGE=${shellQuote(stage.name)}`,
      `export PIPE_THREADS=${shellQuote(process.env['PIPE_THREADS'] ?? String(cpus))}`,
      `export PIPE_WORKER_MESSAGES=${shellQuote(messages)}`,
      `exec ${shellQuote(process.execPath)} ${shellQuote(WORKER)} ${shellQuote(join(tmp, 'job.json'))}`,
    ];
    const report = workerReport(stage.name, emit);
    const end = await this.runJob(stage, tmp, root, script, signal, emit, { path: messages, onMessage: report.onMessage });
    const { outcome, metrics, info } = report;
    if (outcome?.ok === false) return outcome;
    if ('failed' in end) return end.failed;
    if (!outcome) return { ok: false, failure: { reason: 'threw', message: 'the stage\'s Slurm job ended without the worker reporting (crash?)' } };
    return { ok: true, metrics, info };
  }

  /**
   * Submits `script` (run in `root`) as the stage's job, with its log in
   * `dir`; streams the log (and the worker's messages) until the job ends.
   */
  private async runJob(
    stage: ResolvedStage, dir: string, root: string, script: readonly string[], signal: AbortSignal, emit: EventSink,
    messages: { path: string; onMessage: (m: WorkerMessage) => void } | undefined,
  ): Promise<{ ok: true } | { failed: RunResult & { ok: false } }> {
    await mkdir(dir, { recursive: true });
    const scriptPath = join(dir, 'job.sh');
    const log = join(dir, 'slurm.log');
    await writeFile(scriptPath, ['#!/bin/bash', `cd ${shellQuote(root)} || exit 1`, ...script, ''].join('\n'), { mode: 0o755 });
    await writeFile(log, '');
    if (signal.aborted) return { failed: { ok: false, failure: { reason: 'interrupted' } } };
    let id: string;
    try {
      const out = await slurm('sbatch', [
        '--parsable', `--job-name=pipe:${stage.name}`, `--output=${log}`, `--chdir=${root}`, '--export=ALL',
        ...sbatchOptions(stage.config.resources), scriptPath,
      ]);
      id = (out.trim().split(';')[0] ?? '').trim();
      if (!/^\d+$/.test(id)) throw new Error(`sbatch printed no job id: ${out.trim()}`);
    } catch (e) {
      return { failed: { ok: false, failure: { reason: 'job-failed', state: (e as Error).message, log: [] } } };
    }
    emit({ type: 'note', level: 'info', stage: stage.name, message: `submitted as Slurm job ${id}` });
    const logTail = new Follower(log, (line) => emit({ type: 'stage-output', stage: stage.name, line, stream: 'stdout' }));
    const msgTail = messages ? new Follower(messages.path, (line) => {
      try {
        messages.onMessage(JSON.parse(line) as WorkerMessage);
      } catch { /* a torn line: ignored */ }
    }) : undefined;
    let cancelled = false;
    const cancel = (): void => {
      cancelled = true;
      void slurm('scancel', [id]).catch((e: unknown) => emit({ type: 'note', level: 'warn', stage: stage.name, message: (e as Error).message }));
    };
    if (signal.aborted) cancel();
    else signal.addEventListener('abort', cancel, { once: true });
    try {
      // Bounded by the job's own time limit: the loop ends when Slurm says the job left the queue.
      for (;;) {
        await sleep(this.pollMs);
        await logTail.poll();
        await msgTail?.poll();
        const state = (await slurm('squeue', ['-h', '-j', id, '-o', '%T']).catch(() => '')).trim();
        if (state === '' || /^(COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL|BOOT_FAIL|DEADLINE|PREEMPTED)$/.test(state)) break;
      }
    } finally {
      signal.removeEventListener('abort', cancel);
    }
    const end = await this.finalState(id);
    await logTail.poll(true);
    await msgTail?.poll(true);
    if (cancelled || signal.aborted) return { failed: { ok: false, failure: { reason: 'interrupted' } } };
    if (end.state === 'COMPLETED') return { ok: true };
    return { failed: { ok: false, failure: { reason: 'job-failed', job: id, state: end.state, exitCode: end.exitCode, log: logTail.last(TAIL_LINES) } } };
  }

  /** The job's final state: from sacct (the job-completion log or slurmdbd), else scontrol while Slurm remembers it. */
  private async finalState(id: string): Promise<JobEnd> {
    for (let i = 0; i < 20; i++) {
      for (const args of [['-c', '-j', id, '-n', '-P', '-o', 'JobID,State,ExitCode'], ['-j', id, '-n', '-P', '-X', '-o', 'JobID,State,ExitCode']]) {
        const out = await slurm('sacct', args).catch(() => '');
        const row = out.split('\n').map((l) => l.split('|')).find((f) => f[0] === id);
        if (row && row[1]) return { state: (row[1].split(' ')[0] ?? row[1]), exitCode: row[2] ?? '?' };
      }
      const sc = await slurm('scontrol', ['show', 'job', id, '-o']).catch(() => '');
      const state = /JobState=(\S+)/.exec(sc)?.[1];
      if (state && !/^(PENDING|RUNNING|COMPLETING|CONFIGURING)$/.test(state)) return { state, exitCode: /ExitCode=(\S+)/.exec(sc)?.[1] ?? '?' };
      await sleep(this.pollMs);
    }
    return { state: 'UNKNOWN', exitCode: '?' };
  }
}

/** Follows a growing file, handing out complete lines; keeps the last ones for a failure message. */
class Follower {
  private offset = 0;
  private partial = '';
  private readonly recent: string[] = [];
  constructor(private readonly path: string, private readonly onLine: (line: string) => void) {}

  /** Reads what was appended since the last poll; `final` flushes an unterminated last line. */
  async poll(final = false): Promise<void> {
    const fh = await open(this.path, 'r').catch(() => undefined);
    if (!fh) return;
    try {
      for (;;) {
        const buf = Buffer.alloc(1 << 16);
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        this.partial += buf.subarray(0, bytesRead).toString('utf8');
      }
    } finally {
      await fh.close();
    }
    const lines = this.partial.split('\n');
    this.partial = lines.pop() ?? '';
    if (final && this.partial !== '') {
      lines.push(this.partial);
      this.partial = '';
    }
    for (const l of lines) {
      this.recent.push(l);
      if (this.recent.length > TAIL_LINES) this.recent.shift();
      this.onLine(l);
    }
  }

  /** The last `n` lines read. */
  last(n: number): string[] {
    return this.recent.slice(-n);
  }
}
