/**
 * How the training stages show an epoch: one progress update (epochs, with
 * losses, the key metric and time per epoch) and one log line.
 */
import type { StageContext } from '../../engine/stage-api.js';
import type { EpochReport, TrainResult } from './train-loop.js';

const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(4) : '-');

/** The text of one epoch, e.g. `loss -0.41 val_loss -0.38 val_dice 0.61 (12s/epoch)`. */
export function epochNote(r: EpochReport, key: string): string {
  const parts = [`loss ${fmt(r.loss)}`];
  if (Number.isFinite(r.valLoss)) parts.push(`val_loss ${fmt(r.valLoss)}`);
  const v = r.metrics[key];
  if (v !== undefined) parts.push(`${key} ${fmt(v)}`);
  return `${parts.join(' ')} (${r.seconds.toFixed(1)}s/epoch)`;
}

/** Reports an epoch as progress and as a log line (all metrics, `*` when best so far). */
export function reportEpoch(ctx: StageContext, r: EpochReport, key: string): void {
  ctx.progress({ done: r.epoch, total: r.epochs, unit: 'epochs', note: epochNote(r, key) });
  const extra = Object.entries(r.metrics)
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(' ');
  ctx.log(`epoch ${r.epoch}/${r.epochs} loss ${fmt(r.loss)} val_loss ${fmt(r.valLoss)} ${extra} ` +
    `${r.seconds.toFixed(1)}s${r.improved ? ' *' : ''}`);
}

/** Records a metric, skipping non-finite numbers (no validation set, no NaN in the lock). */
export function metric(ctx: StageContext, name: string, value: number | undefined): void {
  if (value !== undefined && Number.isFinite(value)) ctx.metric(name, value);
}

/**
 * Records the metrics of a finished training in the lock: model size, epochs,
 * best and final losses, the best epoch's validation metrics, ms per step.
 */
export function reportTraining(ctx: StageContext, result: TrainResult, params: number): void {
  const best = result.history[result.bestEpoch - 1];
  const last = result.history[result.history.length - 1];
  metric(ctx, 'params', params);
  metric(ctx, 'epochs_run', result.epochsRun);
  metric(ctx, 'best_epoch', result.bestEpoch);
  metric(ctx, 'best_val_loss', result.bestValLoss);
  metric(ctx, 'final_val_loss', last?.valLoss);
  metric(ctx, 'final_loss', last?.loss);
  for (const [name, value] of Object.entries(best?.metrics ?? {})) metric(ctx, name, value);
  metric(ctx, 'ms_per_step', Math.round(result.msPerStep));
}
