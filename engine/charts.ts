/**
 * Charts: a Vega-Lite spec rendered headlessly to SVG (vega + vega-lite, as
 * DVC's plots do) and to PNG (resvg). Shared by `pipe sweep` and `pipe report`.
 *
 *   Vega-Lite spec --vl.compile--> Vega spec --vega.View(renderer none).toSVG()--> SVG
 *                                                          --resvg--> PNG
 *
 * The three libraries are heavy (~5 MB of JS, a native module): they load on
 * the first call, never when this module is imported. They are CommonJS, so
 * they are required, not imported: an `import()` of a CommonJS module has
 * Node scan its whole source for named exports first (a third of vega's
 * load time).
 */
import { createRequire } from 'node:module';

const requireLib = createRequire(import.meta.url);
type Vega = typeof import('vega');
type VegaLite = typeof import('vega-lite');
type ResvgLib = typeof import('@resvg/resvg-js');
const libs = {
  vega: (): Vega => requireLib('vega') as Vega,
  vl: (): VegaLite => requireLib('vega-lite') as VegaLite,
  resvg: (): ResvgLib => requireLib('@resvg/resvg-js') as ResvgLib,
};

/** A Vega-Lite specification (https://vega.github.io/vega-lite/docs/spec.html), data inline. */
export type VegaLiteSpec = Readonly<Record<string, unknown>>;

/** A rendered chart. */
export interface Chart {
  /** The SVG document (standalone, with an XML namespace). */
  readonly svg: string;
  /** The same chart as a PNG image. */
  readonly png: Buffer;
}

/** Options of {@link renderChart}. */
export interface RenderOptions {
  /** PNG pixels per SVG unit (default 2: crisp on high-density screens). */
  readonly scale?: number;
  /** Also produce the PNG (default true); false skips loading resvg. */
  readonly png?: boolean;
}

/**
 * Renders a Vega-Lite spec to SVG and PNG. Rejects with the library's message
 * for a spec Vega-Lite cannot compile. Text uses the system's fonts (the PNG
 * shows no text where there are none).
 */
export async function renderChart(spec: VegaLiteSpec, opts: RenderOptions = {}): Promise<Chart> {
  const svg = await renderSvg(spec);
  if (opts.png === false) return { svg, png: Buffer.alloc(0) };
  const { Resvg } = libs.resvg();
  const scale = opts.scale ?? 2;
  const png = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  }).render().asPng();
  return { svg, png };
}

/** Loads the charting libraries now (e.g. while other work runs), so a later render starts at once. */
export async function preload(): Promise<void> {
  // One at a time, yielding in between, so what runs beside the loading is not held up for its whole length.
  for (const load of [libs.vega, libs.vl, libs.resvg]) {
    await new Promise((res) => setImmediate(res));
    load();
  }
}

/** Renders a Vega-Lite spec to an SVG document. */
export async function renderSvg(spec: VegaLiteSpec): Promise<string> {
  const [vega, vl] = [libs.vega(), libs.vl()];
  const compiled = vl.compile(spec as unknown as Parameters<typeof vl.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One point of a line chart: x, y and an optional series name. */
export interface XYPoint {
  readonly x: number | string;
  readonly y: number;
  readonly series?: string;
}

/**
 * A Vega-Lite spec of `y` against `x` (points joined by lines, one colour per
 * series when points name one): the chart of a sweep or a training curve.
 */
export function lineSpec(title: string, xTitle: string, yTitle: string, points: readonly XYPoint[]): VegaLiteSpec {
  const numeric = points.every((p) => typeof p.x === 'number');
  const series = points.some((p) => p.series !== undefined);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 360,
    height: 220,
    background: 'white',
    data: { values: points.map((p) => ({ x: p.x, y: p.y, ...(p.series !== undefined ? { series: p.series } : {}) })) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: numeric ? 'quantitative' : 'ordinal', title: xTitle, ...(numeric ? { scale: { zero: false } } : {}) },
      y: { field: 'y', type: 'quantitative', title: yTitle, scale: { zero: false } },
      ...(series ? { color: { field: 'series', type: 'nominal', title: null } } : {}),
    },
  };
}
