/**
 * Stage kind `gate`: turns probabilities into final masks at the original
 * size and scores them on the validation images.
 *
 * For each image: the mask is kept only if the classifier probability is
 * >= `cls_threshold` (0.5; skipped when `use_classifier` is false) and more
 * than `min_pixels` (100, at model size) pixels have probability >=
 * `count_threshold` (0.1). A kept mask is the probability map upsampled
 * bilinearly to the original size, then thresholded at `threshold` (0.3);
 * a dropped one is empty.
 *
 * Metrics (validation, Kaggle metric against the true masks at the original
 * size, from ingest's `train_rle`; without it, against the model-size masks
 * upsampled by nearest neighbour): `val_dice` (gated), `val_dice_unet` (the
 * U-Net alone: threshold only, no classifier, no min_pixels),
 * `presence_precision`, `presence_recall` (of the gated masks).
 * Inputs `predictions`, `dataset`, `split`. Artifacts:
 * - `masks`: {"height": H, "width": W, "gate": {"threshold": .., "cls_threshold": ..,
 *   "count_threshold": .., "min_pixels": .., "use_classifier": ..}, "val": {"<id>": "<rle>"},
 *   "test": {"<id>": "<rle>"}} (RLE at the original size H x W; `gate`: the params these masks
 *   were made with, which score and report read instead of copies of their own);
 * - `val_pred.csv`: the gated validation masks as a Kaggle CSV (`img,pixels`,
 *   img `<subject>_<n>`, original size), and `val_truth.csv` the true masks in
 *   the same form, so `pipe score val_pred.csv val_truth.csv` (paths from
 *   `pipe export`, or PIPE_INPUT_GATE_* in a command stage) recomputes `val_dice`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStage, type Params, type StageContext } from '../engine/stage-api.js';
import { readDataset, type Dataset } from './lib/dataset.js';
import { diceRuns, mean, presence } from './lib/metric.js';
import { bool, declareParams, int, num, readParams } from './lib/params.js';
import { maskRuns, formatRuns, parseRle, type Run } from './lib/rle.js';
import { upsampleThresholdRuns } from './lib/upsample-runs.js';

/** The resolved params of gate. */
export interface GateParams {
  readonly threshold: number;
  readonly clsThreshold: number;
  readonly countThreshold: number;
  readonly minPixels: number;
  readonly useClassifier: boolean;
}

/** The params of gate: its contract with pipeline.yaml. */
export const GATE_PARAMS = declareParams({
  threshold: num('a kept mask is the probability map upsampled to the original size and thresholded at this', 0.3, { minimum: 0, maximum: 1 }),
  cls_threshold: num('a mask is kept only if the classifier probability is at least this', 0.5, { minimum: 0, maximum: 1 }),
  count_threshold: num('probability at which a model-size pixel counts towards min_pixels', 0.1, { minimum: 0, maximum: 1 }),
  min_pixels: int('a mask is kept only if more than this many model-size pixels reach count_threshold', 100, { minimum: 0 }),
  use_classifier: bool('gate masks with the classifier (false: min_pixels only)', true),
});

/** The params a `masks` artifact was made with (its `gate` field), as pipeline.yaml names them. */
export interface GateApplied {
  readonly threshold: number;
  readonly cls_threshold: number;
  readonly count_threshold: number;
  readonly min_pixels: number;
  readonly use_classifier: boolean;
}

/**
 * The params recorded in gate's `masks` JSON (parsed), or a message saying what
 * is missing: what score and report apply to score the U-Net alone as the gate did.
 */
export function gateApplied(masks: unknown, path: string): GateApplied {
  const g = (masks as { gate?: unknown } | null)?.gate as Record<string, unknown> | undefined;
  const nums = ['threshold', 'cls_threshold', 'count_threshold', 'min_pixels'] as const;
  if (g === null || typeof g !== 'object' || nums.some((k) => typeof g[k] !== 'number') || typeof g['use_classifier'] !== 'boolean') {
    throw new Error(`${path}: no "gate" params in the masks (made by an older version of gate)`);
  }
  return g as unknown as GateApplied;
}

