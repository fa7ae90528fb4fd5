/**
 * The gradient of Relu on wasm as one kernel.
 *
 * TF.js differentiates `relu(x)` as `mul(dy, cast(step(x), 'float32'))`:
 * three engine calls (Step, a same-dtype Cast, Multiply), each with its
 * scope, tensor bookkeeping and tape checks, for each of the U-Net's ~180
 * ReLUs per step. `PipeReluGrad` is one engine call that runs the same wasm
 * Step and Multiply kernels directly (the Cast to float32 of a float32 tensor
 * is a no-op), so the result is the same bits. (A one-pass JS loop was
 * slower than the two XNNPACK passes.) It runs only for first-order gradients on wasm (a gradient
 * recorded on a tape for a second-order gradient takes the stock ops, which
 * are differentiable); elsewhere the stock gradient runs.
 */
import type { TfHandle } from '../lib/backend.js';
import { firstOrderGradient, makeCtx, replaceGradient, size } from './wasm-util.js';
import type { Info, KernelArgs } from './wasm-util.js';

type Tf = TfHandle['tf'];
type Tensor = import('@tensorflow/tfjs').Tensor;

/** Name of the fused kernel (wasm only). */
export const RELU_GRAD_KERNEL = 'PipeReluGrad';

/** dy · step(x) through the wasm Step and Multiply kernels themselves, without the engine between them. */
function reluGradKernel(tf: Tf): (args: KernelArgs) => Info {
  return (args) => {
    const { dy, x } = args.inputs as { dy: Info; x: Info };
    const ctx = makeCtx(tf, args.backend);
    const s = ctx.run('Step', { x }, { alpha: 0 });
    const out = ctx.run('Multiply', { a: dy, b: s });
    ctx.free(s);
    return out;
  };
}

/** Registers the kernel on wasm and overrides Relu's gradient (falling back to the stock one). */
export function registerReluGrad(tf: Tf): string[] {
  const stock = tf.getGradient('Relu');
  if (stock === undefined) throw new Error('no stock gradient for Relu');
  tf.registerKernel({ kernelName: RELU_GRAD_KERNEL, backendName: 'wasm', kernelFunc: reluGradKernel(tf) as never });
  replaceGradient(tf, {
    kernelName: 'Relu',
    inputsToSave: stock.inputsToSave ?? ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [Tensor];
      const d = dy as Tensor;
      if (!firstOrderGradient(tf) || tf.getBackend() !== 'wasm' || x.dtype !== 'float32' || d.dtype !== 'float32' ||
        size(x.shape) !== size(d.shape) || !tf.util.arraysEqual(x.shape, d.shape)) {
        return stock.gradFunc(dy, saved, attrs);
      }
      return { x: () => tf.engine().runKernel(RELU_GRAD_KERNEL, { dy: d, x } as never) as Tensor };
    },
  });
  return [RELU_GRAD_KERNEL];
}
