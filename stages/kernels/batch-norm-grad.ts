/**
 * Fused gradients for training-mode batch normalisation on wasm.
 *
 * tfjs-layers normalises a batch with `tf.moments` (Mean, Sub, Square, Mean)
 * followed by FusedBatchNorm. The stock gradients of those kernels take ~20
 * full-size broadcasting ops per layer (FusedBatchNorm alone ~12: sub, tile,
 * mul, sum for each of x, mean, variance, scale, offset), each a pass over the
 * activation; for the classifier that was ~40 % of a training step. Here:
 *
 * ```
 * FusedBatchNorm grad  -> PipeBatchNormGrad: one JS pass for the per-channel
 *                         sums Σdy, Σdy·(x-mean), one multiply for dx (5 outputs)
 * Mean grad (leading axes reduced) -> PipeBroadcastRows: dx = dy / count
 * ```
 *
 * (Elementwise passes stay in XNNPACK: a JS loop over a tensor is ~4x slower.)
 *
 * Gradients are global in TF.js (not per backend): each override falls back to
 * the stock gradient off wasm and for shapes it does not handle (channels-last,
 * per-channel statistics only), so the cpu backend computes exactly as before.
 */
import type { TfHandle } from '../lib/backend.js';
import { makeCtx, replaceGradient, size } from './wasm-util.js';
import type { Info, KernelArgs } from './wasm-util.js';

type Tf = TfHandle['tf'];
type Tensor = import('@tensorflow/tfjs').Tensor;

/** Kernel names registered by {@link registerBatchNormGrads} (wasm only). */
export const BN_GRAD_KERNELS = ['PipeBatchNormGrad', 'PipeBroadcastRows'] as const;

/**
 * Fills `out` (a whole number of rows of `row.length`) with copies of `row`:
 * one write, then doubling `copyWithin` (native memmove, ~30x a JS loop).
 */
export function fillRows(out: Float32Array, row: Float32Array): void {
  out.set(row.subarray(0, Math.min(row.length, out.length)), 0);
  let len = row.length;
  while (len < out.length) {
    const m = Math.min(len, out.length - len);
    out.copyWithin(len, 0, m);
    len += m;
  }
}

/**
 * Per-channel sums Σ a[i,k] and Σ a[i,k]·(b[i,k] - m[k]) of two [rows, c]
 * arrays with scalar float64 accumulators, four channels per pass over the
 * rows (scalars are 2-3x faster in V8 than accumulating into arrays row by
 * row; four channels at once halve the passes again). Each channel is summed
 * in row order, so the grouping does not change a bit of the result.
 */
function channelSums(a: Float32Array, b: Float32Array, m: Float32Array, c: number, sumA: Float64Array, sumAB: Float64Array): void {
  const n = a.length;
  let k = 0;
  for (; k + 4 <= c; k += 4) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    const m0 = m[k]!, m1 = m[k + 1]!, m2 = m[k + 2]!, m3 = m[k + 3]!;
    for (let i = k; i < n; i += c) {
      const d0 = a[i]!, d1 = a[i + 1]!, d2 = a[i + 2]!, d3 = a[i + 3]!;
      s0 += d0; s1 += d1; s2 += d2; s3 += d3;
      t0 += d0 * (b[i]! - m0);
      t1 += d1 * (b[i + 1]! - m1);
      t2 += d2 * (b[i + 2]! - m2);
      t3 += d3 * (b[i + 3]! - m3);
    }
    sumA[k] = s0; sumA[k + 1] = s1; sumA[k + 2] = s2; sumA[k + 3] = s3;
    sumAB[k] = t0; sumAB[k + 1] = t1; sumAB[k + 2] = t2; sumAB[k + 3] = t3;
  }
  for (; k < c; k++) {
    let s = 0, t = 0;
    const mk = m[k]!;
    for (let i = k; i < n; i += c) {
      const d = a[i]!;
      s += d;
      t += d * (b[i]! - mk);
    }
    sumA[k] = s;
    sumAB[k] = t;
  }
}