/** Validates gate params (throws naming the param). */
export function gateParams(params: Params): GateParams {
  const p = readParams(GATE_PARAMS, params);
  return {
    threshold: p.threshold,
    clsThreshold: p.cls_threshold,
    countThreshold: p.count_threshold,
    minPixels: p.min_pixels,
    useClassifier: p.use_classifier,
  };
}

/** Pixels of a probability map at or above `count_threshold`. */
export function confidentPixels(prob: Float32Array, p: Pick<GateParams, 'countThreshold'>): number {
  let count = 0;
  for (let i = 0; i < prob.length; i++) if (prob[i]! >= p.countThreshold) count++;
  return count;
}

/** Whether the gate keeps a mask of `count` confident pixels: classifier agrees and enough of them. */
function keeps(count: number, cls: number, p: GateParams): boolean {
  if (p.useClassifier && !(cls >= p.clsThreshold)) return false;
  return count > p.minPixels;
}

/** Whether the gate keeps a mask: classifier agrees and enough confident pixels. */
export function keepMask(prob: Float32Array, cls: number, p: GateParams): boolean {
  return keeps(confidentPixels(prob, p), cls, p);
}

/**
 * Runs of the probability map upsampled (bilinear) to oh x ow and thresholded:
 * exactly those of `resizeBilinear` (crops.ts) then `>= threshold`, computed
 * only at the mask's edges (lib/upsample-runs.ts).
 */
export function upsampleRuns(prob: Float32Array, h: number, w: number, oh: number, ow: number, threshold: number): Run[] {
  return upsampleThresholdRuns(prob, h, w, oh, ow, threshold);
}

/** The true mask of training image `index` at the original size (its RLE, else the model-size mask upsampled). */
export function truthRuns(ds: Dataset, index: number): Run[] {
  const rle = ds.trainRle[index];
  if (rle !== undefined) return parseRle(rle, ds.origH, ds.origW);
  // No original RLE: the model-size mask, upsampled by nearest neighbour.
  const small = ds.trainMasks.subarray(index * ds.h * ds.w, (index + 1) * ds.h * ds.w);
  const big = new Uint8Array(ds.origH * ds.origW);
  for (let y = 0; y < ds.origH; y++) {
    const sy = Math.min(ds.h - 1, Math.floor(((y + 0.5) * ds.h) / ds.origH));
    for (let x = 0; x < ds.origW; x++) big[y * ds.origW + x] = small[sy * ds.w + Math.min(ds.w - 1, Math.floor(((x + 0.5) * ds.w) / ds.origW))]!;
  }
  return maskRuns(big, ds.origH, ds.origW);
}

/** A Kaggle CSV (`img,pixels`) of RLE masks by `<subject>_<n>` id, ids in numeric order. */
export function validationCsv(masks: Readonly<Record<string, string>>): string {
  const num = (id: string): number[] => id.split('_').map(Number);
  const ids = Object.keys(masks).sort((a, b) => {
    const [x, y] = [num(a), num(b)];
    return (x[0]! - y[0]!) || ((x[1] ?? 0) - (y[1] ?? 0)) || (a < b ? -1 : a > b ? 1 : 0);
  });
  return ['img,pixels', ...ids.map((id) => `${id},${masks[id]!}`)].join('\n') + '\n';
}

function stringList(meta: Record<string, string>, key: string, n: number): string[] {
  const v: unknown = JSON.parse(meta[key] ?? 'null');
  if (!Array.isArray(v) || v.length !== n || v.some((e) => typeof e !== 'string')) throw new Error(`predictions: metadata ${key} is not a list of ${n} ids`);
  return v as string[];
}

/**
 * What gate derives from its inputs, kept between runs in one process (a warm
 * `pipe sweep` worker runs gate once per param point): input paths are cache
 * objects named by their digest, so what was derived from a path never goes
 * stale. Only the latest pair of inputs is kept, with at most MAX_UPSAMPLED
 * upsampled masks (runs and their RLE string, not pixels: small).
 */
interface Derived {
  readonly key: string;
  readonly ds: Dataset;
  readonly pred: Awaited<ReturnType<typeof import('../cache/tensors.js').readTensors>>;
  readonly truth: Map<number, Mask>;
  /** `val|test:<image>@<threshold>` -> the upsampled, thresholded probability map. */
  readonly upsampled: Map<string, Mask>;
  /** `val|test:<image>@<count_threshold>` -> its model-size pixels at or above count_threshold. */
  readonly counts: Map<string, number>;
}

