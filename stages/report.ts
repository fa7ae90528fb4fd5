/**
 * Stage kind `report`: the report page (data, training curves, predictions
 * against truth, metrics) as a pipeline output, cached like any other. It
 * reads the artifacts of the stages it `needs` (dataset, split, seg_history,
 * cls_history, predictions, masks: whichever are there) and writes one
 * self-contained HTML file, `out` (report.html). `pipe report` builds the same
 * page with the pipeline's state and the experiments added.
 *
 * The page depends only on the inputs and params (no clock, no lock), so the
 * same key gives the same bytes.
 *
 * Params: `out`, `threshold` (0.3) and `cls_threshold` (0.5): the gate's, to
 * score the U-Net alone and the classifier as the gate does; `samples` (8:
 * random training and validation images shown), `worst` (8), `seed` (1),
 * `title`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { defineStage, type Params, type StageContext } from '../engine/stage-api.js';
import { numParam, strParam } from './lib/params.js';

/** Default params of the report stage. */
export const REPORT_DEFAULTS = { out: 'report.html', threshold: 0.3, cls_threshold: 0.5, samples: 8, worst: 8, seed: 1, title: 'pipe report' } as const;

/** The validated params. */
export function reportParams(p: Params) {
  const d = REPORT_DEFAULTS;
  return {
    out: strParam(p, 'out', d.out),
    threshold: numParam(p, 'threshold', d.threshold, { min: 0, max: 1 }),
    clsThreshold: numParam(p, 'cls_threshold', d.cls_threshold, { min: 0, max: 1 }),
    samples: numParam(p, 'samples', d.samples, { int: true, min: 0, max: 100 }),
    worst: numParam(p, 'worst', d.worst, { int: true, min: 0, max: 100 }),
    seed: numParam(p, 'seed', d.seed, { int: true }),
    title: strParam(p, 'title', d.title),
  };
}

export default defineStage({
  description: 'an HTML page of the data, training curves, predictions against truth and metrics',
  artifacts: () => [],
  outs: (params) => [strParam(params, 'out', REPORT_DEFAULTS.out)],
  async run(ctx: StageContext): Promise<void> {
    const p = reportParams(ctx.params);
    const { buildReport, REPORT_ARTIFACTS } = await import('./report/build.js');
    const sources = Object.fromEntries(REPORT_ARTIFACTS.flatMap((a) => (ctx.inputs[a] === undefined ? [] : [[a, ctx.inputs[a]]])));
    const built = await buildReport({
      sources, threshold: p.threshold, clsThreshold: p.clsThreshold, samples: p.samples, worst: p.worst, seed: p.seed,
      title: p.title, subtitle: `built by the <code>${ctx.name}</code> stage from its inputs; <code>pipe report</code> adds the pipeline's state and the experiments`,
      progress: (done, total) => ctx.progress({ done, total, unit: 'charts and images' }),
    });
    const path = resolve(ctx.root, p.out);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, built.html);
    ctx.metric('charts', built.charts);
    ctx.metric('images', built.images);
    ctx.log(`${p.out}: ${built.charts} charts, ${built.images} images, ${(built.html.length / 1e6).toFixed(2)} MB`);
  },
});
