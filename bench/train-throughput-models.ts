/**
 * The models and training step timed by bench/train-throughput and profiled by
 * bench/train-throughput-profile and -bound (mirrored in bench/torch_models.py), built
 * from the functions train-seg and train-cls call: `buildUnet` and
 * `buildClassifier`, `diceLoss` and `focalLoss` (with train-cls's default
 * gamma and alpha), and the train loop's `createTrainer` (its Adam and its
 * step). What is not timed: making the batch from uint8 images (the loop
 * does that before each step) and validation.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TfHandle } from '../stages/lib/backend.js';
import { buildClassifier } from '../stages/models/classifier.js';
import { diceLoss, focalLoss } from '../stages/models/losses.js';
import { createTrainer, type LossFn } from '../stages/models/train-loop.js';
import { buildUnet } from '../stages/models/unet.js';
import { TRAIN_CLS_DEFAULTS } from '../stages/train-cls.js';
import { TRAIN_SEG_DEFAULTS } from '../stages/train-seg.js';

/** One model shape to time. */
export type Config =
  | { name: string; kind: 'unet'; h: number; w: number; base: number; depth: number; batch: number }
  | { name: string; kind: 'classifier'; size: number; widths: number[]; blocks: number; batch: number };

/** The reference U-Net, the default pipeline's U-Net and classifier (64x64 crops), and the classifier at the reference 128x128. */
export const CONFIGS: Config[] = [
  { name: 'unet-reference', kind: 'unet', h: 64, w: 80, base: 16, depth: 4, batch: 8 },
  { name: 'unet-default', kind: 'unet', h: 64, w: 80, base: 8, depth: 4, batch: 8 },
  { name: 'classifier-default', kind: 'classifier', size: 64, widths: [8, 16, 32], blocks: 1, batch: 32 },
  { name: 'classifier-128', kind: 'classifier', size: 128, widths: [8, 16, 32], blocks: 1, batch: 32 },
];

/** A built model with fixed random data: `train` runs one step, `infer` one forward pass. */
export interface Step {
  train(): void;
  infer(): void;
  dispose(): void;
}

/** Options of {@link makeStep}. */
export interface StepOptions {
  /** Time `tf.train.adam` instead of the train loop's fused Adam (for comparison). */
  readonly stockAdam?: boolean;
}

/**
 * Builds the model of `c` (seed 1) as the train stage does, on fixed random
 * data, and its step functions; every call is tidy and syncs.
 */
export function makeStep(tf: TfHandle['tf'], c: Config, opts: StepOptions = {}): Step {
  const model = c.kind === 'unet'
    ? buildUnet(tf, { inputShape: [c.h, c.w, 1], baseFilters: c.base, depth: c.depth, seed: 1, outputPrior: TRAIN_SEG_DEFAULTS.output_prior })
    : buildClassifier(tf, { inputShape: [c.size, c.size, 1], widths: c.widths, blocks: c.blocks, seed: 1 });
  const shape: [number, number, number, number] = c.kind === 'unet' ? [c.batch, c.h, c.w, 1] : [c.batch, c.size, c.size, 1];
  const x = tf.randomUniform(shape, 0, 1, 'float32', 1);
  const y = tf.tidy(() => tf.randomUniform(c.kind === 'unet' ? shape : [c.batch, 1], 0, 1, 'float32', 2).round());
  const { gamma, alpha } = TRAIN_CLS_DEFAULTS;
  const loss: LossFn = c.kind === 'unet' ? (t, p) => diceLoss(tf, t, p) : (t, p) => focalLoss(tf, t, p, { gamma, alpha });
  // Adam at 1e-3 like the PyTorch twin (the rate does not change the work).
  const trainer = createTrainer(tf, model, loss, 1e-3, { stockAdam: opts.stockAdam === true });
  return {
    train: () => { trainer.step(x, y); },
    infer: () => tf.tidy(() => { (model.apply(x, { training: false }) as typeof x).dataSync(); }),
    dispose: () => {
      trainer.dispose();
      model.dispose();
      tf.dispose([x, y]);
    },
  };
}

type Tf = TfHandle['tf'];
type KernelFunc = NonNullable<ReturnType<Tf['getKernel']>>['kernelFunc'];

/**
 * Runs `f` once with the wasm kernels named in `names` (all of the backend's
 * when undefined) replaced by `wrap(name, stock)`, then registers the stock
 * kernels again, whatever `f` does: how the profiling benches time kernels.
 */
export function withWrappedKernels(tf: Tf, names: readonly string[] | undefined, wrap: (name: string, stock: KernelFunc) => KernelFunc, f: () => void): void {
  const configs = names === undefined
    ? tf.getKernelsForBackend('wasm')
    : names.map((n) => tf.getKernel(n, 'wasm')).filter((k) => k !== undefined);
  for (const k of configs) {
    tf.unregisterKernel(k.kernelName, 'wasm');
    tf.registerKernel({ ...k, kernelFunc: wrap(k.kernelName, k.kernelFunc) });
  }
  try {
    f();
  } finally {
    for (const k of configs) {
      tf.unregisterKernel(k.kernelName, 'wasm');
      tf.registerKernel(k);
    }
  }
}

/**
 * Runs one of bench/'s PyTorch scripts (`script`: its file name) with `spec`
 * as its JSON argument (its `threads` also bounds OpenMP and OpenBLAS) and
 * returns the JSON of its last output line.
 */
export function runTorchScript<T>(script: string, spec: { readonly threads: number; readonly [k: string]: unknown }): T {
  const path = fileURLToPath(new URL(`../../bench/${script}`, import.meta.url));
  // torch.set_num_threads bounds ATen's OpenMP pool but not OpenBLAS's, which
  // Debian's torch calls for some convolutions: with its default of one
  // thread per core, the second one spins while waiting, doubling PyTorch's
  // CPU time at no gain in wall time. Pin both to the requested count.
  const threads = String(spec.threads);
  const env = { ...process.env, OPENBLAS_NUM_THREADS: threads, OMP_NUM_THREADS: threads };
  const r = spawnSync('/usr/bin/python3', ['-W', 'ignore', path, JSON.stringify(spec)], { encoding: 'utf8', maxBuffer: 1 << 20, env });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as T;
}
