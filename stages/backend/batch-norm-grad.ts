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
 * FusedBatchNorm grad  -> PipeBatchNormGrad: one pass for the per-channel sums
 *                         Σdy, Σdy·(x-mean), one pass writing dx   (5 outputs)
 * Mean grad (leading axes reduced) -> PipeBroadcastRows: dx = dy / count
 * Square grad          -> PipeSquareGrad: dx = dy · (2x)
 * ```
 *
 * Gradients are global in TF.js (not per backend): each override falls back to
 * the stock gradient off wasm and for shapes it does not handle (channels-last,
 * per-channel statistics only), so the cpu backend computes exactly as before.
 */
import type { TfHandle } from '../backend.js';
import { makeCtx, size } from './wasm-util.js';
import type { Info, KernelArgs } from './wasm-util.js';

type Tf = TfHandle['tf'];
type Tensor = import('@tensorflow/tfjs').Tensor;

/** Kernel names registered by {@link registerBatchNormGrads} (wasm only). */
export const BN_GRAD_KERNELS = ['PipeBatchNormGrad', 'PipeBroadcastRows', 'PipeSquareGrad'] as const;

/** inputs x, dy, mean, variance, scale? -> [dx, dmean, dvariance, dscale, doffset]; channels last. */
function batchNormGradKernel(tf: Tf) {
  return (args: KernelArgs): Info[] => {
    const { x, dy, mean, variance, scale } = args.inputs as Record<'x' | 'dy' | 'mean' | 'variance', Info> & { scale?: Info };
    const eps = Math.fround(args.attrs?.['varianceEpsilon'] as number);
    const ctx = makeCtx(tf, args.backend);
    const c = size(mean.shape);
    const outs = [ctx.alloc(x.shape.slice()), ...[0, 1, 2, 3].map(() => ctx.alloc(mean.shape.slice()))];
    const [dx, dm, dv, ds, dof] = outs.map((t) => ctx.view(t)) as Float32Array[] as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    const xv = ctx.view(x), g = ctx.view(dy), mv = ctx.view(mean), vv = ctx.view(variance);
    const sv = scale === undefined ? undefined : ctx.view(scale);
    const f = Math.fround;
    const sumDy = new Float64Array(c), sumDyXm = new Float64Array(c);
    const n = xv.length;
    for (let i = 0; i < n; i += c) {
      for (let k = 0; k < c; k++) {
        const d = g[i + k]!;
        sumDy[k] = sumDy[k]! + d;
        sumDyXm[k] = sumDyXm[k]! + d * f(xv[i + k]! - mv[k]!);
      }
    }
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
    for (let i = 0; i < n; i += c) {
      for (let k = 0; k < c; k++) dx[i + k] = f(g[i + k]! * mul[k]!);
    }
    return outs;
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
    const o = ctx.view(out), d = ctx.view(dy);
    const c = d.length;
    const row = new Float32Array(c);
    for (let k = 0; k < c; k++) row[k] = Math.fround(d[k]! / count);
    for (let i = 0; i < o.length; i += c) o.set(row, i);
    return out;
  };
}

/** inputs x, dy (same shape): dy * (2x), rounded like the stock mul(dy, mul(x, 2)). */
function squareGradKernel(tf: Tf) {
  return (args: KernelArgs): Info => {
    const { x, dy } = args.inputs as Record<'x' | 'dy', Info>;
    const ctx = makeCtx(tf, args.backend);
    const out = ctx.alloc(x.shape.slice());
    const o = ctx.view(out), xv = ctx.view(x), d = ctx.view(dy);
    for (let i = 0; i < o.length; i++) o[i] = Math.fround(d[i]! * (xv[i]! * 2));
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
 * FusedBatchNorm, Mean and Square (falling back to the stock ones).
 * Returns the kernel names; idempotent per process (call once).
 */
export function registerBatchNormGrads(tf: Tf): string[] {
  const stock = (name: string) => {
    const g = tf.getGradient(name);
    if (g === undefined) throw new Error(`no stock gradient for ${name}`);
    return g;
  };
  const bn = stock('FusedBatchNorm'), mean = stock('Mean'), square = stock('Square');
  tf.registerKernel({ kernelName: 'PipeBatchNormGrad', backendName: 'wasm', kernelFunc: batchNormGradKernel(tf) as never });
  tf.registerKernel({ kernelName: 'PipeBroadcastRows', backendName: 'wasm', kernelFunc: broadcastRowsKernel(tf) as never });
  tf.registerKernel({ kernelName: 'PipeSquareGrad', backendName: 'wasm', kernelFunc: squareGradKernel(tf) as never });
  const quiet = <T>(f: () => T): T => {
    // registerGradient warns when it replaces a gradient: that is the point here.
    const warn = console.warn;
    console.warn = () => {};
    try { return f(); } finally { console.warn = warn; }
  };
  quiet(() => tf.registerGradient({
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
  }));
  quiet(() => tf.registerGradient({
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
  }));
  quiet(() => tf.registerGradient({
    kernelName: 'Square',
    inputsToSave: square.inputsToSave ?? ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [Tensor];
      const d = dy as Tensor;
      if (!onWasm(tf, x, d) || !tf.util.arraysEqual(x.shape, d.shape)) return square.gradFunc(dy, saved, attrs);
      return { x: () => tf.engine().runKernel('PipeSquareGrad', { x, dy: d } as never) as Tensor };
    },
  }));
  return [...BN_GRAD_KERNELS];
}
