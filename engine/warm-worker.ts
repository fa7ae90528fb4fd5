/**
 * A warm worker: one long-lived process that runs many module-stage jobs, one
 * after the other, for `pipe sweep`. Unlike worker.ts (one process per
 * stage), it pays Node's start-up and the stage module's import once, and a
 * stage module may keep what it decoded from its inputs between jobs (input
 * paths are cache objects named by digest, so they never change).
 *
 *   engine --{type: job, id, job}--> warm worker --{id, msg: WorkerMessage}*--> engine
 *   engine --{type: abort, id}-----> (the job's ctx.signal aborts)
 *   engine disconnects --> worker exits
 */
import { holdLifeline } from './lifeline.js';
import { stageMemoDir } from './layout.js';
import { loadStageKind } from './load-module.js';
import type { Params, StageContext } from './stage-api.js';
import type { WorkerJob, WorkerMessage } from './worker.js';

/**
 * What the engine sends a warm worker (`preload`: import a stage module now,
 * ahead of its job, and with `expect` let it prepare for the params and
 * inputs the engine guesses the job will have: StageKind.prepare).
 */
export type WarmRequest =
  | { readonly type: 'job'; readonly id: number; readonly job: WorkerJob }
  | { readonly type: 'abort'; readonly id: number }
  | { readonly type: 'preload'; readonly module: string; readonly expect?: { readonly params: Params; readonly inputs: Readonly<Record<string, string>> } };

/** What a warm worker answers: a message of job `id`. */
export interface WarmReply {
  readonly id: number;
  readonly msg: WorkerMessage;
}

function send(id: number, msg: WorkerMessage): Promise<void> {
  return new Promise((res) => {
    if (!process.send || !process.connected) return res();
    process.send({ id, msg } satisfies WarmReply, undefined, {}, () => res());
  });
}

const aborts = new Map<number, AbortController>();
let chain: Promise<void> = Promise.resolve();
// Die with the engine even if it is SIGKILLed (the pool starts us as a group leader).
holdLifeline(5000);

async function runJob(id: number, job: WorkerJob): Promise<void> {
  const controller = aborts.get(id) ?? new AbortController();
  aborts.set(id, controller);
  const ctx: StageContext = {
    name: job.name, params: job.params, inputs: job.inputs, outDir: job.outDir, root: job.root, signal: controller.signal,
    ...(job.scratchDir !== undefined ? { scratchDir: job.scratchDir } : {}),
    memoDir: stageMemoDir(job.root),
    log: (message) => void send(id, { type: 'log', message }),
    progress: (progress) => void send(id, { type: 'progress', progress }),
    metric: (name, value) => void send(id, { type: 'metric', name, value }),
    info: (key, value) => void send(id, { type: 'info', key, value }),
  };
  try {
    const kind = await loadStageKind(job.module);
    await kind.run(ctx);
    if (controller.signal.aborted) throw new Error('interrupted');
    await send(id, { type: 'done' });
  } catch (e) {
    // As in worker.ts: the one place where a stage's exception becomes a failure value.
    const err = e instanceof Error ? e : new Error(String(e));
    await send(id, { type: 'failed', message: err.message, ...(err.stack ? { stack: err.stack } : {}) });
  } finally {
    aborts.delete(id);
  }
}

/** The preparations queued or running (StageKind.prepare), with the params they guessed. */
const preparing = new Set<{ readonly params: string; readonly controller: AbortController }>();

process.on('message', (raw: unknown) => {
  const m = raw as WarmRequest;
  if (m.type === 'preload') {
    // A failure to load is the job's to report, when it comes; a failure to prepare is the guess's.
    const { module, expect } = m;
    const p = { params: JSON.stringify(expect?.params ?? null), controller: new AbortController() };
    preparing.add(p);
    chain = chain.then(async () => {
      try {
        const kind = await loadStageKind(module);
        if (expect !== undefined && !p.controller.signal.aborted) await kind.prepare?.(expect.params, expect.inputs, p.controller.signal);
      } catch { /* see above */ } finally {
        preparing.delete(p);
      }
    });
    return;
  }
  if (m.type === 'abort') {
    aborts.get(m.id)?.abort(new Error('interrupted'));
    return;
  }
  // A job the guess got wrong (other params) does not wait for the preparation: it is abandoned.
  const params = JSON.stringify(m.job.params);
  for (const p of preparing) if (p.params !== params) p.controller.abort(new Error('another job came'));
  aborts.set(m.id, new AbortController());
  chain = chain.then(() => runJob(m.id, m.job));
});
process.on('disconnect', () => {
  for (const c of aborts.values()) c.abort(new Error('engine went away'));
  setTimeout(() => process.exit(0), 200).unref();
});
process.on('SIGTERM', () => process.exit(143));
