/**
 * Training checkpoints: everything the training loop needs to go on after
 * epoch `e` exactly as if it had never stopped, in one safetensors file,
 * written atomically after every epoch (a kill mid-write leaves the previous
 * one).
 *
 * ```
 * tensors:   w/<i>          the model's weights, model.weights order (batch-norm statistics too)
 *            best/<i>       the best epoch's snapshot, when there is one
 *            opt/m/<i>      Adam's first and second moments, trainable-weights order
 *            opt/v/<i>
 *            opt/acc        [accBeta1, accBeta2], the float32 bias-correction
 *                           accumulators exactly (Adam's own setWeights recomputes
 *                           them with pow, which is not bit-identical)
 * metadata:  format         "pipe-checkpoint/1"
 *            tag            what must match to resume (backend, threads, versions)
 *            loop           JSON: epoch, best, bestEpoch, wait, stepMs, steps, history
 *            counts         JSON: weights, best snapshot and moment tensors, Adam's iterations
 * ```
 *
 * The shuffling and augmentation PRNG needs no state: each epoch draws from
 * its own generator, seeded by (seed, epoch).
 */
import { existsSync } from 'node:fs';
import { readTensors, writeTensors, type NamedTensor } from '../../cache/tensors.js';
import type { AdamState } from './adam-state.js';
import { writeWeights } from './model-io.js';
import type { EpochReport, Trainer, TrainLoopOptions } from './train-loop.js';

/** The `format` metadata value. */
export const CHECKPOINT_FORMAT = 'pipe-checkpoint/1';


/** The training loop's state after a finished epoch. */
export interface LoopState {
  /** The last finished epoch (1-based). */
  readonly epoch: number;
  readonly best: number;
  readonly bestEpoch: number;
  readonly wait: number;
  readonly stepMs: number;
  readonly steps: number;
  readonly history: readonly EpochReport[];
}

/** A whole checkpoint. */
export interface Checkpoint {
  readonly loop: LoopState;
  readonly weights: readonly Float32Array[];
  readonly bestWeights: readonly Float32Array[] | null;
  readonly adam: AdamState;
}

// JSON has no NaN or Infinity (no validation set gives NaN losses): tag them.
const replacer = (_k: string, v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? { nonFinite: String(v) } : v);
const reviver = (_k: string, v: unknown): unknown =>
  v !== null && typeof v === 'object' && 'nonFinite' in v && Object.keys(v).length === 1 ? Number((v as { nonFinite: string }).nonFinite) : v;

const f32 = (data: Float32Array): NamedTensor => ({ dtype: 'float32', shape: [data.length], data });

/** Writes `c` to `path` atomically. */
export async function saveCheckpoint(path: string, c: Checkpoint, tag: string): Promise<void> {
  const tensors: Record<string, NamedTensor> = {};
  c.weights.forEach((w, i) => { tensors[`w/${i}`] = f32(w); });
  c.bestWeights?.forEach((w, i) => { tensors[`best/${i}`] = f32(w); });
  c.adam.m.forEach((w, i) => { tensors[`opt/m/${i}`] = f32(w); });
  c.adam.v.forEach((w, i) => { tensors[`opt/v/${i}`] = f32(w); });
  tensors['opt/acc'] = f32(Float32Array.of(c.adam.accBeta1, c.adam.accBeta2));
  await writeTensors(path, tensors, {
    format: CHECKPOINT_FORMAT,
    tag,
    loop: JSON.stringify(c.loop, replacer),
    counts: JSON.stringify({ weights: c.weights.length, best: c.bestWeights?.length ?? 0, moments: c.adam.m.length, iterations: c.adam.iterations }),
  });
}

/**
 * The checkpoint at `path`, or why there is none to resume from: no file,
 * another tag (backend, threads or versions changed), or not a checkpoint.
 */
export async function loadCheckpoint(path: string, tag: string): Promise<{ ok: true; checkpoint: Checkpoint } | { ok: false; why: string }> {
  if (!existsSync(path)) return { ok: false, why: 'no checkpoint' };
  try {
    const { tensors, metadata } = await readTensors(path);
    if (metadata['format'] !== CHECKPOINT_FORMAT) return { ok: false, why: `not a checkpoint (${String(metadata['format'])})` };
    if (metadata['tag'] !== tag) return { ok: false, why: 'written with another backend, thread count or versions' };
    const counts = JSON.parse(metadata['counts'] ?? '{}') as { weights: number; best: number; moments: number; iterations: number };
    const list = (prefix: string, n: number): Float32Array[] => Array.from({ length: n }, (_, i) => {
      const t = tensors[`${prefix}/${i}`];
      if (t === undefined || !(t.data instanceof Float32Array)) throw new Error(`no float32 tensor ${prefix}/${i}`);
      return t.data;
    });
    const acc = tensors['opt/acc']?.data;
    if (!(acc instanceof Float32Array) || acc.length !== 2) throw new Error('no opt/acc');
    return {
      ok: true,
      checkpoint: {
        loop: JSON.parse(metadata['loop'] ?? 'null', reviver) as LoopState,
        weights: list('w', counts.weights),
        bestWeights: counts.best > 0 ? list('best', counts.best) : null,
        adam: { m: list('opt/m', counts.moments), v: list('opt/v', counts.moments), accBeta1: acc[0]!, accBeta2: acc[1]!, iterations: counts.iterations },
      },
    };
  } catch (e) {
    return { ok: false, why: `unreadable checkpoint: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** Where {@link trainLoop} keeps its checkpoint. */
export interface CheckpointOptions {
  /** The checkpoint file (e.g. in the stage's scratch folder). */
  readonly path: string;
  /**
   * What must be the same to resume (backend, threads, versions: anything
   * that could change the arithmetic); a checkpoint with another is ignored.
   */
  readonly tag: string;
  /** Told when a checkpoint is resumed from or ignored. */
  readonly log?: (message: string) => void;
}


/**
 * The checkpoint of `o.checkpoint`, put into the model and the trainer, or
 * undefined (none, or one that does not fit: said through its `log`).
 */
export async function resume(o: TrainLoopOptions, trainer: Trainer): Promise<Checkpoint | undefined> {
  const c = o.checkpoint!;
  const r = await loadCheckpoint(c.path, c.tag);
  if (!r.ok) {
    if (r.why !== 'no checkpoint') c.log?.(`checkpoint ignored (${r.why}): training from the start`);
    return undefined;
  }
  const { weights, loop } = r.checkpoint;
  const sizes = o.model.weights.map((w) => w.shape.reduce((a: number, b) => a * (b ?? 1), 1));
  if (weights.length !== sizes.length || weights.some((w, i) => w.length !== sizes[i]) || !(loop.epoch >= 1 && loop.epoch <= o.epochs)) {
    c.log?.('checkpoint ignored (another model or epoch count): training from the start');
    return undefined;
  }
  writeWeights(o.tf, o.model, weights);
  trainer.setState(r.checkpoint.adam);
  c.log?.(`resuming after epoch ${loop.epoch}/${o.epochs} from the checkpoint`);
  return r.checkpoint;
}