/** inputs x, dy, mean, variance, scale? -> [dx, dmean, dvariance, dscale, doffset]; channels last. */
function batchNormGradKernel(tf: Tf) {
  return (args: KernelArgs): Info[] => {
    const { x, dy, mean, variance, scale } = args.inputs as Record<'x' | 'dy' | 'mean' | 'variance', Info> & { scale?: Info };
    const eps = Math.fround(args.attrs?.['varianceEpsilon'] as number);
    const ctx = makeCtx(tf, args.backend);
    const c = size(mean.shape);
    const small = [0, 1, 2, 3].map(() => ctx.alloc(mean.shape.slice()));
    const factor = ctx.alloc(x.shape.slice());
    const [dm, dv, ds, dof] = small.map((t) => ctx.view(t)) as [Float32Array, Float32Array, Float32Array, Float32Array];
    const mv = ctx.view(mean), vv = ctx.view(variance);
    const sv = scale === undefined ? undefined : ctx.view(scale);
    const f = Math.fround;
    const sumDy = new Float64Array(c), sumDyXm = new Float64Array(c);
    channelSums(ctx.view(dy), ctx.view(x), mv, c, sumDy, sumDyXm);
    const mul = new Float32Array(c);
    for (let k = 0; k < c; k++) {
      const inv = f(1 / f(Math.sqrt(f(vv[k]! + eps))));
      const s = sv === undefined ? 1 : sv[k]!;
      mul[k] = f(inv * s);
      dm[k] = f(-f(inv * s) * sumDy[k]!);
      dv[k] = f(f(-0.5 * f(f(inv * inv) * inv)) * f(s * sumDyXm[k]!));
      ds[k] = f(inv * sumDyXm[k]!);
      dof[k] = f(sumDy[k]!);
    }
    // dx = dy * (inv * scale) per channel: XNNPACK's same-shape multiply on a
    // tiled factor beats both a JS loop and the broadcasting multiply.
    fillRows(ctx.view(factor), mul);
    const dx = ctx.run('Multiply', { a: dy, b: factor });
    ctx.free(factor);
    return [dx, ...small];
  };
}

/** inputs dy [C]: output of attrs.shape (last dim C) filled with dy[k] / attrs.count. */
function broadcastRowsKernel(tf: Tf) {
  return (args: KernelArgs): Info => {
    const { dy } = args.inputs as { dy: Info };
    const shape = args.attrs?.['shape'] as number[];
    const count = Math.fround(args.attrs?.['count'] as number);
    const ctx = makeCtx(tf, args.backend);
    const out = ctx.alloc(shape.slice());
    const d = ctx.view(dy);
    const row = new Float32Array(d.length);
    for (let k = 0; k < d.length; k++) row[k] = Math.fround(d[k]! / count);
    fillRows(ctx.view(out), row);
    return out;
  };
}

/** True when `axes` are exactly the leading rank-1 axes (a per-channel reduction). */
function leadingAxes(axes: number[], rank: number): boolean {
  const s = [...axes].sort((a, b) => a - b);
  return rank >= 2 && s.length === rank - 1 && s.every((a, i) => a === i);
}

const onWasm = (tf: Tf, ...ts: Array<Tensor | undefined>) =>
  tf.getBackend() === 'wasm' && ts.every((t) => t === undefined || t.dtype === 'float32');

/**
 * Registers the three kernels on wasm and overrides the gradients of
 * FusedBatchNorm and Mean (falling back to the stock ones).
 * Returns the kernel names; idempotent per process (call once).
 */
export function registerBatchNormGrads(tf: Tf): string[] {
  const stock = (name: string) => {
    const g = tf.getGradient(name);
    if (g === undefined) throw new Error(`no stock gradient for ${name}`);
    return g;
  };
  const bn = stock('FusedBatchNorm'), mean = stock('Mean');
  tf.registerKernel({ kernelName: 'PipeBatchNormGrad', backendName: 'wasm', kernelFunc: batchNormGradKernel(tf) as never });
  tf.registerKernel({ kernelName: 'PipeBroadcastRows', backendName: 'wasm', kernelFunc: broadcastRowsKernel(tf) as never });
  replaceGradient(tf, {
    kernelName: 'FusedBatchNorm',
    inputsToSave: bn.inputsToSave ?? ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy, saved, attrs) => {
      const [x, m, v, s] = saved as [Tensor, Tensor, Tensor, Tensor | undefined];
      const d = dy as Tensor;
      const c = x.shape[x.rank - 1];
      const perChannel = [m, v, s].every((t) => t === undefined || (t.rank === 1 && t.shape[0] === c));
      if (!onWasm(tf, x, d, m, v, s) || !perChannel) return bn.gradFunc(dy, saved, attrs);
      const inputs: Record<string, Tensor> = { x, dy: d, mean: m, variance: v };
      if (s !== undefined) inputs['scale'] = s;
      const [dx, dm, dv, ds, dof] = tf.engine().runKernel('PipeBatchNormGrad', inputs as never, attrs as never) as Tensor[];
      return { x: () => dx!, mean: () => dm!, variance: () => dv!, scale: () => ds!, offset: () => dof! };
    },
  });
  replaceGradient(tf, {
    kernelName: 'Mean',
    inputsToSave: mean.inputsToSave ?? ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [Tensor];
      const d = dy as Tensor;
      const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
      const c = x.shape[x.rank - 1]!;
      if (!onWasm(tf, x, d) || !leadingAxes(axes, x.rank) || d.size !== c) return mean.gradFunc(dy, saved, attrs);
      const count = x.size / c;
      return { x: () => tf.engine().runKernel('PipeBroadcastRows', { dy: d } as never, { shape: x.shape, count } as never) as Tensor };
    },
  });
  return [...BN_GRAD_KERNELS];
}
