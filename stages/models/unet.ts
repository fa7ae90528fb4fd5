/**
 * U-Net whose convolution blocks are inception blocks (issue 3), after the
 * reference Keras solution of the Kaggle ultrasound nerve segmentation.
 *
 * ```
 * input [h,w,1]
 *  └ level 0: block(f)  block(f)  ──────────────────────────── skip0 ─┐
 *     └ maxpool 2x2                                                     │
 *       level 1: block(2f) block(2f) ─────────────── skip1 ─┐          │
 *        └ ...                                              │          │
 *          bottleneck: block(f·2^depth) x2                  │          │
 *          └ convT 2x2/2 ─ concat(skip1) ─ block(2f) x2 ────┘          │
 *             └ convT 2x2/2 ─ concat(skip0) ─ block(f) x2 ─────────────┘
 *                └ conv 1x1 + sigmoid -> [h,w,1]
 * ```
 *
 * With `presenceHead`, the bottleneck also feeds global average pooling and a
 * dense sigmoid unit `presence` [1]; the output is `mask · presence`.
 *
 * Inception block with `f` filters: four towers of `f/4` filters each,
 * concatenated, so the block outputs exactly `f` channels:
 *
 * ```
 *        ┌ maxpool 3x3/1 same ─ conv 1x1 ──────────────────── BN ┐
 *  x ────┼ conv 1x1 ─ conv 1x3 ─ conv 3x1 ──────────────────── BN ┼─ concat
 *        ├ conv 1x1 ─ conv 1x5 ─ conv 5x1 ──────────────────── BN ┤
 *        └ conv 1x1 ─ conv 1x10 ─ conv 10x1 ────────────────── BN ┘
 * ```
 *
 * Every conv has a ReLU; each tower ends in batch norm. Every layer has an
 * explicit, stable name, so weight names are the same on every build (the
 * model-io format keys weights by name).
 */
import type { LayersModel, SymbolicTensor, Tf } from './tf-types.js';
import { seedStream } from './tf-types.js';

/** Options of {@link buildUnet}. */
export interface UnetOptions {
  /** Input shape `[height, width, 1]`; height and width divisible by `2^depth`. */
  readonly inputShape: readonly [number, number, number];
  /** Filters of the first level (reference 32); a multiple of 4. Doubles per level. */
  readonly baseFilters: number;
  /** Number of 2x2 poolings (reference 4: 32/64/128/256, bottleneck 512). */
  readonly depth: number;
  /** Seed of every kernel initializer (default 1). */
  readonly seed?: number;
  /**
   * Initial mean output probability, set through the output bias
   * `log(p / (1 - p))` (default 0.5, bias 0 as in the reference). A small
   * prior such as 0.02 (nerve pixels are rare) starts the net from an almost
   * empty mask, which makes the dice loss learn much faster in short runs.
   */
  readonly outputPrior?: number;
  /** Batch-norm momentum of the moving statistics (default 0.9; Keras uses 0.99, slow for short runs). */
  readonly bnMomentum?: number;
  /**
   * Adds a presence head (default false): the bottleneck's channels averaged
   * over the image, a dense sigmoid unit, multiplied into every pixel of the
   * mask. An image the head calls empty gets an all-low mask, so the U-Net
   * alone can say "no nerve" from the whole image's evidence.
   */
  readonly presenceHead?: boolean;
}

/**
 * Builds the inception U-Net, uncompiled, with deterministic initial weights
 * for a given seed. Output: `[batch, h, w, 1]` sigmoid probabilities.
 *
 * @throws Error when `baseFilters` is not a positive multiple of 4, `depth` is
 *   not a non-negative integer, or the input size is not divisible by 2^depth.
 */
