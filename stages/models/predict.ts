/**
 * Batched inference of either model over uint8 images, in inference mode
 * (batch norm uses its moving statistics), each batch inside `tf.tidy`.
 */
import { IDENTITY_NORM, makeBatch } from './batches.js';
import type { Normalisation } from './batches.js';
import type { ModelFacts } from './model-io.js';
import type { LayersModel, Tf } from './tf-types.js';
import type * as TfModule from '@tensorflow/tfjs';

/** Options of the predict functions. */
export interface PredictOptions {
  readonly batchSize: number;
  /** Checked between batches; aborting throws its reason. */
  readonly signal?: AbortSignal;
  /** Called after each batch with the number of images it held. */
  readonly onBatch?: (n: number) => void;
}

/**
 * The normalisation stored in a model's facts (`norm: {mean, std}`), or none
 * when the model was trained without it.
 *
 * @throws Error when `norm` is present but malformed.
 */
export function factsNorm(facts: ModelFacts): Normalisation {
  const n = facts.norm as { mean?: unknown; std?: unknown } | undefined;
  if (n === undefined || n === null) return IDENTITY_NORM;
  if (typeof n.mean !== 'number' || typeof n.std !== 'number' || !(n.std > 0)) {
    throw new Error(`model facts: norm must be {mean, std > 0}, got ${JSON.stringify(n)}`);
  }
  return { mean: n.mean, std: n.std };
}

async function predictBatches(
  tf: Tf,
  model: LayersModel,
  images: Uint8Array,
  h: number,
  w: number,
  outPerSample: number,
  norm: Normalisation,
  o: PredictOptions,
): Promise<Float32Array> {
  const px = h * w;
  const n = images.length / px;
  if (!Number.isInteger(n)) throw new Error(`predict: ${images.length} bytes is not a whole number of ${h}x${w} images`);
  const out = new Float32Array(n * outPerSample);
  const set = { x: images, y: new Uint8Array(0), h, w, yPerSample: 0, index: [] };
  for (let b = 0; b < n; b += o.batchSize) {
    if (o.signal?.aborted === true) throw o.signal.reason instanceof Error ? o.signal.reason : new Error('aborted');
    const picks = Array.from({ length: Math.min(o.batchSize, n - b) }, (_, k) => b + k);
    const { xs } = makeBatch(set, picks, norm);
    const probs = tf.tidy(() => {
      const x = tf.tensor4d(xs, [picks.length, h, w, 1]);
      return (model.apply(x, { training: false }) as TfModule.Tensor).dataSync();
    });
    out.set(probs, b * outPerSample);
    o.onBatch?.(picks.length);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return out;
}

/** Mask probabilities `[n*h*w]` of the U-Net for `n` uint8 images of `h x w`. */
export function predictMasks(
  tf: Tf, model: LayersModel, images: Uint8Array, h: number, w: number, norm: Normalisation, o: PredictOptions,
): Promise<Float32Array> {
  return predictBatches(tf, model, images, h, w, h * w, norm, o);
}

/** Classifier probabilities `[n]` for `n` uint8 crops of `size x size`. */
export function predictCrops(
  tf: Tf, model: LayersModel, crops: Uint8Array, size: number, norm: Normalisation, o: PredictOptions,
): Promise<Float32Array> {
  return predictBatches(tf, model, crops, size, size, 1, norm, o);
}
