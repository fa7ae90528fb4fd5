/**
 * Prototype: data-parallel training over two worker threads, the alternative
 * to the wasm backend's own thread pool for using both cores.
 *
 *   node dist/bench/train-throughput-dp.js [--model unet|classifier] [--steps 5]
 *
 * Main thread and one worker each load TF.js + wasm (1 thread each), build the
 * same model from the same seed (the train stages' builders, losses and the
 * train loop's Adam, `createAdam`), and per step compute gradients on their half
 * of the batch; the worker posts its gradients, the main thread averages them
 * and posts the average back, and both apply the same Adam update (so the
 * weights stay bit-identical without shipping them). Batch norm sees half
 * batches ("ghost" batch norm), so this is not the same computation as one
 * process on the full batch. Prints ms per full-batch step, and for comparison
 * the same step in this process alone at 1 thread.
 */
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { loadTf } from '../stages/lib/backend.js';
import type { TfHandle } from '../stages/lib/backend.js';
import { createAdam } from '../stages/kernels/adam.js';
import { buildClassifier } from '../stages/models/classifier.js';
import { diceLoss, focalLoss } from '../stages/models/losses.js';
import { buildUnet } from '../stages/models/unet.js';
import { TRAIN_CLS_DEFAULTS } from '../stages/train-cls.js';
import { CONFIGS } from './train-throughput-models.js';
import type { Config } from './train-throughput-models.js';

type Tf = TfHandle['tf'];
type Grads = Record<string, Float32Array>;

/** Model, optimizer and a half (or full) batch; `grads` computes gradients, `apply` updates. */
function setup(tf: Tf, c: Config, part: number, parts: number) {
  const model = c.kind === 'unet'
    ? buildUnet(tf, { inputShape: [c.h, c.w, 1], baseFilters: c.base, depth: c.depth, seed: 1 })
    : buildClassifier(tf, { inputShape: [c.size, c.size, 1], widths: c.widths, blocks: c.blocks, seed: 1 });
  const b = c.batch / parts;
  const full: [number, number, number, number] = c.kind === 'unet' ? [c.batch, c.h, c.w, 1] : [c.batch, c.size, c.size, 1];
  const [x, y] = tf.tidy(() => {
    const xs = tf.randomUniform(full, 0, 1, 'float32', 1);
    const ys = tf.randomUniform(c.kind === 'unet' ? full : [c.batch, 1], 0, 1, 'float32', 2).round();
    return [xs.slice(part * b, b), ys.slice(part * b, b)];
  });
  const opt = createAdam(tf, 1e-3);
  const { gamma, alpha } = TRAIN_CLS_DEFAULTS;
  const loss = (): import('@tensorflow/tfjs').Scalar => {
    const p = model.apply(x!, { training: true }) as NonNullable<typeof x>;
    return c.kind === 'unet' ? diceLoss(tf, y!, p) : focalLoss(tf, y!, p, { gamma, alpha });
  };
  return {
    grads(): Grads {
      return tf.tidy(() => {
        const { grads } = tf.variableGrads(loss);
        const out: Grads = {};
        for (const [k, g] of Object.entries(grads)) out[k] = g.dataSync() as Float32Array;
        return out;
      });
    },
    apply(g: Grads): void {
      tf.tidy(() => {
        const named: Record<string, import('@tensorflow/tfjs').Tensor> = {};
        for (const [k, v] of Object.entries(g)) named[k] = tf.tensor(v, tf.engine().registeredVariables[k]!.shape);
        opt.applyGradients(named as never);
      });
    },
  };
}

if (!isMainThread) {
  const { config } = workerData as { config: Config };
  const { tf } = await loadTf('wasm', undefined, { threads: 1 });
  const s = setup(tf, config, 1, 2);
  parentPort!.on('message', (m: { cmd: 'grads' } | { cmd: 'apply'; grads: Grads }) => {
    if (m.cmd === 'grads') parentPort!.postMessage(s.grads());
    else { s.apply(m.grads); parentPort!.postMessage('ok'); }
  });
  parentPort!.postMessage('ready');
} else {
  const { values } = parseArgs({ options: { model: { type: 'string', default: 'unet' }, steps: { type: 'string', default: '5' } } });
  const config = CONFIGS.find((c) => c.name === (values.model === 'unet' ? 'unet-reference' : 'classifier-default'))!;
  const steps = Number(values.steps);
  const { tf } = await loadTf('wasm', (m) => console.log(m), { threads: 1 });
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { config } });
  const next = () => new Promise<unknown>((resolve) => worker.once('message', resolve));
  await next();
  const s = setup(tf, config, 0, 2);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const dp: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const t = performance.now();
    const theirs = next();
    worker.postMessage({ cmd: 'grads' });
    const mine = s.grads();
    const other = (await theirs) as Grads;
    const avg: Grads = {};
    for (const [k, a] of Object.entries(mine)) {
      const b = other[k]!;
      const o = new Float32Array(a.length);
      for (let j = 0; j < a.length; j++) o[j] = Math.fround(Math.fround(a[j]! + b[j]!) * 0.5);
      avg[k] = o;
    }
    const done = next();
    worker.postMessage({ cmd: 'apply', grads: avg });
    s.apply(avg);
    await done;
    if (i > 0) dp.push(performance.now() - t);
  }
  await worker.terminate();
  const single = setup(tf, config, 0, 1);
  const one: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const t = performance.now();
    single.apply(single.grads());
    if (i > 0) one.push(performance.now() - t);
  }
  const d = median(dp), o = median(one);
  console.log(`${config.name} batch ${config.batch}: data-parallel 2 x 1 thread ${d.toFixed(0)} ms/step (${(config.batch * 1000 / d).toFixed(1)} img/s), ` +
    `one process 1 thread ${o.toFixed(0)} ms/step (${(config.batch * 1000 / o).toFixed(1)} img/s), speed-up ${(o / d).toFixed(2)}`);
}
