/**
 * train-seg: trains the inception U-Net on the `dataset` images of the
 * `split`'s train indices, validates on its val indices, and writes the best
 * model as the `seg_model` artifact (model-io format; its facts carry the
 * input normalisation infer must apply).
 *
 * Params: {@link TRAIN_SEG_PARAMS} (defaults are the small default-pipeline
 * sizes; the reference is base_filters 32, depth 4, epochs 50, batch_size 64,
 * lr 1e-3, patience 20).
 */
import { defineStage } from '../engine/stage-api.js';
import type { StageContext } from '../engine/stage-api.js';
import { BACKEND, bool, declareParams, int, num, oneOf, readParams, THREADS, threadsOption } from './lib/params.js';

/**
 * The params of train-seg: its contract with pipeline.yaml. Defaults are the
 * default-pipeline sizes (64x80 images, ~320 training images: ~30 s/epoch on
 * one wasm thread here; pooled val Dice 0.46 after 10 epochs on the default
 * synthetic data, still rising). lr 3e-3 with batch 8 learns far faster in
 * short runs than the reference's 1e-3 with batch 64. The default
 * pipeline.yaml turns on augment and bce_weight 1 (README, "What changed
 * in the models and why"); the declared defaults stay the plain dice-loss
 * U-Net.
 */
export const TRAIN_SEG_PARAMS = declareParams({
  backend: BACKEND,
  threads: THREADS,
  base_filters: int('filters of the first level (doubled at each level down); a multiple of 4', 8, { minimum: 4 }),
  depth: int('down-sampling levels; image sides must be divisible by 2^depth', 4, { minimum: 0, maximum: 8 }),
  epochs: int('most epochs to train', 12, { minimum: 1 }),
  batch_size: int('images per training step', 8, { minimum: 1 }),
  lr: num('Adam learning rate', 3e-3, { exclusiveMinimum: 0 }),
  patience: int('stop after this many epochs without a better monitored value; 0 = never', 5, { minimum: 0 }),
  monitor: oneOf('what picks the epoch kept and drives early stopping: the lowest validation loss, or the highest mean per-image Dice on validation (the Kaggle metric at model size)', ['val_loss', 'val_image_dice'], 'val_loss'),
  augment: bool('random flips and shifts of the training images', false),
  shift: int('largest shift in pixels, with augment', 4, { minimum: 0 }),
  normalise: bool('standardise inputs with the training images\' mean and deviation', true),
  output_prior: num('initial mean output probability, via the output bias (0.5 = the reference\'s zero bias)', 0.5, { exclusiveMinimum: 0, maximum: 0.999 }),
  bce_weight: num('weight of pixel-wise binary cross-entropy added to the dice loss (0 = dice only, as the reference)', 0, { minimum: 0 }),
  presence_weight: num('weight of the image-level term: cross-entropy of each image\'s largest probability against "has a nerve"', 0, { minimum: 0 }),
  presence_head: bool('a presence unit on the bottleneck multiplied into the mask', false),
  seed: int('seed of the initial weights, batch order and augmentation', 1),
});

/** The default value of every param (from the declaration), for benchmarks that build the same models. */
export const TRAIN_SEG_DEFAULTS = readParams(TRAIN_SEG_PARAMS, {});

