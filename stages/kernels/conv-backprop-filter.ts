/**
 * Conv2DBackpropFilter for the wasm backend (tfjs-backend-wasm 4.22 has none, so
 * a conv net cannot train there), as one XNNPACK forward convolution with batch
 * and channels swapped:
 *
 * ```
 *   dW[a,b,ci,co] = Σ_{n,oy,ox} x[n, oy*sh + a - pt, ox*sw + b - pl, ci] · dy[n,oy,ox,co]
 *
 *   x  [N,H,W,Ci]   --transpose-->  [Ci,H,W,N]    (a batch of Ci images with N channels)
 *   dy [N,Ho,Wo,Co] --transpose-->  [Ho,Wo,N,Co]  (the "filter", dilated by the stride)
 *   conv2d(stride 1, dilation s, pad pt/pl before) -> [Ci,kh,kw,Co] --transpose--> dW
 * ```
 *
 * Rows of x past the last one any output reads are cropped (negative padding),
 * in the same copy as the transpose.
 *
 * A 1x1 stride-1 filter (half the convolutions of an inception block) is one
 * matMul instead, 4-8x faster: dW [Ci,Co] = x^T [Ci,P] · dy [P,Co] when
 * Co < Ci, else dW^T [Co,Ci] = dy^T [Co,P] · x [P,Ci] (P = N·H·W): the
 * narrower operand is the one XNNPACK packs. x^T is kept while x lives, for
 * the other 1x1 convolutions reading the same x.
 *
 * Every path sums the same products in the same order as the one XNNPACK
 * convolution or matMul it replaced, so the weights stay bit-identical
 * (`node dist/bench/train-bitcheck.js --ref <checkout>`).
 */
import type { TfHandle } from '../lib/backend.js';
import { makeCtx, reshape } from './wasm-util.js';
import type { Ctx } from './wasm-util.js';
import type { Info, KernelArgs } from './wasm-util.js';

/** Builds the Conv2DBackpropFilter kernel function; `fallback` handles what we do not. */
export function conv2dBackpropFilterKernel(
  tf: TfHandle['tf'],
  fallback: (args: KernelArgs) => Info,
): (args: KernelArgs) => Info {
  return (args) => {
    const { x, dy } = args.inputs as { x: Info; dy: Info };
    const attrs = args.attrs ?? {};
    const filterShape = attrs['filterShape'] as [number, number, number, number];
    const dataFormat = (attrs['dataFormat'] as string | undefined) ?? 'NHWC';
    if (dataFormat !== 'NHWC' || x.dtype !== 'float32' || dy.dtype !== 'float32') return fallback(args);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filterShape, attrs['strides'] as [number, number], 1,
      attrs['pad'] as 'same', attrs['dimRoundingMode'] as 'round' | undefined, false, 'channelsLast');
    if (dy.shape[1] !== info.outHeight || dy.shape[2] !== info.outWidth) return fallback(args);
    const ctx = makeCtx(tf, args.backend);
    const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
    const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
    const pt = info.padInfo.top, pl = info.padInfo.left;
    const dil = (attrs['dilations'] as number[] | number | undefined) ?? 1;
    const dilated = Array.isArray(dil) ? dil.some((d) => d !== 1) : dil !== 1;
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && pt === 0 && pl === 0 && !dilated) return pointwise(ctx, x, dy, n * h * w, ci, co);
    let pb = kh + (info.outHeight - 1) * sh - h - pt;
    let pr = kw + (info.outWidth - 1) * sw - w - pl;
    const xt = cropTranspose(ctx, x, n, h, w, ci, h + Math.min(pb, 0), w + Math.min(pr, 0));
    pb = Math.max(pb, 0);
    pr = Math.max(pr, 0);
    const dyt = batchToRows(ctx, dy, n, info.outHeight * info.outWidth, co);
    const out = ctx.run('Conv2D', { x: xt, filter: dyt }, {
      strides: [1, 1], dilations: [sh, sw], dataFormat: 'NHWC', dimRoundingMode: undefined,
      pad: [[0, 0], [pt, pb], [pl, pr], [0, 0]],
    });
    ctx.free(xt, dyt);
    const dw = ctx.alloc([kh, kw, ci, co]);
    const src = ctx.view(out), dst = ctx.view(dw), taps = kh * kw;
    // [ci,kh,kw,co] -> [kh,kw,ci,co] (tiny: a JS copy costs less than a wasm kernel call).
    for (let c = 0, s = 0; c < ci; c++) {
      for (let k = 0; k < taps; k++) {
        for (let o = 0, d = (k * ci + c) * co; o < co; o++) dst[d + o] = src[s++]!;
      }
    }
    ctx.free(out);
    return dw;
  };
}