/** A mask as runs and as its Kaggle RLE string (formatted once). */
interface Mask {
  readonly runs: Run[];
  readonly rle: string;
}
const EMPTY: Mask = { runs: [], rle: '' };
const mask = (runs: Run[]): Mask => ({ runs, rle: formatRuns(runs) });
let derived: Derived | undefined;
const MAX_UPSAMPLED = 20_000;

async function derive(predictions: string, dataset: string): Promise<Derived> {
  const key = `${predictions}\n${dataset}`;
  if (derived?.key === key) return derived;
  const { readTensors } = await import('../cache/tensors.js');
  derived = { key, ds: await readDataset(dataset), pred: await readTensors(predictions), truth: new Map(), upsampled: new Map(), counts: new Map() };
  return derived;
}

function memo<K, V>(map: Map<K, V>, k: K, make: () => V): V {
  let v = map.get(k);
  if (v === undefined) {
    if (map.size >= MAX_UPSAMPLED) map.clear();
    v = make();
    map.set(k, v);
  }
  return v;
}

/** The float32 tensor `name` of the predictions (throws when it is missing or not float32). */
function tensor(pred: Derived['pred'], name: string): Float32Array {
  const t = pred.tensors[name];
  if (t === undefined || !(t.data instanceof Float32Array)) throw new Error(`predictions: no float32 tensor ${name}`);
  return t.data;
}

/**
 * Image `i`'s probability map of `probs` (the `set`'s) upsampled to the
 * original size and thresholded at `threshold`, through the memo (the one
 * place its key is made).
 */
function upsampled(d: Derived, set: 'val' | 'test', probs: Float32Array, i: number, threshold: number): Mask {
  const { h, w, origH, origW } = d.ds;
  return memo(d.upsampled, `${set}:${i}@${threshold}`, () => mask(upsampleRuns(probs.subarray(i * h * w, (i + 1) * h * w), h, w, origH, origW, threshold)));
}

/**
 * The U-Net's test masks alone (upsampled, thresholded at `threshold`, no
 * gating) by test id, as gate computes them and through its memo: in a warm
 * worker where gate just ran on the same inputs (score, after gate and submit),
 * nothing is read or upsampled again.
 */
export async function unetTestRuns(predictions: string, dataset: string, threshold: number): Promise<{ readonly ids: readonly string[]; readonly runs: readonly Run[][] }> {
  const d = await derive(predictions, dataset);
  const { h, w } = d.ds;
  const probs = tensor(d.pred, 'test_prob');
  if (probs.length % (h * w) !== 0) throw new Error(`predictions: probability maps are not ${h}x${w} (the dataset's model size)`);
  const ids = stringList(d.pred.metadata, 'test_ids', probs.length / (h * w));
  return { ids, runs: ids.map((_, i) => upsampled(d, 'test', probs, i, threshold).runs) };
}

/** What gate computes from its inputs: the masks artifact and the validation scores' parts. */
interface Gated {
  readonly out: { height: number; width: number; gate: GateApplied; val: Record<string, string>; test: Record<string, string> };
  readonly truthRle: Record<string, string>;
  readonly dice: number[];
  readonly diceUnet: number[];
  readonly predicted: boolean[];
  readonly actual: boolean[];
}