async function run(ctx: StageContext): Promise<void> {
  const p = readParams(TRAIN_SEG_PARAMS, ctx.params);
  const o = {
    backend: p.backend, baseFilters: p.base_filters, depth: p.depth, epochs: p.epochs, batchSize: p.batch_size, lr: p.lr,
    patience: p.patience, monitor: p.monitor, augment: p.augment, shift: p.shift, normalise: p.normalise, outputPrior: p.output_prior, seed: p.seed,
    lossWeights: { bce: p.bce_weight, presence: p.presence_weight }, presenceHead: p.presence_head,
  };
  if (o.baseFilters % 4 !== 0) throw new Error(`param base_filters must be a multiple of 4, got ${o.baseFilters}`);
  const datasetPath = ctx.inputs.dataset;
  const splitPath = ctx.inputs.split;
  if (datasetPath === undefined || splitPath === undefined) throw new Error('train-seg needs the dataset and split artifacts');

  const { backendInfo, loadTf } = await import('./lib/backend.js');
  const { readDataset, readSplit } = await import('./models/artifacts.js');
  const { buildUnet } = await import('./models/unet.js');
  const { segLoss } = await import('./models/losses.js');
  const { computeNormalisation, IDENTITY_NORM } = await import('./models/batches.js');
  const { trainLoop } = await import('./models/train-loop.js');
  const { trainingHooks } = await import('./models/train-hooks.js');
  const { segEvaluator } = await import('./models/evaluators.js');
  const { saveModel } = await import('./models/model-io.js');
  const { reportEpoch, reportTraining } = await import('./models/report.js');
  const { HistoryWriter } = await import('./models/history.js');

  const h = await loadTf(o.backend, (m) => ctx.log(m), threadsOption(p.threads));
  const tf = h.tf;
  for (const [k, v] of Object.entries(backendInfo(h))) ctx.info(k, v);
  const ds = await readDataset(datasetPath);
  const split = await readSplit(splitPath, ds.n);
  const k = 2 ** o.depth;
  if (ds.h % k !== 0 || ds.w % k !== 0) {
    throw new Error(`param depth ${o.depth}: image size ${ds.h}x${ds.w} must be divisible by 2^depth = ${k}`);
  }
  const norm = o.normalise ? computeNormalisation(ds.trainImages, ds.h, ds.w, split.train) : IDENTITY_NORM;
  const set = (index: readonly number[]) => ({
    x: ds.trainImages, y: ds.trainMasks, h: ds.h, w: ds.w, yPerSample: ds.h * ds.w, index,
  });
  const model = buildUnet(tf, { inputShape: [ds.h, ds.w, 1], baseFilters: o.baseFilters, depth: o.depth, seed: o.seed,
    outputPrior: o.outputPrior, presenceHead: o.presenceHead,
  });
  try {
    const params = model.countParams();
    ctx.log(`U-Net ${ds.h}x${ds.w}, base ${o.baseFilters}, depth ${o.depth}: ${params} params; ` +
      `${split.train.length} train / ${split.val.length} val images`);
    const history = new HistoryWriter(`${ctx.outDir}/seg_history`);
    const result = await trainLoop({
      tf, model, train: set(split.train), val: set(split.val),
      loss: (y, p) => segLoss(tf, y, p, o.lossWeights), evaluator: segEvaluator(0.5),
      epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, patience: o.patience, seed: o.seed, norm,
      ...(o.monitor === 'val_loss' ? {} : { monitor: o.monitor }),
      ...(o.augment ? { augment: { flip: true, shift: o.shift } } : {}),
      signal: ctx.signal,
      ...trainingHooks(ctx, backendInfo(h)),
      onEpoch: (r) => {
        reportEpoch(ctx, r, 'val_dice');
        history.add(r);
      },
    });
    const best = result.history[result.bestEpoch - 1];
    const facts = {
      kind: 'inception-unet', input_shape: [ds.h, ds.w, 1], base_filters: o.baseFilters, depth: o.depth,
      presence_head: o.presenceHead, loss_weights: o.lossWeights,
      norm, backend: h.backend, params, epochs_run: result.epochsRun, best_epoch: result.bestEpoch,
      best_val_loss: result.bestValLoss, val_dice: best?.metrics.val_dice ?? null,
    };
    await saveModel(`${ctx.outDir}/seg_model`, model, facts);
    history.finish(result.bestEpoch);
    reportTraining(ctx, result, params);
  } finally {
    model.dispose();
  }
}

export default defineStage({
  description: 'train the inception U-Net (dice loss, optionally + BCE and presence terms) on the dataset split',
  params: TRAIN_SEG_PARAMS,
  artifacts: () => ['seg_model', 'seg_history'],
  run,
});
