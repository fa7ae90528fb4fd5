/**
 * The custom training loop shared by train-seg and train-cls (not
 * `model.fit`): seeded shuffling, Adam, validation each epoch, early stopping
 * with patience on the validation loss (or, with `monitor`, on an evaluator
 * metric to maximise), best weights restored at the end.
 *
 * ```
 * trainer = createTrainer(model, loss, lr)            (Adam; the one training step)
 * for epoch in 1..epochs:
 *   shuffle(train, seed·epoch) -> batches -> trainer.step(x, y)   (abortable per batch)
 *   val: loss + evaluator metrics (inference mode)
 *   score = monitor ? -metrics[monitor] : val_loss
 *   score < best ? snapshot weights, wait = 0 : wait++ ; wait >= patience -> stop
 * restore best snapshot
 * ```
 *
 * With `checkpoint`, the whole state (weights, Adam's moments, the best
 * snapshot, early-stopping counters, history) is saved after every epoch
 * (checkpoint.ts) and a later call with the same file and tag goes on from
 * the last finished epoch: its result is bit-identical to an uninterrupted
 * run's (test/train-checkpoint.test.ts).
 *
 * Every tensor is created and released inside `tf.tidy`; the optimizer is
 * disposed before returning, so `tf.memory().numTensors` is unchanged.
 * {@link createTrainer} is also what bench/train-throughput times.
 */
import { createAdam } from '../kernels/adam.js';
import { makeRng, subSeed } from '../lib/prng.js';
import type * as TfModule from '@tensorflow/tfjs';
import { makeBatch } from './batches.js';
import { adamState, setAdamState, type AdamState } from './adam-state.js';
import { resume, saveCheckpoint, type CheckpointOptions } from './checkpoint.js';
import { readWeights, writeWeights } from './model-io.js';
import type { Augment, Normalisation, SampleSet } from './batches.js';
import type { LayersModel, Tf } from './tf-types.js';

type Tensor = TfModule.Tensor;
type Scalar = TfModule.Scalar;

/** Accumulates validation metrics over batches (inside tf.tidy: do not keep tensors). */
export interface Evaluator {
  /** Called once per validation batch with truth and prediction of `n` samples. */
  batch(yTrue: Tensor, yPred: Tensor, n: number): void;
  /** The metrics over all batches since the last call; resets the evaluator. */
  result(): Record<string, number>;
}

/** One epoch's outcome, passed to `onEpoch` and kept in the history. */
export interface EpochReport {
  /** 1-based epoch number. */
  readonly epoch: number;
  readonly epochs: number;
  /** Mean training loss over the epoch's batches (weighted by batch size). */
  readonly loss: number;
  /** Validation loss (NaN without a validation set). */
  readonly valLoss: number;
  /** Evaluator metrics on the validation set (e.g. `val_dice`). */
  readonly metrics: Readonly<Record<string, number>>;
  readonly seconds: number;
  /** Whether this epoch improved the best monitored value (validation loss, or the `monitor` metric). */
  readonly improved: boolean;
}

/** Options of {@link trainLoop}. */
export interface TrainLoopOptions {
  readonly tf: Tf;
  readonly model: LayersModel;
  readonly train: SampleSet;
  /** Validation set; with an empty index there is no early stopping. */
  readonly val: SampleSet;
  /** Loss of a batch: `(yTrue, yPred) -> scalar`, yTrue shaped like the model output. */
  readonly loss: LossFn;
  readonly evaluator?: Evaluator;
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  /** Stop after this many epochs without a better monitored value (0 = never stop early). */
  readonly patience: number;
  /**
   * An evaluator metric (e.g. `val_image_dice`) whose highest value picks the
   * epoch kept and drives early stopping; undefined = the lowest validation loss.
   */
  readonly monitor?: string;
  readonly seed: number;
  readonly norm: Normalisation;
  /** Training-time augmentation; undefined = none. */
  readonly augment?: Augment;
  readonly signal?: AbortSignal;
  readonly onEpoch?: (r: EpochReport) => void;
  /** Called after every training batch (for fine-grained progress). */
  readonly onBatch?: (done: number, total: number, at: BatchInfo) => void;
  /** Save the training state here after every epoch, and resume from it. */
  readonly checkpoint?: CheckpointOptions;
}


/** Where a training batch falls, for progress: its epoch and this epoch's pace so far. */
export interface BatchInfo {
  readonly epoch: number;
  readonly epochs: number;
  /** Training images of this epoch done so far. */
  readonly images: number;
  /** Wall time of this epoch so far, in ms. */
  readonly ms: number;
}

