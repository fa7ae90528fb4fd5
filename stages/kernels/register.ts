/**
 * Registers our kernels for the wasm backend, replacing or adding to those of
 * tfjs-backend-wasm. Called once by `loadTf` before the wasm backend is
 * activated; calling it again is a no-op.
 *
 * Registered (wasm only): Conv2D and FusedConv2D ('same' as explicit pads),
 * Conv2DBackpropInput, Conv2DBackpropFilter, Concat, SplitV, Tile, Identity
 * and same-dtype Cast (zero-copy), MaxPoolGrad, per-channel Add/Sub/Multiply/RealDiv/Sum/Mean
 * (channel-kernels.ts), and PipeAdam (the fused update of `createAdam`);
 * plus fused gradients for training-mode batch norm (FusedBatchNorm and Mean:
 * see batch-norm-grad.ts), ReLU (PipeReluGrad: relu-grad.ts), and Add, Sub and
 * Reshape (PipeReduceTo and data-sharing reshapes: grad-aliases.ts), which fall
 * back to the stock ones off wasm; and the
 * engine's clone of saved wasm tensors without a kernel call (light-clone.ts);
 * and no input gradient for a fused conv whose input needs none (skip-input-grad.ts).
 */
import type { TfHandle } from '../lib/backend.js';
import { conv2dBackpropFilterKernel } from './conv-backprop-filter.js';
import { conv2dBackpropInputKernel } from './conv-backprop-input.js';
import { explicitSamePadKernel } from './conv-same-pad.js';
import { castKernel, concatKernel, identityKernel, splitKernel, tileKernel } from './copy-kernels.js';
import { maxPoolGradKernel } from './pool-grad.js';
import { ADAM_KERNEL, adamKernel } from './adam.js';
import { registerBatchNormGrads } from './batch-norm-grad.js';
import { installLightClone } from './light-clone.js';
import { installSkipInputGrad } from './skip-input-grad.js';
import { registerReluGrad } from './relu-grad.js';
import { registerGradAliases } from './grad-aliases.js';
import { channelBinaryKernel, channelReduceKernel } from './channel-kernels.js';
import type { Info, KernelArgs } from './wasm-util.js';

let registered: string[] | undefined;

/** Names of the kernels registered (the same list on every call). */
export function registerWasmKernels(tf: TfHandle['tf']): string[] {
  if (registered !== undefined) return registered;
  const names: string[] = [];
  const replace = (name: string, make: (fallback: (args: KernelArgs) => Info) => (args: KernelArgs) => Info) => {
    const old = tf.getKernel(name, 'wasm');
    const fallback = old
      ? (args: KernelArgs) => old.kernelFunc(args as never) as Info
      : (args: KernelArgs) => emulate(tf, name, args);
    if (old) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      setupFunc: old?.setupFunc,
      kernelFunc: make(fallback) as never,
    });
    names.push(name);
  };
  replace('Conv2D', (stock) => explicitSamePadKernel(tf, stock));
  replace('FusedConv2D', (stock) => explicitSamePadKernel(tf, stock));
  replace('Conv2DBackpropInput', (fb) => conv2dBackpropInputKernel(tf, fb));
  replace('Conv2DBackpropFilter', (fb) => conv2dBackpropFilterKernel(tf, fb));
  replace('Concat', (stock) => concatKernel(tf, stock) as never);
  replace('SplitV', (stock) => splitKernel(tf, stock) as never);
  replace('Tile', (stock) => tileKernel(tf, stock) as never);
  replace('Identity', (stock) => identityKernel(stock) as never);
  replace('Cast', (stock) => castKernel(stock) as never);
  replace('MaxPoolGrad', (stock) => maxPoolGradKernel(tf, stock));
  for (const op of ['Add', 'Sub', 'Multiply', 'RealDiv']) replace(op, (stock) => channelBinaryKernel(tf, stock));
  replace('Sum', (stock) => channelReduceKernel(tf, stock, false));
  replace('Mean', (stock) => channelReduceKernel(tf, stock, true));
  tf.registerKernel({ kernelName: ADAM_KERNEL, backendName: 'wasm', kernelFunc: adamKernel(tf) as never });
  names.push(ADAM_KERNEL);
  names.push(...registerBatchNormGrads(tf));
  names.push(...registerReluGrad(tf));
  names.push(...registerGradAliases(tf));
  installLightClone(tf);
  installSkipInputGrad(tf);
  registered = names;
  return names;
}

/** For kernels tfjs-backend-wasm lacks: arguments our version does not handle (non-NHWC, non-float32). */
function emulate(_tf: TfHandle['tf'], name: string, _args: KernelArgs): Info {
  throw new Error(`${name} on wasm supports only float32 NHWC tensors (use backend 'cpu' for others)`);
}
