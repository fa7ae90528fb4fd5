/**
 * The per-epoch training history the training stages write as an artifact
 * (`seg_history`, `cls_history`), rewritten after every epoch so it grows
 * as they train. The report draws its training curves from it.
 *
 * ```json
 * {"best_epoch": 3, "epochs": [{"epoch": 1, "loss": -0.21, "val_loss": -0.18,
 *   "val_dice": 0.4, "improved": true}, ...]}
 * ```
 *
 * A number that is not finite (no validation set) is written as null. No wall
 * times: the artifact is bit-identical for the same key, like every other.
 */
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { EpochReport } from './train-loop.js';

/** One epoch: losses and the evaluator's validation metrics. */
export interface EpochRecord {
  readonly epoch: number;
  readonly loss: number | null;
  readonly val_loss: number | null;
  readonly improved: boolean;
  /** Evaluator metrics (`val_dice`, `val_acc`, ...). */
  readonly [metric: string]: number | boolean | null;
}

/** A training's history: epochs in order and the epoch whose weights were kept. */
export interface History {
  readonly best_epoch: number;
  readonly epochs: readonly EpochRecord[];
}

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** The record of one epoch report. */
export function epochRecord(r: EpochReport): EpochRecord {
  const metrics = Object.fromEntries(Object.entries(r.metrics).map(([k, v]) => [k, finite(v)]));
  return { epoch: r.epoch, loss: finite(r.loss), val_loss: finite(r.valLoss), improved: r.improved, ...metrics };
}

/**
 * Collects epochs and rewrites the history file at `path` after each one;
 * `finish` records the best epoch the model holds.
 */
export class HistoryWriter {
  private readonly epochs: EpochRecord[] = [];
  private best = 0;

  constructor(private readonly path: string) {}

  /** Adds an epoch (the best so far when it improved) and rewrites the file. */
  add(r: EpochReport): void {
    this.epochs.push(epochRecord(r));
    if (r.improved) this.best = r.epoch;
    this.write();
  }

  /** Writes the final file with the epoch whose weights were kept. */
  finish(bestEpoch: number): void {
    this.best = bestEpoch;
    this.write();
  }

  /** Synchronous: called from the training loop's epoch callback, between epochs. */
  private write(): void {
    const h: History = { best_epoch: this.best, epochs: this.epochs };
    writeFileSync(this.path, JSON.stringify(h) + '\n');
  }
}

/** Reads a history artifact; throws naming the file when it is not one. */
export async function readHistory(path: string): Promise<History> {
  const v = JSON.parse(await readFile(path, 'utf8')) as Partial<History>;
  if (!Array.isArray(v.epochs) || typeof v.best_epoch !== 'number' || v.epochs.some((e) => typeof e?.epoch !== 'number')) {
    throw new Error(`${path}: not a training history (expected {best_epoch, epochs: [{epoch, loss, ...}]})`);
  }
  return v as History;
}
