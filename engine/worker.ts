/**
 * Worker entry point: runs one module stage in its own process, so a crash or
 * an out-of-memory in a stage cannot corrupt the engine, and two trainings can
 * use two cores. The engine starts it with `node worker.js <job.json>` and an
 * IPC channel; the worker reports {@link WorkerMessage}s and exits 0 on success.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { holdLifeline } from './lifeline.js';
import { stageMemoDir } from './layout.js';
import { loadStageKind } from './load-module.js';
import type { Params, Progress, StageContext } from './stage-api.js';

/** What the engine asks the worker to do. */
export interface WorkerJob {
  readonly name: string;
  readonly module: string;
  readonly params: Params;
  readonly inputs: Readonly<Record<string, string>>;
  readonly outDir: string;
  readonly root: string;
  /** The stage's scratch space for its key (StageContext.scratchDir), when the executor gives one. */
  readonly scratchDir?: string;
}

/** What the worker tells the engine. */
export type WorkerMessage =
  | { readonly type: 'progress'; readonly progress: Progress }
  | { readonly type: 'log'; readonly message: string }
  | { readonly type: 'metric'; readonly name: string; readonly value: number | string }
  | { readonly type: 'info'; readonly key: string; readonly value: string }
  | { readonly type: 'done' }
  | { readonly type: 'failed'; readonly message: string; readonly stack?: string };

/** Without an IPC channel (a cluster job), messages go to this file as JSON lines. */
const MESSAGES = process.env['PIPE_WORKER_MESSAGES'];

function send(m: WorkerMessage): Promise<void> {
  if (MESSAGES) {
    appendFileSync(MESSAGES, JSON.stringify(m) + '\n');
    return Promise.resolve();
  }
  return new Promise((res) => {
    if (!process.send) {
      res();
      return;
    }
    process.send(m, undefined, {}, () => res());
  });
}

async function main(): Promise<void> {
  // Die with the engine even if it is SIGKILLed (the engine starts us as a group leader).
  holdLifeline(5000);
  const jobPath = process.argv[2];
  if (!jobPath) throw new Error('usage: worker.js <job.json>');
  const job = JSON.parse(readFileSync(jobPath, 'utf8')) as WorkerJob;
  const controller = new AbortController();
  process.on('SIGTERM', () => controller.abort(new Error('interrupted')));
  process.on('SIGINT', () => controller.abort(new Error('interrupted')));
  process.on('disconnect', () => controller.abort(new Error('engine went away')));
  const ctx: StageContext = {
    name: job.name,
    params: job.params,
    inputs: job.inputs,
    outDir: job.outDir,
    root: job.root,
    ...(job.scratchDir !== undefined ? { scratchDir: job.scratchDir } : {}),
    memoDir: stageMemoDir(job.root),
    signal: controller.signal,
    log: (message) => void send({ type: 'log', message }),
    progress: (progress) => void send({ type: 'progress', progress }),
    metric: (name, value) => void send({ type: 'metric', name, value }),
    info: (key, value) => void send({ type: 'info', key, value }),
  };
  try {
    const kind = await loadStageKind(job.module);
    await kind.run(ctx);
    if (controller.signal.aborted) throw new Error('interrupted');
    await send({ type: 'done' });
  } catch (e) {
    // The one place where a stage's unexpected exception becomes a failure value.
    const err = e instanceof Error ? e : new Error(String(e));
    await send({ type: 'failed', message: err.message, ...(err.stack ? { stack: err.stack } : {}) });
    process.exitCode = 1;
  }
  process.disconnect?.();
  // A stage may leave handles open (thread pools, timers): do not wait for them.
  setTimeout(() => process.exit(), 200).unref();
}

void main();
