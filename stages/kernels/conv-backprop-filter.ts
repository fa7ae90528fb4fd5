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
 * matMul instead, 4-8x faster: dW^T [Co,Ci] = dy^T [Co,P] · x [P,Ci] (P = N·H·W,
 * only the small dy transposed).
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
    let xt: Info;
    if (pb < 0 || pr < 0) {
      xt = cropTranspose(ctx, x, n, h, w, ci, h + Math.min(pb, 0), w + Math.min(pr, 0));
      pb = Math.max(pb, 0);
      pr = Math.max(pr, 0);
    } else {
      xt = ctx.run('Transpose', { x }, { perm: [3, 1, 2, 0] });
    }
    const dyt = ctx.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
    const out = ctx.run('Conv2D', { x: xt, filter: dyt }, {
      strides: [1, 1], dilations: [sh, sw], dataFormat: 'NHWC', dimRoundingMode: undefined,
      pad: [[0, 0], [pt, pb], [pl, pr], [0, 0]],
    });
    ctx.free(xt, dyt);
    const dw = ctx.run('Transpose', { x: out }, { perm: [1, 2, 0, 3] });
    ctx.free(out);
    return dw;
  };
}

/**
 * x [n,h,w,ci] cropped to its first hh rows and ww columns and transposed to
 * [ci,hh,ww,n] in one copy (the stock Slice of a 4-D tensor is a JS loop of
 * its own, followed by a wasm Transpose).
 */
function cropTranspose(ctx: Ctx, x: Info, n: number, h: number, w: number, ci: number, hh: number, ww: number): Info {
  const out = ctx.alloc([ci, hh, ww, n]);
  const o = ctx.view(out), src = ctx.view(x);
  for (let c = 0; c < ci; c++) {
    for (let y = 0; y < hh; y++) {
      for (let xx = 0; xx < ww; xx++) {
        const d = ((c * hh + y) * ww + xx) * n;
        let s = (y * w + xx) * ci + c;
        for (let b = 0; b < n; b++, s += h * w * ci) o[d + b] = src[s]!;
      }
    }
  }
  return out;
}

/** dW [1,1,Ci,Co] of a 1x1 stride-1 unpadded convolution over P pixels. */
function pointwise(ctx: Ctx, x: Info, dy: Info, p: number, ci: number, co: number): Info {
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
