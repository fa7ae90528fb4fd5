/**
 * The engine's side of warm workers (warm-worker.ts): a pool of at most
 * `size` long-lived processes, each running one module-stage job at a time.
 * Jobs wait for a free worker; a worker that dies fails its job and is
 * replaced on the next one. `close` ends them all (they also exit when the
 * engine goes away: their IPC channel closes).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineEvent, EventSink } from './events.js';
import type { ResolvedStage } from './graph.js';
import { lifelineSpawn } from './lifeline.js';
import { killOnAbort, workerReport, type GroupTracker, type RunResult } from './run-stage.js';
import type { WarmReply, WarmRequest } from './warm-worker.js';
import type { WorkerJob } from './worker.js';
import type { Params } from './stage-api.js';

const WARM = fileURLToPath(new URL('./warm-worker.js', import.meta.url));

interface Slot {
  child: ChildProcess;
  /** Module and params of the last job: a job goes preferably where the same stage ran with the most params equal (what it memoised may serve it). */
  last?: { module: string; params: Readonly<Record<string, unknown>> };
  /** The job running now, with its handlers. */
  current?: { id: number; stage: string; onMsg(r: WarmReply): void; onExit(code: number | null, signal: string | null): void };
}

/** How many params of `params` the last job of `slot` had equal, if it ran `module` (-1: another module or none). */
function affinity(slot: Slot, module: string, params: Readonly<Record<string, unknown>>): number {
  if (slot.last?.module !== module) return -1;
  const last = slot.last.params;
  return Object.keys(params).filter((k) => JSON.stringify(params[k]) === JSON.stringify(last[k])).length;
}

/** How a pool's workers run and report. */
export interface WarmPoolOptions {
  /** Drop the stages' log and progress lines (a sweep prints one line per point instead). */
  readonly quiet?: boolean;
  /** The workers' working folder (default: this process's). */
  readonly cwd?: string;
  /** Told about each worker's process group (the run lock records them), as for one-stage workers. */
  readonly groups?: GroupTracker;
  /** Called each time a job is handed to a worker (the engine's thread then waits: a moment to do other work). */
  readonly onJob?: () => void;
}

/** How long a closed worker has between SIGTERM and SIGKILL. */
const CLOSE_GRACE_MS = 2000;

