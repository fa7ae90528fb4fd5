/**
 * Bilinear upsampling and thresholding of a probability map, straight to the
 * Kaggle runs of the mask, without the upsampled image or mask in memory.
 *
 * The result is exactly `maskRuns(resizeBilinear(src) >= threshold)` (crops.ts,
 * rle.ts), bit for bit, but most output pixels are never computed: an output
 * pixel is a convex combination of the four source pixels of its cell (the
 * cell's top-left source pixel is the same for a block of about
 * (oh/h) x (ow/w) output pixels), so when all four are below the threshold the
 * whole block is out, and when all four reach it the whole block is in. The
 * rounding of the float64 arithmetic cannot leave the cell's range once the
 * value is rounded to float32 (as resizeBilinear stores it): the corners are
 * float32 values, and a value within a few float64 ulps of a float32 rounds to
 * it. Only the blocks of mixed cells (the mask's edges) are computed, pixel by
 * pixel, with the same expression as resizeBilinear.
 */
import type { Run } from './rle.js';

/** Cell classes: every output pixel of the cell below the threshold, mixed, or at/above it. */
const OUT = 0;
const MIXED = 1;
const IN = 2;

/** The taps of one axis, as resizeBilinear computes them (pixel centres aligned, edges clamped). */
interface Taps {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly f: Float32Array | Float64Array;
}

/** Column taps are float32 in resizeBilinear (a Float32Array), row weights float64: kept so here. */
function taps(src: number, dst: number, float32: boolean): Taps {
  const s = src / dst;
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const f = float32 ? new Float32Array(dst) : new Float64Array(dst);
  for (let d = 0; d < dst; d++) {
    let t = (d + 0.5) * s - 0.5;
    if (t < 0) t = 0;
    let a = Math.floor(t);
    if (a > src - 1) a = src - 1;
    i0[d] = a;
    i1[d] = a + 1 < src ? a + 1 : src - 1;
    f[d] = t - a;
  }
  return { i0, i1, f };
}

const tapCache = new Map<string, { cols: Taps; rows: Taps; groups: Int32Array }>();

/** Taps for (h, w) -> (oh, ow), and the output rows grouped by source row: [y0, first, end) triples. */
function geometry(h: number, w: number, oh: number, ow: number): { cols: Taps; rows: Taps; groups: Int32Array } {
  const key = `${h}x${w}>${oh}x${ow}`;
  let g = tapCache.get(key);
  if (g === undefined) {
    const rows = taps(h, oh, false);
    const cols = taps(w, ow, true);
    // Source row y0 never decreases with the output row: contiguous groups.
    const triples: number[] = [];
    for (let y = 0; y < oh; ) {
      const y0 = rows.i0[y]!;
      let e = y + 1;
      while (e < oh && rows.i0[e] === y0) e++;
      triples.push(y0, y, e);
      y = e;
    }
    g = { cols, rows, groups: Int32Array.from(triples) };
    tapCache.set(key, g);
  }
  return g;
}

/**
 * Runs (column-major, 0-based starts, as maskRuns) of the `h x w` map `src`
 * upsampled bilinearly to `oh x ow` and thresholded (`>= threshold`).
 */
export function upsampleThresholdRuns(src: Float32Array, h: number, w: number, oh: number, ow: number, threshold: number): Run[] {
  if (src.length !== h * w) throw new Error(`map has ${src.length} values, expected ${h}x${w} = ${h * w}`);
  const { cols, rows, groups } = geometry(h, w, oh, ow);
  // Class of each cell (source pixel y0, x0 with its right and lower neighbours, clamped).
  const cls = new Uint8Array(h * w);
  let anyIn = false;
  for (let y = 0; y < h; y++) {
    const r0 = y * w;
    const r1 = (y + 1 < h ? y + 1 : h - 1) * w;
    for (let x = 0; x < w; x++) {
      const x1 = x + 1 < w ? x + 1 : w - 1;
      const a = src[r0 + x]!;
      const b = src[r0 + x1]!;
      const c = src[r1 + x]!;
      const d = src[r1 + x1]!;
      const lo = Math.min(a, b, c, d);
      const hi = Math.max(a, b, c, d);
      const k = hi < threshold ? OUT : lo >= threshold ? IN : MIXED;
      cls[r0 + x] = k;
      if (k !== OUT) anyIn = true;
    }
  }
  const runs: Run[] = [];
  if (!anyIn) return runs;
  const wy = rows.f;
  const y1s = rows.i1;
  let runStart = -1;
  for (let x = 0; x < ow; x++) {
    const x0 = cols.i0[x]!;
    const x1 = cols.i1[x]!;
    const wx = cols.f[x]!;
    const base = x * oh;
    for (let g = 0; g < groups.length; g += 3) {
      const y0 = groups[g]!;
      const first = groups[g + 1]!;
      const end = groups[g + 2]!;
      const k = cls[y0 * w + x0]!;
      if (k === OUT) {
        if (runStart >= 0) {
          runs.push({ start: runStart, length: base + first - runStart });
          runStart = -1;
        }
      } else if (k === IN) {
        if (runStart < 0) runStart = base + first;
      } else {
        // The same expression as resizeBilinear, rounded to float32 as it stores it
        // (the rows of a group share y0, hence y1: top and bot are the same for all).
        const r0 = y0 * w;
        const r1 = y1s[first]! * w;
        const top = src[r0 + x0]! * (1 - wx) + src[r0 + x1]! * wx;
        const bot = src[r1 + x0]! * (1 - wx) + src[r1 + x1]! * wx;
        for (let y = first; y < end; y++) {
          const v = wy[y]!;
          const on = Math.fround(top * (1 - v) + bot * v) >= threshold;
          if (on) {
            if (runStart < 0) runStart = base + y;
          } else if (runStart >= 0) {
            runs.push({ start: runStart, length: base + y - runStart });
            runStart = -1;
          }
        }
      }
    }
  }
  if (runStart >= 0) runs.push({ start: runStart, length: oh * ow - runStart });
  return runs;
}
