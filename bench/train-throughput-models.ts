/**
 * The models and training step timed by bench/train-throughput and profiled by
 * bench/train-throughput-profile (mirrored in bench/torch_models.py): pipe's
 * U-Net with a dice loss and its classifier with a focal loss, Adam 1e-3.
 */
import type { TfHandle } from '../stages/lib/backend.js';
import { createAdam } from '../stages/kernels/adam.js';
import { buildClassifier } from '../stages/models/classifier.js';
import { buildUnet } from '../stages/models/unet.js';

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

/** Builds the model of `c` (seed 1) and its step functions; every call is tidy and syncs. */
export function makeStep(tf: TfHandle['tf'], c: Config): Step {
  const model = c.kind === 'unet'
    ? buildUnet(tf, { inputShape: [c.h, c.w, 1], baseFilters: c.base, depth: c.depth, seed: 1 })
    : buildClassifier(tf, { inputShape: [c.size, c.size, 1], widths: c.widths, blocks: c.blocks, seed: 1 });
  const shape: [number, number, number, number] = c.kind === 'unet' ? [c.batch, c.h, c.w, 1] : [c.batch, c.size, c.size, 1];
  const x = tf.randomUniform(shape, 0, 1, 'float32', 1);
  const y = tf.tidy(() => tf.randomUniform(c.kind === 'unet' ? shape : [c.batch, 1], 0, 1, 'float32', 2).round());
  const opt = createAdam(tf, 1e-3);
  const loss = (p: typeof x): typeof x => {
    if (c.kind === 'unet') {
      const inter = tf.sum(tf.mul(p, y));
      return tf.neg(tf.div(tf.add(tf.mul(2, inter), 1), tf.add(tf.add(tf.sum(p), tf.sum(y)), 1)));
    }
    const q = tf.clipByValue(p, 1e-7, 1 - 1e-7);
    const pt = tf.where(tf.greater(y, 0.5), q, tf.sub(1, q));
    const a = tf.where(tf.greater(y, 0.5), tf.fill(q.shape, 0.9), tf.fill(q.shape, 0.1));
    return tf.mean(tf.mul(tf.neg(a), tf.mul(tf.pow(tf.sub(1, pt), 7), tf.log(pt))));
  };
  return {
    train: () => tf.tidy(() => {
      opt.minimize(() => loss(model.apply(x, { training: true }) as typeof x) as never, true)?.dataSync();
    }),
    infer: () => tf.tidy(() => { (model.predict(x) as typeof x).dataSync(); }),
    dispose: () => {
      opt.dispose();
      model.dispose();
      tf.dispose([x, y]);
    },
  };
}