/** What {@link trainLoop} returns; the model holds the best weights. */
export interface TrainResult {
  readonly history: readonly EpochReport[];
  /** 1-based epoch whose weights the model holds (the last one without validation). */
  readonly bestEpoch: number;
  readonly bestValLoss: number;
  readonly epochsRun: number;
  readonly stoppedEarly: boolean;
  /** Mean wall time of one training step (batch), in ms. */
  readonly msPerStep: number;
}

/** A loss of a batch: `(yTrue, yPred) -> scalar`, yTrue shaped like the model output. */
export type LossFn = (yTrue: Tensor, yPred: Tensor) => Scalar;

/** The training step of both trainings, with the optimizer state it updates. */
export interface Trainer {
  /**
   * One Adam update of the model's trainable weights on the batch (x, y), the
   * model in training mode (batch norm uses and updates batch statistics).
   * Returns the batch loss before the update. Tidy: `x` and `y` stay the
   * caller's; nothing else is left behind.
   */
  step(x: Tensor, y: Tensor): number;
  /** A copy of the optimizer's state (moments, bias corrections, step count). */
  getState(): AdamState;
  /** Replaces the optimizer's state with `s` (from {@link getState}, for the same model). */
  setState(s: AdamState): void;
  /** Releases the optimizer's state (moments, step count). */
  dispose(): void;
}



/** Options of {@link createTrainer}. */
export interface TrainerOptions {
  /** Use `tf.train.adam` even on wasm (for the bit-compatibility test and the bench's comparison). */
  readonly stockAdam?: boolean;
}

/**
 * The optimizer and step train-seg and train-cls use (through
 * {@link trainLoop}) and bench/train-throughput times. Adam with TF.js's
 * defaults (beta1 0.9, beta2 0.999, epsilon 1e-7) as `createAdam` builds it:
 * on wasm one fused kernel per variable, bit-identical to `tf.train.adam`
 * (test/adam-fused.test.ts) and 3 to 11 % less CPU per step on the
 * benchmark's models; on other backends `tf.train.adam` itself.
 */
export function createTrainer(tf: Tf, model: LayersModel, loss: LossFn, lr: number, opts: TrainerOptions = {}): Trainer {
  const optimizer = opts.stockAdam === true ? tf.train.adam(lr) : createAdam(tf, lr);
  const vars = model.trainableWeights.map((w) => w.read() as TfModule.Variable);
  return {
    step: (x, y) => tf.tidy(() => {
      const cost = optimizer.minimize(() => loss(y, model.apply(x, { training: true }) as Tensor), true, vars);
      return cost === null ? NaN : cost.dataSync()[0]!;
    }),
    getState: () => adamState(optimizer),
    setState: (st) => setAdamState(tf, optimizer, vars, st),
    dispose: () => optimizer.dispose(),
  };
}

/** Shapes the flat batch arrays to the model input / output. */
function batchTensors(tf: Tf, set: SampleSet, n: number, xs: Float32Array, ys: Float32Array): [Tensor, Tensor] {
  const x = tf.tensor4d(xs, [n, set.h, set.w, 1]);
  const y = set.yPerSample === 1 ? tf.tensor2d(ys, [n, 1]) : tf.tensor4d(ys, [n, set.h, set.w, 1]);
  return [x, y];
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw signal.reason instanceof Error ? signal.reason : new Error('training aborted');
}

/** The value early stopping minimises: the validation loss, or minus the `monitor` metric. */
function monitored(monitor: string | undefined, valLoss: number, metrics: Readonly<Record<string, number>>): number {
  if (monitor === undefined) return valLoss;
  const v = metrics[monitor];
  if (v === undefined) throw new Error(`monitor: the evaluator reports no metric ${monitor} (it has: ${Object.keys(metrics).join(', ') || 'none'})`);
  return -v;
}

/**
 * Trains `model` in place and leaves it holding the weights of the epoch with
 * the best monitored value (the lowest validation loss, or the highest
 * `monitor` metric); without validation, the last epoch's.
 *
 * @throws the signal's reason (or an Error) when aborted between batches;
 *   the model then holds whatever weights it had reached.
 */
