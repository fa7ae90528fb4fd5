/**
 * ResNet-style crop classifier (issue 3: the reference used ImageNet
 * ResNet50; here a small ResNet trained from scratch by default).
 *
 * ```
 * input [s,s,1]
 *  └ stem: conv 3x3/2 (widths[0]) ─ BN ─ ReLU ─ maxpool 2x2
 *     └ stage 0: blocks[0] x basic block (widths[0], stride 1)
 *        └ stage i: blocks[i] x basic block (widths[i], first one stride 2)
 *           └ global average pooling ─ dense 1 + sigmoid -> [1]
 *
 * basic block:  x ─ conv 3x3/s ─ BN ─ ReLU ─ conv 3x3 ─ BN ─ add ─ ReLU
 *               └──── identity, or conv 1x1/s ─ BN (projection) ┘
 * ```
 *
 * A projection shortcut is used whenever the block changes the stride or the
 * channel count; otherwise the shortcut is the identity. Layer names are
 * explicit and stable (the model-io format keys weights by name).
 */
import type { LayersModel, SymbolicTensor, Tf } from './tf-types.js';
import { seedStream } from './tf-types.js';

/** Options of {@link buildClassifier}. */
export interface ClassifierOptions {
  /** Input shape `[size, size, 1]`. */
  readonly inputShape: readonly [number, number, number];
  /** Channels of each stage (default [16, 32, 64]); one stage per entry. */
  readonly widths?: readonly number[];
  /** Residual blocks per stage: one number for all stages or one per stage (default 1). */
  readonly blocks?: number | readonly number[];
  /** Seed of every kernel initializer (default 1). */
  readonly seed?: number;
  /** Batch-norm momentum of the moving statistics (default 0.9; Keras uses 0.99, slow for short runs). */
  readonly bnMomentum?: number;
}

/**
 * Builds the classifier, uncompiled. Output: `[batch, 1]` probability that
 * the crop holds a nerve.
 *
 * @throws Error when widths/blocks are empty, not positive integers or of
 *   different lengths, or the input is smaller than the total downsampling.
 */
export function buildClassifier(tf: Tf, opts: ClassifierOptions): LayersModel {
  const widths = opts.widths ?? [16, 32, 64];
  if (widths.length === 0 || widths.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new Error(`widths must be a non-empty list of positive integers, got ${JSON.stringify(widths)}`);
  }
  const blocksOpt = opts.blocks ?? 1;
  const blocks = typeof blocksOpt === 'number' ? widths.map(() => blocksOpt) : [...blocksOpt];
  if (blocks.length !== widths.length || blocks.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new Error(`blocks must be a positive integer or one per width, got ${JSON.stringify(blocksOpt)}`);
  }
  const [h, w, c] = opts.inputShape;
  const down = 4 * 2 ** (widths.length - 1);
  if (h < down || w < down) throw new Error(`crop size ${h}x${w} is smaller than the downsampling ${down}`);

  const seeds = seedStream(opts.seed ?? 1);
  const conv = (x: SymbolicTensor, name: string, filters: number, k: number, strides: number) =>
    tf.layers
      .conv2d({
        name, filters, kernelSize: k, strides, padding: 'same', useBias: false,
        kernelInitializer: tf.initializers.heNormal({ seed: seeds.next() }),
      })
      .apply(x) as SymbolicTensor;
  const bn = (x: SymbolicTensor, name: string) =>
    tf.layers.batchNormalization({ name, momentum: opts.bnMomentum ?? 0.9 }).apply(x) as SymbolicTensor;
  const relu = (x: SymbolicTensor, name: string) =>
    tf.layers.activation({ name, activation: 'relu' }).apply(x) as SymbolicTensor;

  const first = widths[0] as number;
  const input = tf.input({ shape: [h, w, c], name: 'crop' });
  let x = relu(bn(conv(input, 'stem_conv', first, 3, 2), 'stem_bn'), 'stem_relu');
  x = tf.layers.maxPooling2d({ name: 'stem_pool', poolSize: 2, strides: 2 }).apply(x) as SymbolicTensor;
  let channels = first;
  widths.forEach((width, s) => {
    for (let b = 0; b < (blocks[s] as number); b++) {
      const name = `s${s}b${b}`;
      const stride = s > 0 && b === 0 ? 2 : 1;
      let y = relu(bn(conv(x, `${name}_conv1`, width, 3, stride), `${name}_bn1`), `${name}_relu1`);
      y = bn(conv(y, `${name}_conv2`, width, 3, 1), `${name}_bn2`);
      const shortcut =
        stride !== 1 || channels !== width ? bn(conv(x, `${name}_proj`, width, 1, stride), `${name}_proj_bn`) : x;
      x = relu(tf.layers.add({ name: `${name}_add` }).apply([y, shortcut]) as SymbolicTensor, `${name}_out`);
      channels = width;
    }
  });
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as SymbolicTensor;
  const out = tf.layers
    .dense({
      name: 'prob', units: 1, activation: 'sigmoid',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seeds.next() }),
    })
    .apply(x) as SymbolicTensor;
  return tf.model({ name: 'resnet_classifier', inputs: input, outputs: out });
}