export function buildUnet(tf: Tf, opts: UnetOptions): LayersModel {
  const [h, w, c] = opts.inputShape;
  const { baseFilters: f0, depth } = opts;
  if (!Number.isInteger(f0) || f0 < 4 || f0 % 4 !== 0) {
    throw new Error(`base_filters must be a positive multiple of 4, got ${f0}`);
  }
  if (!Number.isInteger(depth) || depth < 0 || depth > 8) {
    throw new Error(`depth must be an integer from 0 to 8, got ${depth}`);
  }
  const k = 2 ** depth;
  if (h % k !== 0 || w % k !== 0) {
    throw new Error(`image size ${h}x${w} must be divisible by 2^depth = ${k}`);
  }
  const prior = opts.outputPrior ?? 0.5;
  if (!(prior > 0 && prior < 1)) throw new Error(`output prior must be in (0, 1), got ${prior}`);
  const seeds = seedStream(opts.seed ?? 1);
  const heNormal = () => tf.initializers.heNormal({ seed: seeds.next() });

  const conv = (x: SymbolicTensor, name: string, filters: number, kh: number, kw: number) =>
    tf.layers
      .conv2d({
        name, filters, kernelSize: [kh, kw], padding: 'same', activation: 'relu',
        kernelInitializer: heNormal(),
      })
      .apply(x) as SymbolicTensor;
  const bn = (x: SymbolicTensor, name: string) =>
    tf.layers.batchNormalization({ name, momentum: opts.bnMomentum ?? 0.9 }).apply(x) as SymbolicTensor;

  const inception = (x: SymbolicTensor, name: string, filters: number): SymbolicTensor => {
    const t = filters / 4;
    const pool = tf.layers
      .maxPooling2d({ name: `${name}_pool`, poolSize: 3, strides: 1, padding: 'same' })
      .apply(x) as SymbolicTensor;
    const towers = [bn(conv(pool, `${name}_p_1x1`, t, 1, 1), `${name}_p_bn`)];
    for (const n of [3, 5, 10]) {
      let y = conv(x, `${name}_${n}_1x1`, t, 1, 1);
      y = conv(y, `${name}_${n}_1x${n}`, t, 1, n);
      y = conv(y, `${name}_${n}_${n}x1`, t, n, 1);
      towers.push(bn(y, `${name}_${n}_bn`));
    }
    return tf.layers.concatenate({ name: `${name}_cat`, axis: -1 }).apply(towers) as SymbolicTensor;
  };
  const level = (x: SymbolicTensor, name: string, filters: number) =>
    inception(inception(x, `${name}_a`, filters), `${name}_b`, filters);

  const input = tf.input({ shape: [h, w, c], name: 'image' });
  let x: SymbolicTensor = input;
  const skips: SymbolicTensor[] = [];
  for (let l = 0; l < depth; l++) {
    x = level(x, `down${l}`, f0 * 2 ** l);
    skips.push(x);
    x = tf.layers.maxPooling2d({ name: `down${l}_pool`, poolSize: 2, strides: 2 }).apply(x) as SymbolicTensor;
  }
  x = level(x, 'bottom', f0 * 2 ** depth);
  const presence = opts.presenceHead === true ? presenceOf(tf, x, seeds.next()) : undefined;
  for (let l = depth - 1; l >= 0; l--) {
    const filters = f0 * 2 ** l;
    x = tf.layers
      .conv2dTranspose({
        name: `up${l}_convt`, filters, kernelSize: 2, strides: 2, padding: 'same',
        activation: 'relu', kernelInitializer: heNormal(),
      })
      .apply(x) as SymbolicTensor;
    const skip = skips[l];
    if (skip === undefined) throw new Error(`unet: missing skip ${l}`);
    x = tf.layers.concatenate({ name: `up${l}_cat`, axis: -1 }).apply([x, skip]) as SymbolicTensor;
    x = level(x, `up${l}`, filters);
  }
  const out = tf.layers
    .conv2d({
      name: 'mask', filters: 1, kernelSize: 1, activation: 'sigmoid',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seeds.next() }),
      biasInitializer: tf.initializers.constant({ value: Math.log(prior / (1 - prior)) }),
    })
    .apply(x) as SymbolicTensor;
  const gated = presence === undefined
    ? out
    : tf.layers.multiply({ name: 'mask_presence' }).apply([out, presence]) as SymbolicTensor;
  return tf.model({ name: 'inception_unet', inputs: input, outputs: gated });
}

/** The presence head: `[b,1,1,1]` sigmoid from the bottleneck features. */
function presenceOf(tf: Tf, bottom: SymbolicTensor, seed: number): SymbolicTensor {
  const pooled = tf.layers.globalAveragePooling2d({ name: 'presence_pool' }).apply(bottom) as SymbolicTensor;
  const p = tf.layers
    .dense({
      name: 'presence', units: 1, activation: 'sigmoid',
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
    })
    .apply(pooled) as SymbolicTensor;
  return tf.layers.reshape({ name: 'presence_map', targetShape: [1, 1, 1] }).apply(p) as SymbolicTensor;
}
