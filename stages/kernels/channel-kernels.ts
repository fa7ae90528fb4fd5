/**
 * Per-channel broadcasting and reductions on wasm, the shapes batch norm and
 * biases produce everywhere ([N,H,W,C] with a [C] vector):
 *
 * ```
 * Add/Sub/Multiply/RealDiv(t [..., C], v [C] or [1,..,1,C])  (either order)
 *    stock: XNNPACK's broadcasting path, ~3x its same-shape path
 *    ours:  tile v to t's shape with doubling copyWithin, same-shape kernel
 * Sum/Mean(t [..., C], every axis but the last)
 *    stock: ~2.5 ms per million elements
 *    ours:  JS loop, up to eight channels per pass, float64 accumulators, ~0.5 ms
 * ```
 *
 * Small tensors (< {@link MIN_ELEMENTS}) and anything else go to the stock kernel.
 */
import type { TfHandle } from '../lib/backend.js';
import { fillRows } from './batch-norm-grad.js';
import { makeCtx, size } from './wasm-util.js';
import type { Info, KernelArgs } from './wasm-util.js';

type Kernel = (args: KernelArgs) => Info;

/** Below this many elements the stock kernels' fixed costs are lower. */
export const MIN_ELEMENTS = 8192;

/** True when `v` is a per-channel vector of `t` ([C] or [1, ..., 1, C]). */
function isChannelVector(v: Info, t: Info): boolean {
  const c = t.shape[t.shape.length - 1];
  return t.shape.length >= 2 && v.shape.length <= t.shape.length && v.shape[v.shape.length - 1] === c &&
    size(v.shape) === c && size(t.shape) >= MIN_ELEMENTS;
}

/** Binary elementwise kernel `name` with per-channel operands tiled first. */
export function channelBinaryKernel(tf: TfHandle['tf'], stock: Kernel): Kernel {
  return (args) => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock(args);
    const bSmall = isChannelVector(b, a), aSmall = !bSmall && isChannelVector(a, b);
    if (!bSmall && !aSmall) return stock(args);
    const ctx = makeCtx(tf, args.backend);
    const [big, small] = bSmall ? [a, b] : [b, a];
    const tiled = ctx.alloc(big.shape.slice());
    fillRows(ctx.view(tiled), ctx.view(small));
    const out = stock({ ...args, inputs: bSmall ? { a, b: tiled } : { a: tiled, b } });
    ctx.free(tiled);
    return out;
  };
}

/** Sum (mean = false) or Mean over every axis but the last. */
export function channelReduceKernel(tf: TfHandle['tf'], stock: Kernel, mean: boolean): Kernel {
  return (args) => {
    const { x } = args.inputs as { x: Info };
    const rank = x.shape.length;
    if (x.dtype !== 'float32' || rank < 2 || size(x.shape) < MIN_ELEMENTS) return stock(args);
    const axes = tf.util.parseAxisParam(args.attrs?.['axis'] as number | number[], x.shape).slice().sort((p, q) => p - q);
    if (axes.length !== rank - 1 || axes.some((v, i) => v !== i)) return stock(args);
    const c = x.shape[rank - 1]!;
    const keepDims = args.attrs?.['keepDims'] === true;
    const ctx = makeCtx(tf, args.backend);
    const out = ctx.alloc(keepDims ? [...axes.map(() => 1), c] : [c]);
    const xv = ctx.view(x), o = ctx.view(out);
    const n = xv.length, count = n / c;
    const sums = new Float64Array(c);
    channelSum(xv, c, sums);
    for (let k = 0; k < c; k++) o[k] = mean ? Math.fround(Math.fround(sums[k]!) / count) : sums[k]!;
    return out;
  };
}

/**
 * Per-channel sums of a [rows, c] array, each channel accumulated in row
 * order in a float64 scalar; eight, four, two, then one channel per pass
 * over the rows (fewer passes and more independent adds than one channel at
 * a time, same result bit for bit; the two-channel pass is for the 2-channel
 * tower outputs of the default U-Net's first level).
 */
export function channelSum(x: Float32Array, c: number, out: Float64Array): void {
  const n = x.length;
  let k = 0;
  for (; k + 8 <= c; k += 8) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (let i = k; i < n; i += c) {
      s0 += x[i]!;
      s1 += x[i + 1]!;
      s2 += x[i + 2]!;
      s3 += x[i + 3]!;
      s4 += x[i + 4]!;
      s5 += x[i + 5]!;
      s6 += x[i + 6]!;
      s7 += x[i + 7]!;
    }
    out[k] = s0; out[k + 1] = s1; out[k + 2] = s2; out[k + 3] = s3;
    out[k + 4] = s4; out[k + 5] = s5; out[k + 6] = s6; out[k + 7] = s7;
  }
  for (; k + 4 <= c; k += 4) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let i = k; i < n; i += c) {
      s0 += x[i]!;
      s1 += x[i + 1]!;
      s2 += x[i + 2]!;
      s3 += x[i + 3]!;
    }
    out[k] = s0; out[k + 1] = s1; out[k + 2] = s2; out[k + 3] = s3;
  }
  for (; k + 2 <= c; k += 2) {
    let s0 = 0, s1 = 0;
    for (let i = k; i < n; i += c) {
      s0 += x[i]!;
      s1 += x[i + 1]!;
    }
    out[k] = s0; out[k + 1] = s1;
  }
  for (; k < c; k++) {
    let s = 0;
    for (let i = k; i < n; i += c) s += x[i]!;
    out[k] = s;
  }
}
