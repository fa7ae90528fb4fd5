/**
 * MaxPoolGrad for the wasm backend in typed-array JS, with the cpu backend's
 * rule: each output's dy goes to the first (row-major) window position whose
 * input equals the pooled maximum (the forward output, an input of this
 * kernel), channels innermost. Interior windows of the 3x3 stride-1 'same'
 * pools of the inception blocks and every window of a 2x2/2 pool take
 * branch-free paths (a bit mask of the positions equal to the maximum, its
 * lowest set bit picks the position): on real activations the early-exit
 * scan mispredicts about once per output and was ~2x slower. Borders and
 * every other geometry scan a per-window offset list with an early exit.
 * The stock kernel is several times slower. A window whose maximum is NaN
 * (never equal to itself) sends no gradient.
 */
import type { TfHandle } from '../lib/backend.js';
import { makeCtx } from './wasm-util.js';
import type { Info, KernelArgs } from './wasm-util.js';

let offs = new Int32Array(9);

/** Builds the MaxPoolGrad kernel; `stock` handles non-float inputs. */
export function maxPoolGradKernel(tf: TfHandle['tf'], stock: (args: KernelArgs) => Info): (args: KernelArgs) => Info {
  return (args) => {
    const { dy, input, output } = args.inputs as { dy: Info; input: Info; output: Info };
    const a = args.attrs ?? {};
    if (dy.dtype !== 'float32' || input.dtype !== 'float32' || input.shape.length !== 4) return stock(args);
    const info = tf.backend_util.computePool2DInfo(
      input.shape as [number, number, number, number], a['filterSize'] as [number, number],
      a['strides'] as [number, number], 1, a['pad'] as 'same', a['dimRoundingMode'] as 'round' | undefined);
    const ctx = makeCtx(tf, args.backend);
    const out = ctx.alloc(input.shape.slice());
    const dx = ctx.view(out);
    maxPoolBackprop(ctx.view(input), ctx.view(output), ctx.view(dy), dx, info);
    return out;
  };
}

/** Geometry of a 2-D pool (the fields of tf's Conv2DInfo used here). */
interface PoolGeom {
  batchSize: number; inHeight: number; inWidth: number; inChannels: number; outHeight: number; outWidth: number;
  filterHeight: number; filterWidth: number; strideHeight: number; strideWidth: number;
  padInfo: { top: number; left: number };
}

/** Writes dx (every element) from x, y = maxPool(x) and dy with the first-maximum rule. */
function maxPoolBackprop(x: Float32Array, y: Float32Array, g: Float32Array, dx: Float32Array, info: PoolGeom): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top, pl = info.padInfo.left;
  if (offs.length < kh * kw) offs = new Int32Array(kh * kw);
  const off = offs;
  // Same-size output, so output (oy, ox) and input (oy, ox) share offsets.
  const fast = kh === 3 && kw === 3 && sh === 1 && sw === 1 && pt === 1 && pl === 1 && ho === h && wo === w;
  const rs = w * c;
  dx.fill(0);
  if (kh === 2 && kw === 2 && sh === 2 && sw === 2 && pt === 0 && pl === 0 && 2 * ho <= h && 2 * wo <= w) {
    pool2x2(x, y, g, dx, info);
    return;
  }
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < ho; oy++) {
      const y0 = Math.max(0, oy * sh - pt), y1 = Math.min(h, oy * sh - pt + kh);
      const rowStart = ((b * ho + oy) * wo) * c;
      if (fast && oy > 0 && oy < h - 1 && w > 2) {
        // Interior of a row of a 3x3/1 pool with pad 1: input pixel (oy, ox) is the window centre.
        interior3x3(x, y, g, dx, rowStart + c, rowStart + (w - 1) * c, rs, c);
        edgeWindow(x, y, g, dx, info, off, b, oy, 0, y0, y1, c);
        edgeWindow(x, y, g, dx, info, off, b, oy, w - 1, y0, y1, c);
        continue;
      }
      for (let ox = 0; ox < wo; ox++) edgeWindow(x, y, g, dx, info, off, b, oy, ox, y0, y1, c);
    }
  }
}

