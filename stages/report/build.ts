/**
 * Builds the report page from artifact files: the one function behind both
 * the `report` stage kind and `pipe report`.
 *
 * ```
 * dataset, split ───────────────> data section (counts, charts, training images)
 * seg_history, cls_history ─────> models: training curves
 * predictions, masks (+dataset) ─> models: validation pairs, worst cases; metrics
 * ```
 *
 * A missing artifact leaves its part out with a note (a pipeline without a
 * classifier still gets a page). The caller adds its own sections before
 * (the pipeline's state) and after (experiments).
 */
import { readFile } from 'node:fs/promises';
import { gateApplied } from '../gate.js';
import { readDataset, readSplit, type Dataset } from '../lib/dataset.js';
import { readHistory, type History } from '../models/history.js';
import { dataStats, valStats, worstCases, type ValPredictions, type ValStats } from './analyse.js';
import { chartThread } from './chart-thread.js';
import { memoSvg, renderSvg, type VlSpec } from './charts.js';
import { page, tile, type Section } from './html.js';
import { memoTile, renderTile, tileSize, type Outline } from './images.js';
import type { RenderMemo } from './memo.js';
import { dataSection, greyOf, metricsSection, modelsCurves, predictionGrids, type Draw } from './sections.js';

/** Paths of the artifacts the report reads, by artifact name; any may be missing. */
export interface ReportSources {
  readonly dataset?: string;
  readonly split?: string;
  readonly predictions?: string;
  readonly masks?: string;
  readonly seg_history?: string;
  readonly cls_history?: string;
}

/** The artifact names the report reads. */
export const REPORT_ARTIFACTS = ['dataset', 'split', 'predictions', 'masks', 'seg_history', 'cls_history'] as const;

/** What to build. */
export interface ReportOptions {
  readonly sources: ReportSources;
  /**
   * The gate's pixel threshold (U-Net alone) and classifier threshold, for
   * masks that do not record the ones gate applied (made by an older gate);
   * the `gate` params in the masks win.
   */
  readonly fallbackThresholds?: { readonly threshold: number; readonly clsThreshold: number };
  /** Random training images and random validation images shown; worst cases shown. */
  readonly samples: number;
  readonly worst: number;
  readonly seed: number;
  readonly title: string;
  /** HTML under the title. */
  readonly subtitle: string;
  /** Sections before the data (the pipeline) and after the metrics (experiments). */
  readonly before?: readonly Section[];
  readonly after?: readonly Section[];
  /** Progress of the charts and images drawn. */
  readonly progress?: (done: number, total: number) => void;
  /**
   * Where charts and tiles drawn before are kept (memo.ts); none: everything
   * is drawn. The page's bytes are the same either way. The caller finishes it.
   */
  readonly memo?: RenderMemo;
}

/** The page and the numbers it shows. */
export interface ReportPage {
  readonly html: string;
  readonly val?: ValStats;
  readonly charts: number;
  readonly images: number;
}

async function readPredictions(path: string): Promise<ValPredictions> {
  const { readTensors } = await import('../../cache/tensors.js');
  const { tensors, metadata } = await readTensors(path);
  const f32 = (name: string): Float32Array => {
    const t = tensors[name];
    if (t === undefined || !(t.data instanceof Float32Array)) throw new Error(`${path}: no float32 tensor ${name}`);
    return t.data;
  };
  const ids: unknown = JSON.parse(metadata['val_ids'] ?? 'null');
  if (!Array.isArray(ids) || ids.some((e) => typeof e !== 'string')) throw new Error(`${path}: metadata val_ids is not a list of ids`);
  return { ids: ids as string[], prob: f32('val_prob'), cls: f32('val_cls') };
}

/** Gate's validation masks and the thresholds it applied (recorded in the masks; else `fallback`). */
async function readMasks(path: string, fallback: ReportOptions['fallbackThresholds']): Promise<{ val: Record<string, string>; threshold: number; clsThreshold: number }> {
  const v = JSON.parse(await readFile(path, 'utf8')) as { val?: Record<string, string>; gate?: unknown };
  if (typeof v.val !== 'object' || v.val === null) throw new Error(`${path}: no "val" masks`);
  if (v.gate === undefined && fallback !== undefined) return { val: v.val, ...fallback };
  const g = gateApplied(v, path);
  return { val: v.val, threshold: g.threshold, clsThreshold: g.cls_threshold };
}