export async function trainLoop(o: TrainLoopOptions): Promise<TrainResult> {
  const { tf, model, train, val } = o;
  if (train.index.length === 0) throw new Error('no training samples');
  const trainer = createTrainer(tf, model, o.loss, o.lr);
  const history: EpochReport[] = [];
  let best = Infinity;
  let bestEpoch = 0;
  let bestWeights: Float32Array[] | null = null;
  let wait = 0;
  let stepMs = 0;
  let steps = 0;
  let stoppedEarly = false;
  let start = 1;
  try {
    const resumed = o.checkpoint === undefined ? undefined : await resume(o, trainer);
    if (resumed !== undefined) {
      const l = resumed.loop;
      ({ best, bestEpoch, wait, stepMs, steps } = l);
      bestWeights = resumed.bestWeights === null ? null : [...resumed.bestWeights];
      history.push(...l.history);
      for (const r of l.history) o.onEpoch?.(r);
      start = l.epoch + 1;
      if (o.patience > 0 && wait >= o.patience) {
        stoppedEarly = l.epoch < o.epochs;
        start = o.epochs + 1;
      }
    }
    for (let epoch = start; epoch <= o.epochs; epoch++) {
      const t0 = performance.now();
      const rng = makeRng(subSeed(o.seed, epoch));
      const order = rng.shuffle([...train.index]);
      const nBatches = Math.ceil(order.length / o.batchSize);
      let lossSum = 0;
      for (let b = 0; b < nBatches; b++) {
        checkAbort(o.signal);
        const picks = order.slice(b * o.batchSize, (b + 1) * o.batchSize);
        const { xs, ys } = makeBatch(train, picks, o.norm, o.augment, rng);
        const s0 = performance.now();
        const lossValue = tf.tidy(() => {
          const [x, y] = batchTensors(tf, train, picks.length, xs, ys);
          return trainer.step(x, y);
        });
        stepMs += performance.now() - s0;
        steps++;
        lossSum += lossValue * picks.length;
        o.onBatch?.(b + 1, nBatches, { epoch, epochs: o.epochs, images: Math.min(order.length, (b + 1) * o.batchSize), ms: performance.now() - t0 });
        // Let abort signals and progress output through between batches.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      const loss = lossSum / order.length;
      const { valLoss, metrics } = evaluate(o);
      const score = val.index.length === 0 ? NaN : monitored(o.monitor, valLoss, metrics);
      const improved = val.index.length === 0 || score < best;
      if (improved) {
        best = val.index.length === 0 ? NaN : score;
        bestEpoch = epoch;
        wait = 0;
        if (val.index.length > 0 && epoch < o.epochs) bestWeights = readWeights(model);
      } else {
        wait++;
      }
      const report: EpochReport = {
        epoch, epochs: o.epochs, loss, valLoss, metrics, seconds: (performance.now() - t0) / 1000, improved,
      };
      history.push(report);
      o.onEpoch?.(report);
      if (o.checkpoint !== undefined) {
        const loop = { epoch, best, bestEpoch, wait, stepMs, steps, history };
        await saveCheckpoint(o.checkpoint.path, { loop, weights: readWeights(model), bestWeights, adam: trainer.getState() }, o.checkpoint.tag);
      }
      if (o.patience > 0 && wait >= o.patience) {
        stoppedEarly = epoch < o.epochs;
        break;
      }
    }
    const last = history.length;
    if (bestWeights !== null && bestEpoch !== last) writeWeights(tf, model, bestWeights);
    return {
      history, bestEpoch, bestValLoss: history[bestEpoch - 1]?.valLoss ?? NaN, epochsRun: last, stoppedEarly, msPerStep: steps > 0 ? stepMs / steps : 0,
    };
  } finally {
    trainer.dispose();
  }
}


/** Validation loss (sample-weighted mean over batches) and evaluator metrics. */
function evaluate(o: TrainLoopOptions): { valLoss: number; metrics: Record<string, number> } {
  const { tf, model, val } = o;
  if (val.index.length === 0) return { valLoss: NaN, metrics: {} };
  let sum = 0;
  for (let b = 0; b < val.index.length; b += o.batchSize) {
    const picks = val.index.slice(b, b + o.batchSize);
    const { xs, ys } = makeBatch(val, picks, o.norm);
    sum += tf.tidy(() => {
      const [x, y] = batchTensors(tf, val, picks.length, xs, ys);
      const p = model.apply(x, { training: false }) as Tensor;
      o.evaluator?.batch(y, p, picks.length);
      return o.loss(y, p).dataSync()[0]! * picks.length;
    });
  }
  return { valLoss: sum / val.index.length, metrics: o.evaluator?.result() ?? {} };
}

