/**
 * Fewer engine calls in the gradients of Add, Sub and Reshape on wasm.
 *
 * TF.js differentiates `a + b` as `reshape(dy, a.shape)` and
 * `reshape(sum(dy, axes), b.shape)` (Sub: `reshape(neg(sum(...)))`), and
 * `reshape(x)` as `reshape(dy, x.shape)`. Every conv's bias add and every
 * batch-norm layer runs these: ~4 engine calls per bias, each with its scope,
 * tensor bookkeeping and tape checks, around kernels that copy nothing (a
 * wasm Reshape only shares the data). Here, for first-order gradients of
 * float32 tensors on wasm:
 *
 * ```
 * reshape(dy, shape) (nothing to sum)      -> a tensor sharing dy's data (no kernel call)
 * reshape([neg](sum(dy, axes)), v.shape)   -> one PipeReduceTo call: the same Sum
 *                                             (and Neg) kernels run directly
 * ```
 *
 * The kernels that compute are the same ones with the same attributes, so
 * every value is the same bits; anything else (other broadcasts, other
 * backends, a gradient recorded for a second-order gradient) takes the stock
 * gradient.
 */
import type { TfHandle } from '../lib/backend.js';
import { firstOrderGradient, makeCtx, replaceGradient, reshape, shareData } from './wasm-util.js';
import type { Info, KernelArgs } from './wasm-util.js';

type Tf = TfHandle['tf'];
type Tensor = import('@tensorflow/tfjs').Tensor;
type GradMap = Record<string, () => Tensor>;

/** Name of the reduce kernel (wasm only). */
export const REDUCE_TO_KERNEL = 'PipeReduceTo';

/** `reshape([neg](sum(x, axis)), shape)` through the registered kernels, without the engine between them. */
function reduceToKernel(tf: Tf): (args: KernelArgs) => Info {
  return (args) => {
    const { x } = args.inputs as { x: Info };
    const a = args.attrs as { axis: number[]; shape: number[]; negate: boolean };
    const ctx = makeCtx(tf, args.backend);
    let out = ctx.run('Sum', { x }, { axis: a.axis, keepDims: false });
    if (a.negate) {
      const neg = ctx.run('Neg', { x: out });
      ctx.free(out);
      out = neg;
    }
    if (tf.util.arraysEqual(out.shape, a.shape)) return out;
    const shaped = reshape(ctx, out, a.shape.slice());
    ctx.free(out);
    return shaped;
  };
}

/** Registers PipeReduceTo on wasm and overrides the three gradients (falling back to the stock ones). */
export function registerGradAliases(tf: Tf): string[] {
  /** A tensor of `shape` sharing t's data, as the wasm Reshape kernel makes it; undefined off wasm. */
  const alias = (t: Tensor, shape: number[]): Tensor | undefined => shareData(tf, t, shape.slice());
  const usable = (...ts: Tensor[]) =>
    firstOrderGradient(tf) && tf.getBackend() === 'wasm' && ts.every((t) => t.dtype === 'float32');
  /**
   * One input's gradient of a broadcasting Add/Sub, as the stock one computes
   * it: dy summed over `t`'s broadcast axes (negated for Sub's b), shaped as t.
   */
  const reduced = (dy: Tensor, t: Tensor, negate: boolean, stock: () => Tensor): (() => Tensor) => () => {
    const axis = tf.backend_util.getReductionAxes(t.shape, dy.shape);
    if (axis.length === 0) return negate ? stock() : alias(dy, t.shape) ?? stock();
    return tf.engine().runKernel(REDUCE_TO_KERNEL, { x: dy } as never, { axis, shape: t.shape.slice(), negate } as never) as Tensor;
  };
  tf.registerKernel({ kernelName: REDUCE_TO_KERNEL, backendName: 'wasm', kernelFunc: reduceToKernel(tf) as never });
  for (const name of ['Add', 'Sub'] as const) {
    const stock = tf.getGradient(name);
    if (stock === undefined) throw new Error(`no stock gradient for ${name}`);
    replaceGradient(tf, {
      kernelName: name,
      inputsToSave: stock.inputsToSave ?? ['a', 'b'],
      gradFunc: (dy, saved, attrs) => {
        const grads = stock.gradFunc(dy, saved, attrs) as GradMap;
        const [a, b] = saved as [Tensor, Tensor];
        const d = dy as Tensor;
        if (!usable(a, b, d)) return grads;
        return {
          a: reduced(d, a, false, grads['a']!),
          b: reduced(d, b, name === 'Sub', grads['b']!),
        };
      },
    });
  }
  const stockReshape = tf.getGradient('Reshape');
  if (stockReshape === undefined) throw new Error('no stock gradient for Reshape');
  replaceGradient(tf, {
    kernelName: 'Reshape',
    inputsToSave: stockReshape.inputsToSave ?? ['x'],
    gradFunc: (dy, saved, attrs) => {
      const grads = stockReshape.gradFunc(dy, saved, attrs) as GradMap;
      const [x] = saved as [Tensor];
      const d = dy as Tensor;
      if (!usable(x, d) || x.size !== d.size) return grads;
      return { x: () => alias(d, x.shape) ?? grads['x']!() };
    },
  });
  return [REDUCE_TO_KERNEL];
}
