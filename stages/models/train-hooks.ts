/**
 * What a training stage hands the training loop from its context: a
 * checkpoint in its scratch folder (resumed after an interrupt, see
 * checkpoint.ts) and progress within each epoch (batches done of the whole
 * training, with the epoch and images per second), at most twice a second.
 */
import type { StageContext } from '../../engine/stage-api.js';
import type { TrainLoopOptions } from './train-loop.js';

/** Milliseconds between two batch progress reports. */
const EVERY_MS = 500;

/**
 * The `checkpoint` and `onBatch` options of a training stage's loop:
 * `train.ckpt` in `ctx.scratchDir` (none without one), tagged with the
 * backend facts (backendInfo) a resumed run must share; batch progress
 * through `ctx.progress`.
 */
export function trainingHooks(
  ctx: Pick<StageContext, 'scratchDir' | 'log' | 'progress'>,
  backend: Readonly<Record<string, string>>,
): Pick<TrainLoopOptions, 'checkpoint' | 'onBatch'> {
  let last = -Infinity;
  const onBatch: TrainLoopOptions['onBatch'] = (done, total, at) => {
    const now = performance.now();
    if (now - last < EVERY_MS || done === total) return; // an epoch's end is reported by the stage
    last = now;
    const rate = at.ms > 0 ? Math.round((1000 * at.images) / at.ms) : 0;
    ctx.progress({ done: (at.epoch - 1) * total + done, total: at.epochs * total, unit: 'batches', note: `epoch ${at.epoch}/${at.epochs}, ${rate} images/s` });
  };
  if (ctx.scratchDir === undefined) return { onBatch };
  const checkpoint = { path: `${ctx.scratchDir}/train.ckpt`, tag: JSON.stringify(backend), log: (m: string) => ctx.log(m) };
  return { checkpoint, onBatch };
}