/**
 * x [n,h,w,ci] cropped to its first hh rows and ww columns and transposed to
 * [ci,hh,ww,n] in one copy (faster than the wasm Transpose for these shapes,
 * ~2x for batch 8, and the stock Slice of a 4-D tensor would be a JS loop of
 * its own before it). Batch 8 is unrolled.
 */
function cropTranspose(ctx: Ctx, x: Info, n: number, h: number, w: number, ci: number, hh: number, ww: number): Info {
  const out = ctx.alloc([ci, hh, ww, n]);
  const o = ctx.view(out), src = ctx.view(x);
  const bs = h * w * ci;
  let d = 0;
  for (let c = 0; c < ci; c++) {
    for (let y = 0; y < hh; y++) {
      const end = (y * w + ww) * ci + c;
      if (n === 8) {
        for (let s = y * w * ci + c; s < end; s += ci, d += 8) {
          o[d] = src[s]!; o[d + 1] = src[s + bs]!; o[d + 2] = src[s + 2 * bs]!; o[d + 3] = src[s + 3 * bs]!;
          o[d + 4] = src[s + 4 * bs]!; o[d + 5] = src[s + 5 * bs]!; o[d + 6] = src[s + 6 * bs]!; o[d + 7] = src[s + 7 * bs]!;
        }
        continue;
      }
      for (let s0 = y * w * ci + c; s0 < end; s0 += ci) {
        for (let b = 0, s = s0; b < n; b++, s += bs) o[d++] = src[s]!;
      }
    }
  }
  return out;
}

/**
 * dy [n,p,co] (p = Ho·Wo) transposed to [p,n,co] (the convolution's filter
 * [Ho,Wo,N,Co]) in a JS loop, 2 and 4 channels unrolled (several times
 * faster than the wasm Transpose for 2 channels, as fast or faster for more).
 */
function batchToRows(ctx: Ctx, dy: Info, n: number, p: number, co: number): Info {
  const out = ctx.alloc([dy.shape[1]!, dy.shape[2]!, n, co]);
  const o = ctx.view(out), src = ctx.view(dy);
  const bs = p * co;
  let d = 0;
  if (co === 2) {
    for (let s0 = 0; s0 < bs; s0 += 2) {
      for (let b = 0, s = s0; b < n; b++, s += bs, d += 2) { o[d] = src[s]!; o[d + 1] = src[s + 1]!; }
    }
  } else if (co === 4) {
    for (let s0 = 0; s0 < bs; s0 += 4) {
      for (let b = 0, s = s0; b < n; b++, s += bs, d += 4) {
        o[d] = src[s]!; o[d + 1] = src[s + 1]!; o[d + 2] = src[s + 2]!; o[d + 3] = src[s + 3]!;
      }
    }
  } else {
    for (let s0 = 0; s0 < bs; s0 += co) {
      for (let b = 0, s = s0; b < n; b++, s += bs) {
        for (let c = 0; c < co; c++) o[d++] = src[s + c]!;
      }
    }
  }
  return out;
}

