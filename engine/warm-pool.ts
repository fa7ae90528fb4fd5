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
import type { EventSink } from './events.js';
import type { ResolvedStage } from './graph.js';
import { lifelineSpawn } from './lifeline.js';
import type { RunResult } from './run-stage.js';
import type { WarmReply, WarmRequest } from './warm-worker.js';
import type { WorkerJob } from './worker.js';

const WARM = fileURLToPath(new URL('./warm-worker.js', import.meta.url));

interface Slot {
  child: ChildProcess;
  /** The job running now, with its handlers. */
  current?: { id: number; stage: string; onMsg(r: WarmReply): void; onExit(code: number | null, signal: string | null): void };
}

/** A pool of warm workers. */
export class WarmPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: ((s: Slot) => void)[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly size: number, private readonly threads: number, private readonly emit: EventSink) {}

  private spawn(): Slot {
    // Its own process group with a lifeline (engine/lifeline.ts): it dies with the engine even if that is SIGKILLed.
    const child = fork(WARM, [], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'ipc'], serialization: 'json', detached: true,
      env: { ...process.env, PIPE_THREADS: process.env['PIPE_THREADS'] ?? String(this.threads), ...lifelineSpawn().env },
    });
    const slot: Slot = { child };
    child.on('message', (raw: unknown) => {
      const r = raw as WarmReply;
      if (slot.current?.id === r.id) slot.current.onMsg(r);
    });
    child.on('exit', (code, signal) => {
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

  private acquire(): Promise<Slot> {
    const idle = this.slots.find((s) => !s.current);
    if (idle) return Promise.resolve(idle);
    if (this.slots.length < this.size) return Promise.resolve(this.spawn());
    return new Promise((res) => this.waiting.push(res));
  }

  private release(slot: Slot): void {
    slot.current = undefined;
    const next = this.waiting.shift();
    if (!next) return;
    next(this.slots.includes(slot) ? slot : this.spawn());
  }

  /** Runs a module stage in a warm worker; `tmp/out` receives its artifacts. */
  async run(stage: ResolvedStage, module: string, inputs: Record<string, string>, tmp: string, root: string, signal: AbortSignal): Promise<RunResult> {
    if (this.closed) return { ok: false, failure: { reason: 'interrupted' } };
    const id = this.nextId++;
    const job: WorkerJob = { name: stage.name, module, params: stage.config.params, inputs, outDir: join(tmp, 'out'), root };
    await mkdir(job.outDir, { recursive: true });
    // Claimed synchronously on acquisition, so two jobs never share a worker.
    const slot = await this.acquire();
    slot.current = { id, stage: stage.name, onMsg: () => undefined, onExit: () => undefined };
    const metrics: Record<string, number | string> = {};
    const info: Record<string, string> = {};
    try {
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
            switch (m.type) {
              case 'progress': break; // sweep points are short: no progress lines
              case 'log': this.emit({ type: 'stage-output', stage: stage.name, line: m.message, stream: 'stdout' }); break;
              case 'metric': metrics[m.name] = m.value; break;
              case 'info': info[m.key] = m.value; break;
              case 'done': finish(signal.aborted ? { ok: false, failure: { reason: 'interrupted' } } : { ok: true, metrics, info }); break;
              case 'failed': finish({ ok: false, failure: { reason: 'threw', message: m.message, ...(m.stack ? { stack: m.stack } : {}) } }); break;
            }
          },
        };
        slot.child.send({ type: 'job', id, job } satisfies WarmRequest);
      });
    } finally {
      this.release(slot);
    }
  }

  /** Ends every worker. */
  close(): void {
    this.closed = true;
    for (const s of this.slots) {
      s.child.disconnect?.();
      s.child.kill('SIGTERM');
      s.child.stdio[3]?.destroy();
    }
  }
}
