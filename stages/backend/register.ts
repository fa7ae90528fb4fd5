/**
 * Registers our kernels for the wasm backend, replacing or adding to those of
 * tfjs-backend-wasm. Called once by `loadTf` before the wasm backend is
 * activated; calling it again is a no-op.
 */
import type { TfHandle } from '../backend.js';
import { conv2dBackpropFilterKernel } from './conv-backprop-filter.js';
import { conv2dBackpropInputKernel } from './conv-backprop-input.js';
import { explicitSamePadKernel } from './conv-same-pad.js';
import { concatKernel, identityKernel, splitKernel, tileKernel } from './copy-kernels.js';
import { maxPoolGradKernel } from './pool-grad.js';
import { ADAM_KERNEL, adamKernel } from './adam.js';
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
  replace('MaxPoolGrad', (stock) => maxPoolGradKernel(tf, stock));
  tf.registerKernel({ kernelName: ADAM_KERNEL, backendName: 'wasm', kernelFunc: adamKernel(tf) as never });
  names.push(ADAM_KERNEL);
  registered = names;
  return names;
}

/** Fallbacks for kernels tfjs-backend-wasm lacks, via its 3-D equivalents. */
function emulate(tf: TfHandle['tf'], name: string, args: KernelArgs): Info {
  if (name !== 'Conv2DBackpropFilter') throw new Error(`no wasm fallback for ${name}`);
  throw new Error('Conv2DBackpropFilter: unsupported arguments on wasm');
}
