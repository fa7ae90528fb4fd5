/**
 * Memory-bound kernels rewritten as plain typed-array loops on the wasm heap.
 * The stock ones copy channel runs with one `subarray().set()` per pixel
 * (Concat), a C++ slice per output (SplitV) or a generic index loop (Tile),
 * which dominates when channels are few (inception towers of 4-16 channels).
 * Float32 only; anything else goes to the stock kernel.
 */
import type { TfHandle } from '../lib/backend.js';
import { makeCtx, size } from './wasm-util.js';
import type { Info, KernelArgs } from './wasm-util.js';

type Kernel = (args: KernelArgs) => Info | Info[];

/** Copies `rows` runs of `run` floats from src (stride sStride) to dst (stride dStride). */
function copyRuns(dst: Float32Array, dOff: number, dStride: number, src: Float32Array, sOff: number, sStride: number, rows: number, run: number): void {
  if (run >= 64) {
    for (let r = 0; r < rows; r++) dst.set(src.subarray(sOff + r * sStride, sOff + r * sStride + run), dOff + r * dStride);
    return;
  }
  if (run === 4) {
    // The inception towers' 4-channel runs: unrolled, ~2x the loop below.
    for (let r = 0, d = dOff, s = sOff; r < rows; r++, d += dStride, s += sStride) {
      dst[d] = src[s]!; dst[d + 1] = src[s + 1]!; dst[d + 2] = src[s + 2]!; dst[d + 3] = src[s + 3]!;
    }
    return;
  }
  if (run % 4 === 0) {
    for (let r = 0; r < rows; r++) {
      let d = dOff + r * dStride;
      let s = sOff + r * sStride;
      const end = s + run;
      for (; s < end; s += 4, d += 4) {
        dst[d] = src[s]!; dst[d + 1] = src[s + 1]!; dst[d + 2] = src[s + 2]!; dst[d + 3] = src[s + 3]!;
      }
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    let d = dOff + r * dStride;
    let s = sOff + r * sStride;
    const end = s + run;
    while (s < end) dst[d++] = src[s++]!;
  }
}

function axisOf(tf: TfHandle['tf'], axis: unknown, shape: number[]): number {
  return tf.util.parseAxisParam(axis as number, shape)[0]!;
}

/** Concat of float32 tensors along any axis. */
export function concatKernel(tf: TfHandle['tf'], stock: Kernel): Kernel {
  return (args) => {
    const inputs = (Array.isArray(args.inputs) ? args.inputs : Object.values(args.inputs)) as Info[];
    if (inputs.length < 2 || inputs.some((t) => t.dtype !== 'float32')) return stock(args);
    const first = inputs[0]!;
    const axis = axisOf(tf, args.attrs?.['axis'], first.shape);
    const outShape = first.shape.slice();
    outShape[axis] = inputs.reduce((s, t) => s + t.shape[axis]!, 0);
    const ctx = makeCtx(tf, args.backend);
    const out = ctx.alloc(outShape);
    const rows = size(first.shape.slice(0, axis));
    const total = size(outShape.slice(axis));
    const dst = ctx.view(out);
    let off = 0;
    for (const t of inputs) {
      const run = size(t.shape.slice(axis));
      copyRuns(dst, off, total, ctx.view(t), 0, run, rows, run);
      off += run;
    }
    return out;
  };
}

/** SplitV of a float32 tensor along any axis. */
export function splitKernel(tf: TfHandle['tf'], stock: Kernel): Kernel {
  return (args) => {
    const x = (args.inputs as { x: Info }).x;
    if (x.dtype !== 'float32') return stock(args);
    const axis = axisOf(tf, args.attrs?.['axis'], x.shape);
    const sizes = tf.backend_util.prepareSplitSize(x as never, args.attrs?.['numOrSizeSplits'] as number[], axis);
    const ctx = makeCtx(tf, args.backend);
    const rows = size(x.shape.slice(0, axis));
    const inner = size(x.shape.slice(axis + 1));
    const total = size(x.shape.slice(axis));
    const outs: Info[] = [];
    let off = 0;
    for (const s of sizes) {
      const shape = x.shape.slice();
      shape[axis] = s;
      const out = ctx.alloc(shape);
      const run = s * inner;
      copyRuns(ctx.view(out), 0, run, ctx.view(x), off, total, rows, run);
      off += run;
      outs.push(out);
    }
    return outs;
  };
}

/** Tile of a float32 tensor: innermost rows copied, then whole blocks doubled. */
export function tileKernel(tf: TfHandle['tf'], stock: Kernel): Kernel {
  return (args) => {
    const x = (args.inputs as { x: Info }).x;
    const reps = args.attrs?.['reps'] as number[];
    if (x.dtype !== 'float32' || x.shape.length === 0) return stock(args);
    const ctx = makeCtx(tf, args.backend);
    const rank = x.shape.length;
    const outShape = x.shape.map((d, i) => d * reps[i]!);
    const out = ctx.alloc(outShape);
    if (size(outShape) === 0) return out;
    const dst = ctx.view(out);
    const src = ctx.view(x);
    // outBlock[d]: floats of one output slab below dim d; xBlock likewise for x.
    const outBlock = new Array<number>(rank + 1).fill(1);
    const xBlock = new Array<number>(rank + 1).fill(1);
    for (let d = rank - 1; d >= 0; d--) {
      outBlock[d] = outBlock[d + 1]! * outShape[d]!;
      xBlock[d] = xBlock[d + 1]! * x.shape[d]!;
    }
    const fill = (d: number, sOff: number, dOff: number): void => {
      const n = x.shape[d]!;
      if (d === rank - 1) {
        for (let i = 0; i < n; i++) dst[dOff + i] = src[sOff + i]!;
      } else {
        for (let i = 0; i < n; i++) fill(d + 1, sOff + i * xBlock[d + 1]!, dOff + i * outBlock[d + 1]!);
      }
      // Replicate the filled block reps[d] - 1 times by doubling.
      const block = n * outBlock[d + 1]!;
      let have = block;
      const want = block * reps[d]!;
      while (have < want) {
        const len = Math.min(have, want - have);
        dst.copyWithin(dOff + have, dOff, dOff + len);
        have += len;
      }
    };
    fill(0, 0, 0);
    return out;
  };
}

/**
 * Identity without a copy: the output shares the input's data (reference
 * counted), as in the cpu backend. The stock wasm kernel copies the whole
 * tensor, and TF.js clones every tensor a gradient needs through Identity
 * (~2,700 calls per U-Net training step).
 */
export function identityKernel(stock: Kernel): Kernel {
  return (args) => {
    const x = (args.inputs as { x: Info }).x;
    const backend = args.backend as { incRef?: (dataId: object) => void };
    if (x.dtype === 'string' || typeof backend.incRef !== 'function') return stock(args);
    backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
  };
}

/**
 * Cast to the tensor's own dtype (the ReLU gradient casts Step's float32
 * output to float32: ~330 casts per U-Net step) shares the data like
 * Identity instead of copying it; real conversions go to the stock kernel.
 */
export function castKernel(stock: Kernel): Kernel {
  return (args) => {
    const x = (args.inputs as { x: Info }).x;
    if (x.dtype !== args.attrs?.['dtype']) return stock(args);
    return identityKernel(stock)(args);
  };
}
