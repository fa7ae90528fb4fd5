/**
 * train-cls: trains the ResNet-style crop classifier on the `crops` artifact
 * with focal loss and writes the best model as `cls_model` (model-io format).
 *
 * Params: {@link TRAIN_CLS_PARAMS} (the reference: gamma 7, alpha 0.9, lr
 * 1e-5, batch_size 32, epochs 5 on ImageNet ResNet50 weights; from scratch a
 * higher lr is needed).
 */
import { resolve } from 'node:path';
import { defineStage } from '../engine/stage-api.js';
import type { StageContext } from '../engine/stage-api.js';
import { BACKEND, bool, declareParams, int, intList, num, readParams, str, THREADS, threadsOption } from './lib/params.js';

/** The params of train-cls: its contract with pipeline.yaml (defaults: the default-pipeline sizes). */
export const TRAIN_CLS_PARAMS = declareParams({
  backend: BACKEND,
  threads: THREADS,
  gamma: num('focal loss focusing exponent (0 = cross-entropy)', 7, { minimum: 0 }),
  alpha: num('focal loss weight of the positive class', 0.9, { minimum: 0, maximum: 1 }),
  lr: num('Adam learning rate', 1e-3, { exclusiveMinimum: 0 }),
  batch_size: int('crops per training step', 32, { minimum: 1 }),
  epochs: int('most epochs to train', 5, { minimum: 1 }),
  patience: int('stop after this many epochs without a better validation loss; 0 = never', 0, { minimum: 0 }),
  widths: intList('filters of each ResNet stage (one stage per entry)', [8, 16, 32]),
  blocks: int('residual blocks per stage', 1, { minimum: 1 }),
  augment: bool('random flips and shifts of the training crops', false),
  normalise: bool('standardise inputs with the training crops\' mean and deviation', true),
  pretrained: str('workspace path of a model file whose weights are copied into the layers of the same name and shape; \'\' = none', ''),
  seed: int('seed of the initial weights, batch order and augmentation', 1),
});

/** The default value of every param (from the declaration), for benchmarks that build the same models. */
export const TRAIN_CLS_DEFAULTS = readParams(TRAIN_CLS_PARAMS, {});

async function run(ctx: StageContext): Promise<void> {
  const p = readParams(TRAIN_CLS_PARAMS, ctx.params);
  const o = {
    backend: p.backend, gamma: p.gamma, alpha: p.alpha, lr: p.lr, batchSize: p.batch_size, epochs: p.epochs, patience: p.patience,
    widths: p.widths, blocks: p.blocks, augment: p.augment, normalise: p.normalise, pretrained: p.pretrained, seed: p.seed,
  };
  const cropsPath = ctx.inputs.crops;
  if (cropsPath === undefined) throw new Error('train-cls needs the crops artifact');

  const { backendInfo, loadTf } = await import('./lib/backend.js');
  const { readCrops } = await import('./models/artifacts.js');
  const { buildClassifier } = await import('./models/classifier.js');
  const { focalLoss } = await import('./models/losses.js');
  const { computeNormalisation, IDENTITY_NORM } = await import('./models/batches.js');
  const { trainLoop } = await import('./models/train-loop.js');
  const { trainingHooks } = await import('./models/train-hooks.js');
  const { clsEvaluator } = await import('./models/evaluators.js');
  const { readModelFile, saveModel, setWeightsByName } = await import('./models/model-io.js');
  const { reportEpoch, reportTraining } = await import('./models/report.js');
  const { HistoryWriter } = await import('./models/history.js');

  const h = await loadTf(o.backend, (m) => ctx.log(m), threadsOption(p.threads));
  const tf = h.tf;
  for (const [k, v] of Object.entries(backendInfo(h))) ctx.info(k, v);
  const crops = await readCrops(cropsPath);
  const s = crops.size;
  const nTrain = crops.trainY.length;
  const nVal = crops.valY.length;
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const norm = o.normalise ? computeNormalisation(crops.trainX, s, s, range(nTrain)) : IDENTITY_NORM;
  const model = buildClassifier(tf, { inputShape: [s, s, 1], widths: o.widths, blocks: o.blocks, seed: o.seed });
  try {
    if (o.pretrained !== '') {
      const file = resolve(ctx.root, o.pretrained);
      const { weights } = await readModelFile(file).catch((e: unknown) => {
        throw new Error(`param pretrained: cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
      });
      const missing = setWeightsByName(tf, model, weights);
      const loaded = model.weights.length - missing.length;
      if (loaded === 0) throw new Error(`param pretrained: ${file} has no weight matching this classifier`);
      ctx.log(`pretrained: ${loaded} of ${model.weights.length} weights loaded from ${o.pretrained}`);
    }
    const params = model.countParams();
    const pos = crops.trainY.reduce((a, v) => a + (v === 1 ? 1 : 0), 0);
    ctx.log(`classifier ${s}x${s}, widths ${o.widths.join('/')}: ${params} params; ` +
      `${nTrain} train crops (${pos} positive) / ${nVal} val crops`);
    const set = (x: Uint8Array, y: Uint8Array, n: number) => ({ x, y, h: s, w: s, yPerSample: 1, index: range(n) });
    const history = new HistoryWriter(`${ctx.outDir}/cls_history`);
    const result = await trainLoop({
      tf, model, train: set(crops.trainX, crops.trainY, nTrain), val: set(crops.valX, crops.valY, nVal),
      loss: (y, p) => focalLoss(tf, y, p, { gamma: o.gamma, alpha: o.alpha }), evaluator: clsEvaluator(),
      epochs: o.epochs, batchSize: o.batchSize, lr: o.lr, patience: o.patience, seed: o.seed, norm,
      ...(o.augment ? { augment: { flip: true, shift: Math.round(s / 16) } } : {}),
      signal: ctx.signal,
      ...trainingHooks(ctx, backendInfo(h)),
      onEpoch: (r) => {
        reportEpoch(ctx, r, 'val_acc');
        history.add(r);
      },
    });
    const facts = {
      kind: 'resnet-classifier', input_shape: [s, s, 1], widths: o.widths, blocks: o.blocks, norm,
      backend: h.backend, params, epochs_run: result.epochsRun, best_epoch: result.bestEpoch,
      best_val_loss: result.bestValLoss, pretrained: o.pretrained,
    };
    await saveModel(`${ctx.outDir}/cls_model`, model, facts);
    history.finish(result.bestEpoch);
    reportTraining(ctx, result, params);
  } finally {
    model.dispose();
  }
}

export default defineStage({
  description: 'train the ResNet-style crop classifier (focal loss) on the crops',
  params: TRAIN_CLS_PARAMS,
  artifacts: () => ['cls_model', 'cls_history'],
  deps: (params) => {
    const p = readParams(TRAIN_CLS_PARAMS, params).pretrained;
    return p !== '' ? [p] : [];
  },
  run,
});
