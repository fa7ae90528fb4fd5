/**
 * One model = one safetensors file (the `seg_model` / `cls_model` artifacts).
 *
 * ```
 * tensors:   "<layer>/<weight>"  float32, one per entry of model.weights
 *            (kernels, biases, batch-norm gammas/betas/moving statistics)
 * metadata:  format     "pipe-model/1"
 *            topology   TF.js layers topology JSON (model.toJSON)
 *            weights    JSON array of weight names in model.weights order
 *            facts      JSON object: training facts (normalisation, epochs, ...)
 * ```
 *
 * Weights are keyed by their original (unsuffixed) names, which the builders
 * make stable with explicit layer names, so a file loads into a model built in
 * any process. Loading is bit-exact: the float32 bytes are copied unchanged.
 */
import { readTensors, writeTensors } from '../../cache/tensors.js';
import type * as TfModule from '@tensorflow/tfjs';
import type { LayersModel, Tf } from './tf-types.js';

/** The `format` metadata value this module writes and accepts. */
export const MODEL_FORMAT = 'pipe-model/1';

/** JSON-compatible training facts stored beside the weights. */
export type ModelFacts = Record<string, unknown>;

/** Name-keyed float32 weights, as read from a model file. */
export type NamedWeights = Map<string, { shape: number[]; data: Float32Array }>;

/**
 * Writes `model` (topology + every weight, trainable or not) and `facts` to
 * one safetensors file at `path` (written atomically by cache/tensors).
 *
 * @throws Error when two weights share a name (a model built without the
 *   stable names of our builders may do that).
 */
export async function saveModel(path: string, model: LayersModel, facts: ModelFacts = {}): Promise<void> {
  const tensors: Record<string, { dtype: 'float32'; shape: number[]; data: Float32Array }> = {};
  const names: string[] = [];
  for (const w of model.weights) {
    const name = w.originalName;
    if (name in tensors) throw new Error(`model ${model.name}: duplicate weight name ${name}`);
    const value = w.read();
    tensors[name] = { dtype: 'float32', shape: [...value.shape], data: Float32Array.from(value.dataSync()) };
    names.push(name);
  }
  const topology = model.toJSON(null, false);
  await writeTensors(path, tensors, {
    format: MODEL_FORMAT,
    topology: JSON.stringify(topology),
    weights: JSON.stringify(names),
    facts: JSON.stringify(facts),
  });
}

/** Reads the weights and facts of a model file without building the model. */
export async function readModelFile(path: string): Promise<{ weights: NamedWeights; facts: ModelFacts; topology: unknown }> {
  const { tensors, metadata } = await readTensors(path);
  if (metadata.format !== MODEL_FORMAT) {
    throw new Error(`${path}: not a pipe model file (format ${JSON.stringify(metadata.format)}, expected ${MODEL_FORMAT})`);
  }
  const weights: NamedWeights = new Map();
  for (const [name, t] of Object.entries(tensors)) {
    if (!(t.data instanceof Float32Array)) throw new Error(`${path}: weight ${name} is ${t.dtype}, expected float32`);
    weights.set(name, { shape: [...t.shape], data: t.data });
  }
  return {
    weights,
    facts: JSON.parse(metadata.facts ?? '{}') as ModelFacts,
    topology: JSON.parse(metadata.topology ?? 'null') as unknown,
  };
}

/**
 * Rebuilds the model stored at `path` and sets its weights bit-exactly.
 * The model is uncompiled (train with a custom loop, or just predict).
 */
export async function loadModel(tf: Tf, path: string): Promise<{ model: LayersModel; facts: ModelFacts }> {
  const { weights, facts, topology } = await readModelFile(path);
  if (topology === null) throw new Error(`${path}: no topology in the model file`);
  const model = await tf.models.modelFromJSON({ modelTopology: topology as TfModule.io.ModelJSON['modelTopology'] });
  const missing = setWeightsByName(tf, model, weights, { requireAll: true });
  if (missing.length > 0) throw new Error(`${path}: missing weights ${missing.join(', ')}`);
  return { model, facts };
}

/**
 * Copies the named weights into `model` (matching `weight.originalName`).
 * Returns the names of model weights that had no match. With `requireAll`,
 * nothing is written unless every weight matches.
 *
 * @throws Error when a matching name has a different shape (the file is for
 *   another architecture), naming the weight and both shapes.
 */
export function setWeightsByName(
  tf: Tf,
  model: LayersModel,
  weights: NamedWeights,
  opts: { requireAll?: boolean } = {},
): string[] {
  const missing: string[] = [];
  const pairs: Array<[TfModule.LayerVariable, { shape: number[]; data: Float32Array }]> = [];
  for (const w of model.weights) {
    const src = weights.get(w.originalName);
    if (src === undefined) {
      missing.push(w.originalName);
      continue;
    }
    if (src.shape.join('x') !== w.shape.join('x')) {
      throw new Error(`weight ${w.originalName}: file has shape [${src.shape}], model has [${w.shape}]`);
    }
    pairs.push([w, src]);
  }
  if (opts.requireAll === true && missing.length > 0) return missing;
  for (const [w, src] of pairs) {
    const t = tf.tensor(src.data, src.shape, 'float32');
    w.write(t);
    t.dispose();
  }
  return missing;
}

/** Copies every weight (trainable and batch-norm statistics) out of the model, in model.weights order. */
export function readWeights(model: LayersModel): Float32Array[] {
  return model.weights.map((w) => Float32Array.from(w.read().dataSync()));
}

/** Writes `values` (from {@link readWeights} of the same architecture) into the model, bit-exactly. */
export function writeWeights(tf: Tf, model: LayersModel, values: readonly Float32Array[]): void {
  model.weights.forEach((w, i) => {
    const t = tf.tensor(values[i]!, w.shape as number[], 'float32');
    w.write(t);
    t.dispose();
  });
}
