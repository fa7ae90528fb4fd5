/** Plain-text tables for the experiment commands. */
import type { ParamValue } from '../stage-api.js';

/** Rows padded into columns (two spaces apart, the last column not padded). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n') + '\n';
}

/** A value as a cell: numbers to 4 significant digits, strings bare, the rest JSON; absent "-". */
export function cell(v: ParamValue | undefined): string {
  if (v === undefined) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** "2026-11-26 20:31" from an ISO time. */
export function shortTime(iso: string): string {
  return iso.slice(0, 16).replace('T', ' ');
}
