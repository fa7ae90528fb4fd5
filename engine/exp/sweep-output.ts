/**
 * A sweep's results: the table sorted by the metric (printed), the same rows
 * as CSV and JSON, and a chart of the metric against each swept param (SVG
 * and PNG, Vega-Lite via charts.ts), all in the sweep's folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineSpec, renderChart, type XYPoint } from '../charts.js';
import type { ParamValue } from '../stage-api.js';
import type { SweepAxis } from './sweep-grid.js';
import { cell, table } from './table.js';

/** One row of a sweep's results. */
export interface SweepRow {
  readonly values: readonly ParamValue[];
  /** The sorting metric (undefined: the point failed or did not report it). */
  readonly metric: number | undefined;
  readonly metrics: Readonly<Record<string, number | string>>;
  readonly experiment?: { readonly id: string; readonly name: string };
  readonly ran: readonly string[];
  readonly restored: readonly string[];
  readonly ms: number;
  readonly timing?: Readonly<Record<string, { plan: number; run: number; store: number }>>;
  readonly error?: string;
}

/** Whether a smaller value of `metric` is better (losses and errors). */
export function lowerIsBetter(metric: string): boolean {
  return /loss|error|mse|mae|rmse/i.test(metric);
}

/** Rows best first (failed points last). */
export function sortRows(rows: readonly SweepRow[], metric: string): SweepRow[] {
  const sign = lowerIsBetter(metric) ? 1 : -1;
  return [...rows].sort((a, b) => (a.metric === undefined ? 1 : b.metric === undefined ? -1 : sign * (a.metric - b.metric)));
}

/** The printed table. */
export function formatTable(axes: readonly SweepAxis[], rows: readonly SweepRow[], metric: string): string {
  return table([
    ['#', ...axes.map((a) => a.name), metric, 'experiment', 'ran'],
    ...rows.map((r, i) => [String(i + 1), ...r.values.map((v) => cell(v)), r.metric === undefined ? (r.error ? 'failed' : '-') : cell(r.metric),
      r.experiment ? r.experiment.name : '-', r.error ? r.error : r.ran.join(',') || '-']),
  ]);
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The CSV text: one row per point, best first; every metric of every point as a column. */
export function toCsv(axes: readonly SweepAxis[], rows: readonly SweepRow[], metric: string): string {
  const metricNames = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))].sort();
  const head = [...axes.map((a) => a.name), metric, ...metricNames.filter((m) => m !== metric), 'experiment', 'ran', 'ms'];
  const lines = rows.map((r) => [
    ...r.values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))), r.metric === undefined ? '' : String(r.metric),
    ...metricNames.filter((m) => m !== metric).map((m) => String(r.metrics[m] ?? '')), r.experiment?.id ?? '', r.ran.join(' '), String(Math.round(r.ms)),
  ].map(csvField).join(','));
  return [head.map(csvField).join(','), ...lines].join('\n') + '\n';
}

/**
 * Chart points of `metric` against axis `i`: one series per combination of
 * the other axes when there are at most 8, else the best value over them.
 */
export function chartPoints(axes: readonly SweepAxis[], rows: readonly SweepRow[], i: number, metric: string): XYPoint[] {
  const ok = rows.filter((r) => r.metric !== undefined);
  const others = (r: SweepRow): string => axes.map((a, j) => (j === i ? '' : `${a.name.split('.').pop()}=${cell(r.values[j])}`)).filter(Boolean).join(' ');
  const combos = new Set(ok.map(others));
  const x = (r: SweepRow): number | string => {
    const v = r.values[i];
    return typeof v === 'number' ? v : cell(v);
  };
  if (combos.size <= 8) {
    return ok.map((r) => ({ x: x(r), y: r.metric as number, ...(axes.length > 1 ? { series: others(r) } : {}) }))
      .sort((a, b) => (String(a.series) < String(b.series) ? -1 : String(a.series) > String(b.series) ? 1 : 0));
  }
  const best = new Map<string, { x: number | string; y: number }>();
  const better = lowerIsBetter(metric) ? (a: number, b: number) => a < b : (a: number, b: number) => a > b;
  for (const r of ok) {
    const k = JSON.stringify(x(r));
    const cur = best.get(k);
    if (!cur || better(r.metric as number, cur.y)) best.set(k, { x: x(r), y: r.metric as number });
  }
  return [...best.values()].map((p) => ({ ...p, series: `best over ${axes.filter((_, j) => j !== i).map((a) => a.name).join(', ')}` }));
}

/** Writes sweep.csv, sweep.json and one chart per axis into `dir`; returns the files written. */
export async function writeOutputs(dir: string, axes: readonly SweepAxis[], rows: readonly SweepRow[], metric: string, doc: object): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files = [join(dir, 'sweep.csv'), join(dir, 'sweep.json')];
  writeFileSync(files[0] as string, toCsv(axes, rows, metric));
  writeFileSync(files[1] as string, JSON.stringify(doc, null, 2) + '\n');
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i] as SweepAxis;
    const points = chartPoints(axes, rows, i, metric);
    if (points.length === 0) continue;
    const chart = await renderChart(lineSpec(`${metric} by ${a.name}`, a.name, metric, points));
    const base = join(dir, `${metric.replace(/[^\w.-]/g, '_')}-by-${a.name.replace(/[^\w.-]/g, '_')}`);
    writeFileSync(`${base}.svg`, chart.svg);
    writeFileSync(`${base}.png`, chart.png);
    files.push(`${base}.svg`, `${base}.png`);
  }
  return files;
}
