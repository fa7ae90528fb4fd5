/**
 * Sweep specs and their grid. `NAME=lo:hi:step` is a numeric range (hi
 * included when a step lands on it), `NAME=v1,v2,...` a list of YAML values,
 * `NAME=v` one value. The grid is every combination, first spec outermost;
 * `--random N` picks N distinct points of it with a fixed seed, so the same
 * command picks the same points.
 */
import { parse as parseYaml } from 'yaml';
import { hashBytes } from '../../cache/digest.js';
import type { Override } from '../config.js';
import { makeRng } from '../prng.js';
import type { ParamValue } from '../stage-api.js';

/** One swept param and its values. */
export interface SweepAxis {
  readonly name: string;
  readonly values: readonly ParamValue[];
}

function yamlValue(text: string): ParamValue {
  try {
    return (parseYaml(text) ?? null) as ParamValue;
  } catch {
    return text;
  }
}

/** Decimal places of a number as written ("0.05" -> 2). */
function decimals(s: string): number {
  const m = /\.(\d+)$/.exec(s.trim());
  return m?.[1]?.length ?? 0;
}

/** Parses one spec; a message when it is malformed. */
export function parseAxis(spec: string): SweepAxis | { error: string } {
  const eq = spec.indexOf('=');
  const name = spec.slice(0, eq);
  const body = spec.slice(eq + 1);
  if (eq <= 0 || body === '' || name.split('.').some((p) => p === '')) return { error: `sweep ${spec}: expected NAME=lo:hi:step or NAME=v1,v2,...` };
  const range = /^\s*(-?[\d.]+(?:e-?\d+)?)\s*:\s*(-?[\d.]+(?:e-?\d+)?)\s*:\s*([\d.]+(?:e-?\d+)?)\s*$/i.exec(body);
  if (range) {
    const [lo, hi, step] = [Number(range[1]), Number(range[2]), Number(range[3])];
    if (![lo, hi, step].every(Number.isFinite) || step <= 0 || hi < lo) return { error: `sweep ${spec}: a range needs lo <= hi and a step > 0` };
    const places = Math.max(decimals(range[1] ?? ''), decimals(range[2] ?? ''), decimals(range[3] ?? ''));
    const n = Math.floor((hi - lo) / step + 1e-9) + 1;
    if (n > 100_000) return { error: `sweep ${spec}: ${n} values is too many` };
    return { name, values: Array.from({ length: n }, (_, i) => Number((lo + i * step).toFixed(places))) };
  }
  if (body.includes(':') && /^[\d.:\s-]+$/.test(body)) return { error: `sweep ${spec}: a range is lo:hi:step` };
  return { name, values: body.split(',').map((v) => yamlValue(v.trim())) };
}

/** Every combination of the axes' values, first axis outermost. */
export function grid(axes: readonly SweepAxis[]): ParamValue[][] {
  let points: ParamValue[][] = [[]];
  for (const a of axes) points = points.flatMap((p) => a.values.map((v) => [...p, v]));
  return points;
}

/** `n` distinct points of `points`, chosen by a PRNG seeded from `seedText` (all of them when n >= length). */
export function sample<T>(points: readonly T[], n: number, seedText: string): T[] {
  if (n >= points.length) return [...points];
  const { next } = makeRng(parseInt(hashBytes(seedText).slice(7, 15), 16) >>> 0);
  const idx = points.map((_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(next() * (idx.length - i));
    [idx[i], idx[j]] = [idx[j] as number, idx[i] as number];
  }
  return idx.slice(0, n).sort((a, b) => a - b).map((i) => points[i] as T);
}

/** The overrides of one point. */
export function pointOverrides(axes: readonly SweepAxis[], values: readonly ParamValue[]): Override[] {
  return axes.map((a, i) => ({ path: a.name.split('.'), value: values[i] as ParamValue, text: `${a.name}=${JSON.stringify(values[i])}` }));
}