/** Most x^T kept per backend (an inception block's three towers need one). */
const MAX_XT = 4;
/** x^T [Ci,P] by x's data id, per backend (see {@link transposedX}). */
const xtCaches = new WeakMap<object, Map<object, Info>>();

/**
 * x [P,Ci] transposed to [Ci,P], reused while x's data lives: the three 1x1
 * towers of an inception block read the same x, so two of its three
 * transposes are saved. The cache holds one reference to each x^T, dropped
 * when x's data is freed (the backend's disposeData is wrapped once) or when
 * more than {@link MAX_XT} are kept (oldest first). Tensor data is never
 * written in place, so a live data id always has the same values.
 */
function transposedX(ctx: Ctx, x: Info, p: number, ci: number): Info {
  const cache = xtCache(ctx.backend);
  const hit = cache.get(x.dataId);
  if (hit !== undefined && hit.shape[0] === ci && hit.shape[1] === p) return hit;
  const x2 = reshape(ctx, x, [p, ci]);
  const xt = ctx.run('Transpose', { x: x2 }, { perm: [1, 0] });
  ctx.free(x2);
  if (hit !== undefined) {
    cache.delete(x.dataId);
    ctx.free(hit);
  }
  cache.set(x.dataId, xt);
  for (const [k, old] of cache) {
    if (cache.size <= MAX_XT) break;
    cache.delete(k);
    ctx.free(old);
  }
  return xt;
}

/** The x^T cache of `backend`, its disposeData wrapped to drop an entry with its x. */
function xtCache(backend: Ctx['backend']): Map<object, Info> {
  let cache = xtCaches.get(backend);
  if (cache !== undefined) return cache;
  const entries = new Map<object, Info>();
  const dispose = backend.disposeData.bind(backend);
  backend.disposeData = (dataId, force) => {
    const freed = dispose(dataId, force);
    const xt = freed ? entries.get(dataId) : undefined;
    if (xt !== undefined) {
      entries.delete(dataId);
      dispose(xt.dataId);
    }
    return freed;
  };
  xtCaches.set(backend, entries);
  return entries;
}

/**
 * dW [1,1,Ci,Co] of a 1x1 stride-1 unpadded convolution over P pixels, as one
 * BatchMatMul whose `b` operand is the narrower of x and dy: XNNPACK packs
 * `b` afresh for every new tensor (~2.5 ms for x [40960,8]), `a` is read in
 * place. Either way each dW element is the same products summed over the P
 * pixels in the same order, so the bits do not depend on the choice.
 */
function pointwise(ctx: Ctx, x: Info, dy: Info, p: number, ci: number, co: number): Info {
  if (co < ci) {
    // dW [Ci,Co] = x^T [Ci,P] · dy [P,Co]: the wider x is transposed (or its x^T reused), the narrower dy packed.
    const xt = transposedX(ctx, x, p, ci);
    const a = reshape(ctx, xt, [1, ci, p]);
    const b = reshape(ctx, dy, [1, p, co]);
    const m = ctx.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
    ctx.free(a, b);
    const out = reshape(ctx, m, [1, 1, ci, co]);
    ctx.free(m);
    return out;
  }
  // dW^T [Co,Ci] = dy^T [Co,P] · x [P,Ci], transposed.
  const dy2 = reshape(ctx, dy, [p, co]);
  const dyt = ctx.run('Transpose', { x: dy2 }, { perm: [1, 0] });
  ctx.free(dy2);
  const a = reshape(ctx, dyt, [1, co, p]);
  const b = reshape(ctx, x, [1, p, ci]);
  ctx.free(dyt);
  const m = ctx.run('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
  ctx.free(a, b);
  const mt = ctx.run('Transpose', { x: m }, { perm: [0, 2, 1] });
  ctx.free(m);
  const out = reshape(ctx, mt, [1, 1, ci, co]);
  ctx.free(mt);
  return out;
}
