/**
 * Adam with a fused update on the wasm backend.
 *
 * `tf.train.adam` runs ~14 small ops per variable per step; an inception U-Net
 * has ~500 variables, so the update alone is ~7,000 kernel calls per step, and
 * per-call overhead dominates. {@link createAdam} returns a drop-in
 * `AdamOptimizer` whose update on wasm is one kernel (`PipeAdam`) per variable:
 * a single typed-array loop computing the same float32 operations in the same
 * order as the stock optimizer (each intermediate rounded with `Math.fround`),
 * so the weights are the same as with `tf.train.adam`. On other backends it is
 * the stock optimizer. Its weights (m, v, iterations) serialise as the stock ones.
 */
import type { TfHandle } from '../lib/backend.js';
import { makeCtx } from './wasm-util.js';
import type { Info, KernelArgs } from './wasm-util.js';

type Tf = TfHandle['tf'];

/** Name of the fused update kernel (wasm only). */
export const ADAM_KERNEL = 'PipeAdam';

/** The fused kernel: inputs x, g, m, v -> outputs [x', m', v'] (new tensors). */
export function adamKernel(tf: Tf): (args: KernelArgs) => Info[] {
  return (args) => {
    const { x, g, m, v } = args.inputs as Record<'x' | 'g' | 'm' | 'v', Info>;
    const a = args.attrs as Record<'lr' | 'beta1' | 'beta2' | 'epsilon' | 'c1' | 'c2', number>;
    const ctx = makeCtx(tf, args.backend);
    const outs = [ctx.alloc(x.shape.slice()), ctx.alloc(x.shape.slice()), ctx.alloc(x.shape.slice())];
    const [xo, mo, vo] = outs.map((t) => ctx.view(t)) as [Float32Array, Float32Array, Float32Array];
    const xi = ctx.view(x), gi = ctx.view(g), mi = ctx.view(m), vi = ctx.view(v);
    const f = Math.fround;
    const b1 = f(a.beta1), b2 = f(a.beta2), nb1 = f(1 - a.beta1), nb2 = f(1 - a.beta2);
    const c1 = f(a.c1), c2 = f(a.c2), eps = f(a.epsilon), nlr = f(-a.lr);
    for (let i = 0; i < xi.length; i++) {
      const gr = gi[i]!;
      const m1 = f(f(mi[i]! * b1) + f(gr * nb1));
      const v1 = f(f(vi[i]! * b2) + f(f(gr * gr) * nb2));
      const mh = f(m1 / c1);
      const vh = f(v1 / c2);
      const step = f(f(mh / f(f(Math.sqrt(vh)) + eps)) * nlr);
      xo[i] = f(step + xi[i]!);
      mo[i] = m1;
      vo[i] = v1;
    }
    return outs;
  };
}

/** Internal fields of tfjs-core's AdamOptimizer that the fused update uses. */
interface AdamInternals {
  learningRate: number; beta1: number; beta2: number; epsilon: number;
  accBeta1: import('@tensorflow/tfjs').Variable; accBeta2: import('@tensorflow/tfjs').Variable;
  accumulatedFirstMoment: { originalName: string; variable: import('@tensorflow/tfjs').Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: import('@tensorflow/tfjs').Variable }[];
  incrementIterations(): void;
}

/**
 * An Adam optimizer like `tf.train.adam(lr, beta1, beta2, epsilon)`, fused on
 * wasm when our kernels are registered (else exactly the stock optimizer).
 */
export function createAdam(tf: Tf, lr: number, beta1 = 0.9, beta2 = 0.999, epsilon?: number): import('@tensorflow/tfjs').AdamOptimizer {
  const opt = tf.train.adam(lr, beta1, beta2, epsilon);
  const stock = opt.applyGradients.bind(opt);
  const self = opt as unknown as AdamInternals;
  opt.applyGradients = (variableGradients) => {
    if (tf.getBackend() !== 'wasm' || tf.getKernel(ADAM_KERNEL, 'wasm') === undefined) {
      stock(variableGradients);
      return;
    }
    const list = Array.isArray(variableGradients)
      ? variableGradients.map((e) => [e.name, e.tensor] as const)
      : Object.entries(variableGradients).map(([n, t]) => [n, t] as const);
    const c1 = 1 - (self.accBeta1.dataSync()[0] ?? 0);
    const c2 = 1 - (self.accBeta2.dataSync()[0] ?? 0);
    // As in the stock optimizer: 1 - accBeta is computed in float32.
    const attrs = {
      lr: self.learningRate, beta1: self.beta1, beta2: self.beta2, epsilon: self.epsilon,
      c1: Math.fround(c1), c2: Math.fround(c2),
    };
    tf.tidy(() => {
      list.forEach(([name, gradient], i) => {
        const value = tf.engine().registeredVariables[name];
        if (value === undefined) throw new Error(`createAdam: no variable named ${name}`);
        self.accumulatedFirstMoment[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        self.accumulatedSecondMoment[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) };
        if (gradient == null) return;
        const m = self.accumulatedFirstMoment[i]!.variable;
        const v = self.accumulatedSecondMoment[i]!.variable;
        const [x1, m1, v1] = tf.engine().runKernel(ADAM_KERNEL, { x: value, g: gradient, m, v }, attrs) as import('@tensorflow/tfjs').Tensor[];
        value.assign(x1!);
        m.assign(m1!);
        v.assign(v1!);
      });
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    self.incrementIterations();
  };
  return opt;
}
