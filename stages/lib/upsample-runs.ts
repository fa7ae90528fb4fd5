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
import { bilinearTaps, type Taps } from './crops.js';
import type { Run } from './rle.js';

/** Cell classes: every output pixel of the cell below the threshold, mixed, or at/above it. */
const OUT = 0;
const MIXED = 1;
const IN = 2;

const tapCache = new Map<string, { cols: Taps; rows: Taps; firstOf: Int32Array }>();

/**
 * Taps for (h, w) -> (oh, ow), and where each source row's output rows begin:
 * the output rows whose top source row is y0 are [firstOf[y0], firstOf[y0 + 1])
 * (the top source row never decreases down the output; empty when shrinking).
 */
function geometry(h: number, w: number, oh: number, ow: number): { cols: Taps; rows: Taps; firstOf: Int32Array } {
  const key = `${h}x${w}>${oh}x${ow}`;
  let g = tapCache.get(key);
  if (g === undefined) {
    const rows = bilinearTaps(h, oh, false);
    const cols = bilinearTaps(w, ow, true);
    const firstOf = new Int32Array(h + 1);
    for (let y0 = 0, y = 0; y0 <= h; y0++) {
      while (y < oh && rows.i0[y]! < y0) y++;
      firstOf[y0] = y;
    }
    g = { cols, rows, firstOf };
    tapCache.set(key, g);
  }
  return g;
}

/** Reused between calls: a fresh typed array per map costs more in garbage collection than the work. */
const scratch = { seg: new Int32Array(0), segAt: new Int32Array(0), above: new Uint8Array(0) };

/**
 * Runs (column-major, 0-based starts, as maskRuns) of the `h x w` map `src`
 * upsampled bilinearly to `oh x ow` and thresholded (`>= threshold`).
 */
export function upsampleThresholdRuns(src: Float32Array, h: number, w: number, oh: number, ow: number, threshold: number): Run[] {
  if (src.length !== h * w) throw new Error(`map has ${src.length} values, expected ${h}x${w} = ${h * w}`);
  const { cols, rows, firstOf } = geometry(h, w, oh, ow);
  // Each source column's cells (y0, x0 with the right and lower neighbours, clamped) in
  // segments of one class down the column: [class, y0 begin, y0 end] triples from segAt[x0].
  if (scratch.seg.length < 3 * h * w) scratch.seg = new Int32Array(3 * h * w);
  if (scratch.segAt.length < w + 1) scratch.segAt = new Int32Array(w + 1);
  if (scratch.above.length < h * w) scratch.above = new Uint8Array(h * w);
  const { seg, segAt, above } = scratch;
  const runs: Run[] = [];
  // Which source pixels reach the threshold (none: an empty mask, bilinear never exceeds its inputs).
  let any = 0;
  for (let i = 0; i < h * w; i++) any |= above[i] = src[i]! >= threshold ? 1 : 0;
  if (any === 0) return runs;
  let n = 0;
  for (let x = 0; x < w; x++) {
    segAt[x] = n;
    const x1 = x + 1 < w ? x + 1 : w - 1;
    let prev = -1;
    for (let y = 0; y < h; y++) {
      const r0 = y * w;
      const r1 = (y + 1 < h ? y + 1 : h - 1) * w;
      // All four corners below (NaN counts as below: its pixels are never set), all at or above, or mixed.
      const count = above[r0 + x]! + above[r0 + x1]! + above[r1 + x]! + above[r1 + x1]!;
      const k = count === 0 ? OUT : count === 4 ? IN : MIXED;
      if (k === prev) seg[n - 1] = y + 1;
      else {
        seg[n++] = k;
        seg[n++] = y;
        seg[n++] = y + 1;
        prev = k;
      }
    }
  }
  segAt[w] = n;
  const wy = rows.f;
  const y1s = rows.i1;
  let runStart = -1;
  for (let x = 0; x < ow; x++) {
    const x0 = cols.i0[x]!;
    const x1 = cols.i1[x]!;
    const wx = cols.f[x]!;
    const base = x * oh;
    for (let s = segAt[x0]!, end = segAt[x0 + 1]!; s < end; s += 3) {
      const k = seg[s]!;
      const first = firstOf[seg[s + 1]!]!;
      const last = firstOf[seg[s + 2]!]!;
      if (first === last) continue; // no output rows (shrinking)
      if (k === OUT) {
        if (runStart >= 0) {
          runs.push({ start: runStart, length: base + first - runStart });
          runStart = -1;
        }
      } else if (k === IN) {
        if (runStart < 0) runStart = base + first;
      } else {
        for (let y0 = seg[s + 1]!, y0End = seg[s + 2]!; y0 < y0End; y0++) {
          const from = firstOf[y0]!;
          const to = firstOf[y0 + 1]!;
          if (from === to) continue;
          // The same expression as resizeBilinear, rounded to float32 as it stores it
          // (the rows from one y0 share y1: top and bot are the same for all of them).
          const r0 = y0 * w;
          const r1 = y1s[from]! * w;
          const top = src[r0 + x0]! * (1 - wx) + src[r0 + x1]! * wx;
          const bot = src[r1 + x0]! * (1 - wx) + src[r1 + x1]! * wx;
          for (let y = from; y < to; y++) {
            const v = wy[y]!;
            if (Math.fround(top * (1 - v) + bot * v) >= threshold) {
              if (runStart < 0) runStart = base + y;
            } else if (runStart >= 0) {
              runs.push({ start: runStart, length: base + y - runStart });
              runStart = -1;
            }
          }
        }
      }
    }
  }
  if (runStart >= 0) runs.push({ start: runStart, length: oh * ow - runStart });
  return runs;
}