/**
 * Outputs [from, to) (flat offsets, whole pixels) of a 3x3/1 interior row.
 * Branch-free choice of the first maximum: a 9-bit mask of the window
 * positions equal to the maximum (booleans as 0/1), whose lowest set bit
 * picks the position. An early-exit scan mispredicts about once per output
 * on real activations and was ~2x slower.
 */
function interior3x3(x: Float32Array, y: Float32Array, g: Float32Array, dx: Float32Array, from: number, to: number, rs: number, c: number): void {
  const d0 = -rs - c, d1 = -rs, d2 = -rs + c, d3 = -c, d5 = c, d6 = rs - c, d7 = rs, d8 = rs + c;
  const pick = pick3x3;
  pick[0] = d0; pick[1] = d1; pick[2] = d2; pick[3] = d3; pick[4] = 0; pick[5] = d5; pick[6] = d6; pick[7] = d7; pick[8] = d8;
  for (let o = from; o < to; o++) {
    const m = y[o]!;
    const mask = +(x[o + d0]! === m) | (+(x[o + d1]! === m) << 1) | (+(x[o + d2]! === m) << 2) |
      (+(x[o + d3]! === m) << 3) | (+(x[o]! === m) << 4) | (+(x[o + d5]! === m) << 5) |
      (+(x[o + d6]! === m) << 6) | (+(x[o + d7]! === m) << 7) | (+(x[o + d8]! === m) << 8);
    if (mask === 0) continue;
    const p = o + pick[31 - Math.clz32(mask & -mask)]!;
    dx[p] = dx[p]! + g[o]!;
  }
}

/**
 * A 2x2/2 pool without padding whose windows all fit (every output): the
 * same branch-free first-maximum choice over four positions.
 */
function pool2x2(x: Float32Array, y: Float32Array, g: Float32Array, dx: Float32Array, info: PoolGeom): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: ho, outWidth: wo } = info;
  const rs = w * c;
  const pick = pick3x3;
  pick[0] = 0; pick[1] = c; pick[2] = rs; pick[3] = rs + c;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < ho; oy++) {
      let o = ((b * ho + oy) * wo) * c;
      const rowIn = ((b * h + 2 * oy) * w) * c;
      for (let ox = 0; ox < wo; ox++) {
        const i0 = rowIn + 2 * ox * c;
        for (let ch = 0; ch < c; ch++, o++) {
          const m = y[o]!, i = i0 + ch;
          const mask = +(x[i]! === m) | (+(x[i + c]! === m) << 1) | (+(x[i + rs]! === m) << 2) | (+(x[i + rs + c]! === m) << 3);
          if (mask === 0) continue;
          const p = i + pick[31 - Math.clz32(mask & -mask)]!;
          dx[p] = dx[p]! + g[o]!;
        }
      }
    }
  }
}

const pick3x3 = new Int32Array(32);

/** One output pixel (all channels) of any geometry, from its window's offset list. */
function edgeWindow(
  x: Float32Array, y: Float32Array, g: Float32Array, dx: Float32Array, info: PoolGeom, off: Int32Array,
  b: number, oy: number, ox: number, y0: number, y1: number, c: number,
): void {
  const { inHeight: h, inWidth: w, outHeight: ho, outWidth: wo, filterWidth: kw, strideWidth: sw } = info;
  const pl = info.padInfo.left;
  const o = ((b * ho + oy) * wo + ox) * c;
  const x0 = Math.max(0, ox * sw - pl), x1 = Math.min(w, ox * sw - pl + kw);
  let k = 0;
  for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) off[k++] = ((b * h + yy) * w + xx) * c;
  for (let ch = 0; ch < c; ch++) {
    const m = y[o + ch]!;
    for (let j = 0; j < k; j++) {
      const p = off[j]! + ch;
      if (x[p] === m) { dx[p] = dx[p]! + g[o + ch]!; break; }
    }
  }
}
