/**
 * Charts of the report: Vega-Lite specs rendered headlessly to SVG by the
 * engine's chart module (the one `pipe sweep` uses: vega with `renderer:
 * 'none'`, no canvas, no browser, as DVC renders its plots). Every chart
 * shares {@link CHART_CONFIG}: the Okabe-Ito palette (readable with red-green
 * colour blindness) and the page's font sizes.
 */
import { memoKey, type RenderMemo } from './memo.js';
import { rendererId } from './renderer-id.js';

/** A Vega-Lite spec (top-level), as plain JSON. */
export type VlSpec = Record<string, unknown>;

/** Okabe-Ito: orange, sky blue, bluish green, yellow, blue, vermillion, reddish purple, grey. */
export const OKABE_ITO = ['#E69F00', '#56B4E9', '#009E73', '#F0E442', '#0072B2', '#D55E00', '#CC79A7', '#999999'] as const;

/** The Vega-Lite config every chart gets. */
export const CHART_CONFIG = {
  font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
  background: 'white',
  view: { stroke: null },
  range: { category: [...OKABE_ITO] },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 500, gridColor: '#e8e8e8', domainColor: '#888', tickColor: '#888' },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom' },
  title: { fontSize: 13, fontWeight: 600, anchor: 'start', offset: 8 },
  line: { strokeWidth: 2 },
  point: { size: 40, filled: true },
  bar: { color: OKABE_ITO[4] },
  rect: { color: OKABE_ITO[4] },
} as const;

/** The chart renderer's module: vega and vega-lite load from there. */
const RENDERER = new URL('../../engine/charts.js', import.meta.url).href;

/** The spec as rendered: the v5 schema, {@link CHART_CONFIG} under the spec's own config. */
function fullSpec(spec: VlSpec): VlSpec {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', ...spec, config: { ...CHART_CONFIG, ...(spec.config as object | undefined) } };
}

/** Renders a Vega-Lite spec to SVG with the shared renderer (engine/charts.ts), {@link CHART_CONFIG} under the spec's own config. */
export async function renderSvg(spec: VlSpec): Promise<string> {
  const { renderSvg: render } = await import('../../engine/charts.js');
  return render(fullSpec(spec));
}

/** Draws a full spec (see {@link memoSvg}): engine/charts.ts on this thread, or a chart thread (chart-thread.ts). */
export type SvgRenderer = (full: VlSpec) => Promise<string>;

const renderHere: SvgRenderer = async (full) => (await import('../../engine/charts.js')).renderSvg(full);

/**
 * {@link renderSvg} through a render memo: the key is the spec as rendered
 * (its JSON, data inline) and the renderer (vega's and vega-lite's package
 * closure, engine/charts.ts's code), so a chart in the memo loads no vega.
 * A chart the memo lacks is drawn by `draw` (default: on this thread).
 */
export async function memoSvg(memo: RenderMemo, spec: VlSpec, draw: SvgRenderer = renderHere): Promise<string> {
  const full = fullSpec(spec);
  const key = memoKey(['svg', rendererId(RENDERER, ['vega', 'vega-lite'], [RENDERER]), JSON.stringify(full)]);
  return memo.text(key, 'svg', () => draw(full));
}