/** Gate's work on `inputs` with `params`, through the memo of what it derived (a second call with the same ones is cheap). */
async function gateMasks(params: Params, inputs: Readonly<Record<string, string>>, progress: StageContext['progress'], signal?: AbortSignal): Promise<Gated> {
  const p = gateParams(params);
  const { predictions, dataset } = inputs;
  if (predictions === undefined || dataset === undefined) throw new Error('gate needs the input artifacts "predictions" and "dataset"');
  const d = await derive(predictions, dataset);
  const { ds, pred } = d;
  const { h, w, origH, origW } = ds;
  const plane = h * w;
  const valProb = tensor(pred, 'val_prob');
  const testProb = tensor(pred, 'test_prob');
  const valCls = tensor(pred, 'val_cls');
  const testCls = tensor(pred, 'test_cls');
  if (valProb.length !== valCls.length * plane || testProb.length !== testCls.length * plane) {
    throw new Error(`predictions: probability maps are not ${h}x${w} (the dataset's model size)`);
  }
  const valIds = stringList(pred.metadata, 'val_ids', valCls.length);
  const testIds = stringList(pred.metadata, 'test_ids', testCls.length);
  const indexOf = new Map(ds.trainIds.map((id, i) => [id, i]));
  const total = valIds.length + testIds.length;
  const map = (probs: Float32Array, i: number): Float32Array => probs.subarray(i * plane, (i + 1) * plane);
  const gated = (set: 'val' | 'test', probs: Float32Array, cls: Float32Array, i: number): Mask => {
    const count = memo(d.counts, `${set}:${i}@${p.countThreshold}`, () => confidentPixels(map(probs, i), p));
    return keeps(count, cls[i]!, p) ? upsampled(d, set, probs, i, p.threshold) : EMPTY;
  };
  const applied: GateApplied = {
    threshold: p.threshold, cls_threshold: p.clsThreshold, count_threshold: p.countThreshold, min_pixels: p.minPixels, use_classifier: p.useClassifier,
  };
  const out = { height: origH, width: origW, gate: applied, val: {} as Record<string, string>, test: {} as Record<string, string> };
  const truthRle: Record<string, string> = {};
  const dice: number[] = [];
  const diceUnet: number[] = [];
  const predicted: boolean[] = [];
  const actual: boolean[] = [];
  for (let i = 0; i < valIds.length; i++) {
    if (signal?.aborted) throw new Error('gate aborted');
    const id = valIds[i]!;
    const index = indexOf.get(id);
    if (index === undefined) throw new Error(`predictions: validation id ${id} is not in the dataset`);
    const truth = memo(d.truth, index, () => mask(truthRuns(ds, index)));
    const kept = gated('val', valProb, valCls, i);
    const unet = upsampled(d, 'val', valProb, i, p.threshold);
    out.val[id] = kept.rle;
    truthRle[id] = truth.rle;
    dice.push(diceRuns(kept.runs, truth.runs));
    diceUnet.push(diceRuns(unet.runs, truth.runs));
    predicted.push(kept.runs.length > 0);
    actual.push(truth.runs.length > 0);
    if (i % 50 === 0) progress({ done: i, total, unit: 'images' });
  }
  for (let i = 0; i < testIds.length; i++) {
    if (signal?.aborted) throw new Error('gate aborted');
    out.test[testIds[i]!] = gated('test', testProb, testCls, i).rle;
    if (i % 200 === 0) progress({ done: valIds.length + i, total, unit: 'images' });
  }
  progress({ done: total, total, unit: 'images' });
  return { out, truthRle, dice, diceUnet, predicted, actual };
}

export default defineStage({
  description: 'gate masks with the classifier and min_pixels, upsample, score on validation',
  params: GATE_PARAMS,
  artifacts: () => ['masks', 'val_pred.csv', 'val_truth.csv'],
  light: true,
  // In a warm worker ahead of its job: the same work, kept in the memo, while the engine plans.
  async prepare(params, inputs, signal) {
    await gateMasks(params, inputs, () => undefined, signal);
  },
  async run(ctx: StageContext): Promise<void> {
    const { out, truthRle, dice, diceUnet, predicted, actual } = await gateMasks(ctx.params, ctx.inputs, ctx.progress, ctx.signal);
    await writeFile(join(ctx.outDir, 'masks'), JSON.stringify(out) + '\n');
    await writeFile(join(ctx.outDir, 'val_pred.csv'), validationCsv(out.val));
    await writeFile(join(ctx.outDir, 'val_truth.csv'), validationCsv(truthRle));
    const pr = presence(predicted, actual);
    ctx.metric('val_dice', mean(dice));
    ctx.metric('val_dice_unet', mean(diceUnet));
    ctx.metric('presence_precision', pr.precision);
    ctx.metric('presence_recall', pr.recall);
    ctx.log(`val dice ${mean(dice).toFixed(4)} (U-Net alone ${mean(diceUnet).toFixed(4)}), presence precision ${pr.precision.toFixed(3)} recall ${pr.recall.toFixed(3)}`);
  },
});
