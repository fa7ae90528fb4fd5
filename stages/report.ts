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
 * Params: {@link REPORT_PARAMS}. The U-Net alone and the classifier are
 * scored at the thresholds gate applied, which its `masks` record.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { defineStage, type Params, type StageContext } from '../engine/stage-api.js';
import { declareParams, int, readParams, str } from './lib/params.js';

/** The params of report: its contract with pipeline.yaml. */
export const REPORT_PARAMS = declareParams({
  out: str('workspace path of the HTML page (the stage\'s out)', 'report.html'),
  samples: int('random training and validation images shown', 8, { minimum: 0, maximum: 100 }),
  worst: int('worst validation cases shown', 8, { minimum: 0, maximum: 100 }),
  seed: int('seed of the choice of samples', 1),
  title: str('title of the page', 'pipe report'),
});

/** The default value of every param (from the declaration), for `pipe report`. */
export const REPORT_DEFAULTS = readParams(REPORT_PARAMS, {});

/** The validated params. */
export function reportParams(params: Params) {
  const p = readParams(REPORT_PARAMS, params);
  return { out: p.out, samples: p.samples, worst: p.worst, seed: p.seed, title: p.title };
}

/** How many charts and images came from the render memo: "drawn 2, 47 from .pipe/render". */
export function memoNote(s: { readonly hits: number; readonly misses: number }): string {
  return `drawn ${s.misses}, ${s.hits} from .pipe/render`;
}

export default defineStage({
  description: 'an HTML page of the data, training curves, predictions against truth and metrics',
  params: REPORT_PARAMS,
  artifacts: () => [],
  outs: (params) => [readParams(REPORT_PARAMS, params).out],
  async run(ctx: StageContext): Promise<void> {
    const p = reportParams(ctx.params);
    const { buildReport, REPORT_ARTIFACTS } = await import('./report/build.js');
    const { RenderMemo } = await import('./report/memo.js');
    // Charts and tiles drawn before (by any stage or `pipe report`) come from the folder the engine lends for memos:
    // pure functions of their key. Without one, everything is drawn (same bytes).
    const memo = ctx.memoDir === undefined ? undefined : new RenderMemo(ctx.memoDir, `stage-${ctx.name}`);
    const sources = Object.fromEntries(REPORT_ARTIFACTS.flatMap((a) => (ctx.inputs[a] === undefined ? [] : [[a, ctx.inputs[a]]])));
    const built = await buildReport({
      sources, samples: p.samples, worst: p.worst, seed: p.seed,
      title: p.title, subtitle: `built by the <code>${ctx.name}</code> stage from its inputs; <code>pipe report</code> adds the pipeline's state and the experiments`,
      progress: (done, total) => ctx.progress({ done, total, unit: 'charts and images' }),
      ...(memo !== undefined ? { memo } : {}),
    });
    await memo?.finish();
    const path = resolve(ctx.root, p.out);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, built.html);
    ctx.metric('charts', built.charts);
    ctx.metric('images', built.images);
    ctx.log(`${p.out}: ${built.charts} charts, ${built.images} images (${memoNote(memo?.stats ?? { hits: 0, misses: built.charts + built.images })}), ${(built.html.length / 1e6).toFixed(2)} MB`);
  },
});
