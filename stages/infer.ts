/**
 * infer: the U-Net's mask probabilities for the validation and test images,
 * and the classifier's probability that each predicted mask is a nerve.
 *
 * ```
 * image ─ seg_model ─> prob [h,w] ──> *_prob
 *                        └ >= mask_threshold ─ maskCrop (empty: centreCrop) ─ cls_model ─> *_cls
 * ```
 *
 * Each model's input normalisation comes from its own facts, so infer sees
 * exactly what training saw. Params: {@link INFER_PARAMS}.
 */
import { defineStage } from '../engine/stage-api.js';
import type { StageContext } from '../engine/stage-api.js';
import { BACKEND, declareParams, int, num, readParams, THREADS, threadsOption } from './lib/params.js';

/** The params of infer: its contract with pipeline.yaml. */
export const INFER_PARAMS = declareParams({
  backend: BACKEND,
  threads: THREADS,
  batch_size: int('images per forward pass', 32, { minimum: 1 }),
  mask_threshold: num('a pixel at or above this probability is in the mask whose crop the classifier scores', 0.3, { minimum: 0, maximum: 1 }),
  crop_size: int('classifier crop size; 0 = the classifier\'s input size (any other value must equal it)', 0, { minimum: 0 }),
});

async function run(ctx: StageContext): Promise<void> {
  const p = readParams(INFER_PARAMS, ctx.params);
  const { backend, batch_size: batchSize, mask_threshold: threshold, crop_size: cropParam } = p;
  const { dataset, split, seg_model: segPath, cls_model: clsPath } = ctx.inputs;
  if (dataset === undefined || split === undefined || segPath === undefined || clsPath === undefined) {
    throw new Error('infer needs the dataset, split, seg_model and cls_model artifacts');
  }

  const { backendInfo, loadTf } = await import('./lib/backend.js');
  const { readDataset, readSplit } = await import('./models/artifacts.js');
  const { loadModel } = await import('./models/model-io.js');
  const { predictCrops, factsNorm } = await import('./models/predict.js');
  const { maskCrop } = await import('./lib/crops.js');
  const { frames, segProbs, thresholdMask } = await import('./lib/unet-masks.js');
  const { writeTensors } = await import('../cache/tensors.js');

  const h = await loadTf(backend, (m) => ctx.log(m), threadsOption(p.threads));
  const tf = h.tf;
  for (const [k, v] of Object.entries(backendInfo(h))) ctx.info(k, v);
  const ds = await readDataset(dataset);
  const sp = await readSplit(split, ds.n);
  const cls = await loadModel(tf, clsPath);
  try {
    const size = cls.model.inputs[0]?.shape[1];
    if (typeof size !== 'number') throw new Error('cls_model has no fixed input size');
    if (cropParam !== 0 && cropParam !== size) {
      throw new Error(`param crop_size ${cropParam} differs from the classifier's input size ${size}`);
    }
    const px = ds.h * ds.w;
    const valImages = frames(ds.trainImages, sp.val, ds.h, ds.w);
    const total = sp.val.length + ds.m;
    let done = 0;
    const onBatch = (n: number) => {
      done += n;
      ctx.progress({ done, total: 2 * total, unit: 'images', note: done <= total ? 'masks' : 'classifier' });
    };
    const opts = { batchSize, signal: ctx.signal, onBatch };
    const [valProb = new Float32Array(0), testProb = new Float32Array(0)] =
      await segProbs(tf, segPath, ds.h, ds.w, [valImages, ds.testImages], opts);
    const cropsOf = (images: Uint8Array, probs: Float32Array, n: number): Uint8Array => {
      const out = new Uint8Array(n * size * size);
      const mask = new Uint8Array(px);
      for (let i = 0; i < n; i++) {
        thresholdMask(probs, i, threshold, mask);
        out.set(maskCrop(images.subarray(i * px, (i + 1) * px), mask, ds.h, ds.w, size), i * size * size);
      }
      return out;
    };
    const clsNorm = factsNorm(cls.facts);
    const valCls = await predictCrops(tf, cls.model, cropsOf(valImages, valProb, sp.val.length), size, clsNorm, opts);
    const testCls = await predictCrops(tf, cls.model, cropsOf(ds.testImages, testProb, ds.m), size, clsNorm, opts);
    const valIds = sp.val.map((i) => ds.trainIds[i]!);
    await writeTensors(`${ctx.outDir}/predictions`, {
      val_prob: { dtype: 'float32', shape: [sp.val.length, ds.h, ds.w], data: valProb },
      test_prob: { dtype: 'float32', shape: [ds.m, ds.h, ds.w], data: testProb },
      val_cls: { dtype: 'float32', shape: [sp.val.length], data: valCls },
      test_cls: { dtype: 'float32', shape: [ds.m], data: testCls },
    }, { val_ids: JSON.stringify(valIds), test_ids: JSON.stringify(ds.testIds) });
    ctx.metric('val_images', sp.val.length);
    ctx.metric('test_images', ds.m);
  } finally {
    cls.model.dispose();
  }
}

export default defineStage({
  description: 'predict mask probabilities and classifier scores for validation and test images',
  params: INFER_PARAMS,
  artifacts: () => ['predictions'],
  run,
});