/** Builds the page; throws naming the artifact file when one is not what it should be. */
export async function buildReport(o: ReportOptions): Promise<ReportPage> {
  const s = o.sources;
  const ds: Dataset | undefined = s.dataset ? await readDataset(s.dataset) : undefined;
  const split = ds && s.split ? await readSplit(s.split, ds.trainIds.length) : undefined;
  const seg: History | undefined = s.seg_history ? await readHistory(s.seg_history) : undefined;
  const cls: History | undefined = s.cls_history ? await readHistory(s.cls_history) : undefined;
  const masks = ds && s.predictions && s.masks ? await readMasks(s.masks, o.fallbackThresholds) : undefined;
  const vs = ds && s.predictions && masks
    ? valStats(ds, await readPredictions(s.predictions), masks.val, masks.threshold, masks.clsThreshold)
    : undefined;

  const nVal = vs ? Math.min(o.samples, vs.images.length) : 0;
  const total = (ds && split ? 2 + Math.min(o.samples, ds.trainIds.length) : 0) + (seg ? 2 : 0) + (cls ? 2 : 0) +
    (vs ? 3 + 2 * nVal + 2 * worstCases(vs.images, o.worst).length : 0);
  let done = 0;
  let charts = 0;
  let images = 0;
  const step = (): void => {
    done++;
    o.progress?.(done, Math.max(done, total));
  };
  const size = ds ? tileSize(ds.h, ds.w, ds.origH, ds.origW, 232) : tileSize(1, 1, 1, 1, 1);
  // With a memo, a chart is a placeholder at once and is read or drawn meanwhile; the charts the memo lacks go to a
  // chart thread, which loads vega and draws them while this thread draws the tiles. The SVGs replace the placeholders last.
  const thread = o.memo ? chartThread : undefined;
  const svgs: Promise<string>[] = [];
  const draw: Draw = {
    size,
    async chart(spec: VlSpec) {
      if (o.memo === undefined || thread === undefined) {
        const svg = await renderSvg(spec);
        charts++;
        step();
        return svg;
      }
      const svg = memoSvg(o.memo, spec, (full) => thread.render(full)).then((text) => {
        charts++;
        step();
        return text;
      });
      svg.catch(() => undefined); // awaited below: not an unhandled rejection while the tiles are drawn
      svgs.push(svg);
      return `<!--pipe-chart-${svgs.length - 1}-->`;
    },
    async tile(index: number, outlines: readonly Outline[], alt: string, caption: string) {
      if (!ds) throw new Error('bug: a tile without a dataset');
      const grey = greyOf(ds, index);
      const png = o.memo ? await memoTile(o.memo, grey, size, outlines) : await renderTile(grey, size, outlines);
      images++;
      step();
      return tile(png, alt, caption);
    },
  };

  // The metrics' charts (the ones a new gate value changes) are asked for first, so that the chart thread starts
  // before the tiles are drawn; the page's order is the sections' order below.
  const metrics: Section = vs ? await metricsSection(vs, draw)
    : { id: 'metrics', title: 'Metrics', body: '<p class="note">No validation predictions among the inputs.</p>' };
  const sections: Section[] = [...(o.before ?? [])];
  if (ds && split) sections.push(await dataSection(ds, dataStats(ds, split), draw, o.samples, o.seed));
  else sections.push({ id: 'data', title: 'Data', body: '<p class="note">No dataset and split among the inputs.</p>' });
  let models = await modelsCurves(seg, cls, draw);
  if (ds && vs) models += await predictionGrids(ds, vs, draw, nVal, o.worst, o.seed);
  else models += '<p class="note">No predictions and gated masks among the inputs: run infer and gate.</p>';
  sections.push({ id: 'models', title: 'Models', body: models }, metrics, ...(o.after ?? []));
  const drawn = await Promise.all(svgs);
  const html = page(o.title, o.subtitle, sections).replace(/<!--pipe-chart-(\d+)-->/g, (_, i: string) => drawn[Number(i)] ?? '');
  return { html, ...(vs ? { val: vs } : {}), charts, images };
}