/** A pool of warm workers. */
export class WarmPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: { module: string; params: Readonly<Record<string, unknown>>; take(s: Slot): void }[] = [];
  private nextId = 1;
  private readonly sent = new Map<number, number>();
  private readonly busyMs = new Map<string, number>();
  private closed = false;

  private readonly quiet: boolean;

  constructor(private readonly size: number, private readonly threads: number, private readonly emit: EventSink, private readonly options: WarmPoolOptions = {}) {
    this.quiet = options.quiet ?? false;
  }

  /**
   * Starts a worker now if the pool has none idle and room for one, so that a
   * job soon to come does not wait for Node's start-up; with `module`, the
   * worker also imports that stage module ahead of the job, and with `expect`
   * lets it prepare for the job's likely params and inputs (StageKind.prepare).
   */
  prewarm(module?: string, expect?: { readonly params: Params; readonly inputs: Readonly<Record<string, string>> }): void {
    if (this.closed) return;
    const slot = this.slots.find((s) => !s.current) ?? (this.slots.length < this.size ? this.spawn() : undefined);
    if (slot === undefined || module === undefined) return;
    slot.child.send({ type: 'preload', module, ...(expect !== undefined ? { expect } : {}) } satisfies WarmRequest);
    // The job it prepares for goes preferably to this worker.
    if (expect !== undefined) slot.last = { module, params: expect.params };
  }

  private spawn(): Slot {
    // Its own process group with a lifeline (engine/lifeline.ts): it dies with the engine even if that is SIGKILLed.
    const child = fork(WARM, [], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'ipc'], serialization: 'json', detached: true,
      ...(this.options.cwd !== undefined ? { cwd: this.options.cwd } : {}),
      env: { ...process.env, PIPE_THREADS: process.env['PIPE_THREADS'] ?? String(this.threads), ...lifelineSpawn().env },
    });
    const slot: Slot = { child };
    const pid = child.pid;
    if (pid !== undefined) this.options.groups?.started('warm-worker', pid);
    child.on('message', (raw: unknown) => {
      const r = raw as WarmReply;
      if (slot.current?.id === r.id) slot.current.onMsg(r);
    });
    child.on('exit', (code, signal) => {
      if (pid !== undefined) this.options.groups?.ended(pid);
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      slot.current?.onExit(code, signal);
    });
    for (const [stream, which] of [[child.stdout, 'stdout'], [child.stderr, 'stderr']] as const) {
      if (!stream) continue;
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        this.emit({ type: 'stage-output', stage: slot.current?.stage ?? 'warm-worker', line, stream: which });
      });
    }
    this.slots.push(slot);
    return slot;
  }

  private acquire(module: string, params: Readonly<Record<string, unknown>>): Promise<Slot> {
    const idle = this.slots.filter((s) => !s.current);
    if (idle.length) return Promise.resolve(idle.reduce((a, b) => (affinity(b, module, params) > affinity(a, module, params) ? b : a)));
    if (this.slots.length < this.size) return Promise.resolve(this.spawn());
    return new Promise((take) => this.waiting.push({ module, params, take }));
  }

  private release(slot: Slot): void {
    slot.current = undefined;
    if (this.waiting.length === 0) return;
    // The waiting job this worker suits best (first come among equals).
    let best = 0;
    for (let i = 1; i < this.waiting.length; i++) {
      const w = this.waiting[i]!;
      const b = this.waiting[best]!;
      if (affinity(slot, w.module, w.params) > affinity(slot, b.module, b.params)) best = i;
    }
    const [next] = this.waiting.splice(best, 1);
    next?.take(this.slots.includes(slot) ? slot : this.spawn());
  }

  /**
   * Runs a module stage in a warm worker; `tmp/out` receives its artifacts.
   * Its progress and log lines go to `emit` (default: the pool's), as a
   * one-stage worker's do (run-stage.ts's workerReport), unless the pool is quiet.
   */
  async run(stage: ResolvedStage, module: string, inputs: Record<string, string>, tmp: string, root: string, signal: AbortSignal, scratch?: string, emit: EventSink = this.emit): Promise<RunResult> {
    if (this.closed || signal.aborted) return { ok: false, failure: { reason: 'interrupted' } };
    const id = this.nextId++;
    const job: WorkerJob = { name: stage.name, module, params: stage.config.params, inputs, outDir: join(tmp, 'out'), root, ...(scratch !== undefined ? { scratchDir: scratch } : {}) };
    await mkdir(job.outDir, { recursive: true });
    // Claimed synchronously on acquisition, so two jobs never share a worker.
    const slot = await this.acquire(module, stage.config.params);
    slot.current = { id, stage: stage.name, onMsg: () => undefined, onExit: () => undefined };
    slot.last = { module, params: stage.config.params };
    const quiet = (e: EngineEvent): void => {
      if (e.type !== 'stage-progress' && e.type !== 'stage-output') emit(e);
    };
    const report = workerReport(stage.name, this.quiet ? quiet : emit);
    try {
      // A Ctrl-C while it waited for a worker: the job is never sent.
      if (signal.aborted) return { ok: false, failure: { reason: 'interrupted' } };
      return await new Promise<RunResult>((resolve) => {
        const onAbort = (): void => void slot.child.send({ type: 'abort', id } satisfies WarmRequest);
        signal.addEventListener('abort', onAbort, { once: true });
        const finish = (r: RunResult): void => {
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        };
        slot.current = {
          id, stage: stage.name,
          onExit: (code, sig) => finish({ ok: false, failure: sig ? { reason: 'killed', signal: sig } : { reason: 'exit-code', code: code ?? 1 } }),
          onMsg: ({ msg: m }) => {
            report.onMessage(m);
            const outcome = report.outcome;
            if (outcome === undefined) return;
            if (!outcome.ok) finish(outcome);
            else finish(signal.aborted ? { ok: false, failure: { reason: 'interrupted' } } : { ok: true, metrics: report.metrics, info: report.info });
          },
        };
        this.sent.set(id, performance.now());
        slot.child.send({ type: 'job', id, job } satisfies WarmRequest);
        this.options.onJob?.();
      });
    } finally {
      const sent = this.sent.get(id);
      this.sent.delete(id);
      if (sent !== undefined) this.busyMs.set(stage.name, (this.busyMs.get(stage.name) ?? 0) + performance.now() - sent);
      this.release(slot);
    }
  }

  /** Milliseconds workers spent on each stage's jobs (from hand-over to answer, not waiting for a worker). */
  busyTime(): Readonly<Record<string, number>> {
    return Object.fromEntries(this.busyMs);
  }

  /** Ends every worker (SIGTERM, then SIGKILL); resolves when they have exited (at most ~2.5 s). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.slots].map((s) => new Promise<void>((res) => {
      if (s.child.exitCode !== null || s.child.signalCode !== null) return res();
      const timer = setTimeout(res, CLOSE_GRACE_MS + 500);
      timer.unref();
      s.child.once('exit', () => {
        clearTimeout(timer);
        res();
      });
      if (s.child.connected) s.child.disconnect();
      // SIGTERM to its process group, SIGKILL if it is still there after a grace (a stage ignoring SIGTERM).
      const stop = new AbortController();
      const dispose = killOnAbort(s.child.pid, stop.signal, CLOSE_GRACE_MS);
      s.child.once('exit', dispose);
      stop.abort();
      s.child.stdio[3]?.destroy();
    })));
  }
}
