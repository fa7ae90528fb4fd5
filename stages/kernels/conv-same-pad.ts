/**
 * Conv2D / FusedConv2D with 'same' padding passed to the stock wasm kernel as
 * explicit padding. The stock kernel hands 'same' to XNNPACK's TensorFlow-SAME
 * mode, which gives wrong outputs for stride 2 with a 1xk kernel (e.g. 1x3/2
 * 'same' on 12x13: every value off; found by test/backend-kernels.test.ts).
 * Explicit pads computed by TF.js's own `computeConv2DInfo` are always right.
 */
import type { TfHandle } from '../lib/backend.js';
import type { Info, KernelArgs } from './wasm-util.js';

/** Wraps a stock conv kernel so that 'same' padding arrives as explicit padding. */
export function explicitSamePadKernel(
  tf: TfHandle['tf'],
  stock: (args: KernelArgs) => Info,
): (args: KernelArgs) => Info {
  return (args) => {
    const attrs = args.attrs ?? {};
    const { x, filter } = args.inputs as { x: Info; filter: Info };
    const dataFormat = (attrs['dataFormat'] as string | undefined) ?? 'NHWC';
    if (attrs['pad'] !== 'same' || dataFormat !== 'NHWC') return stock(args);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
      attrs['strides'] as [number, number], attrs['dilations'] as [number, number], 'same',
      undefined, false, 'channelsLast');
    const p = info.padInfo;
    const pad = [[0, 0], [p.top, p.bottom], [p.left, p.right], [0, 0]];
    return stock({ ...args, attrs: { ...attrs, pad } });
  };
}
