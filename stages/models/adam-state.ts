/**
 * Reading and replacing the state of tfjs-core's AdamOptimizer (as
 * `createAdam` builds it, fused or stock): the moments of each variable, the
 * bias-correction accumulators and the step count, exactly, for training
 * checkpoints. Adam's own getWeights/setWeights do not do: setWeights
 * recomputes the accumulators as beta^(t+1), which is not bit-identical to
 * the products the optimizer accumulated step by step.
 */
import type * as TfModule from '@tensorflow/tfjs';
import type { Tf } from './tf-types.js';

/** Adam's state: moments in trainable-weights order and the exact bias-correction accumulators. */
export interface AdamState {
  readonly m: readonly Float32Array[];
  readonly v: readonly Float32Array[];
  readonly accBeta1: number;
  readonly accBeta2: number;
  readonly iterations: number;
}

/** The fields of tfjs-core's AdamOptimizer that hold its state. */
interface AdamFields {
  accBeta1: TfModule.Variable;
  accBeta2: TfModule.Variable;
  accumulatedFirstMoment: { originalName: string; variable: TfModule.Variable }[];
  accumulatedSecondMoment: { originalName: string; variable: TfModule.Variable }[];
  iterations_: number | undefined;
}

const fields = (o: TfModule.Optimizer): AdamFields => o as unknown as AdamFields;
const copy = (list: AdamFields['accumulatedFirstMoment']): Float32Array[] => list.map((e) => Float32Array.from(e.variable.dataSync()));

/** A copy of the optimizer's state (no moments before its first step). */
export function adamState(optimizer: TfModule.Optimizer): AdamState {
  const a = fields(optimizer);
  return {
    m: copy(a.accumulatedFirstMoment),
    v: copy(a.accumulatedSecondMoment),
    accBeta1: a.accBeta1.dataSync()[0]!,
    accBeta2: a.accBeta2.dataSync()[0]!,
    iterations: a.iterations_ ?? 0,
  };
}

/**
 * Replaces the optimizer's state with `s`; `vars` are the variables it
 * updates, in the order `minimize` gets them. Throws when the counts differ.
 */
export function setAdamState(tf: Tf, optimizer: TfModule.Optimizer, vars: readonly TfModule.Variable[], s: AdamState): void {
  if (s.m.length !== s.v.length || (s.m.length !== 0 && s.m.length !== vars.length)) {
    throw new Error(`optimizer state has ${s.m.length} moments for ${vars.length} variables`);
  }
  const a = fields(optimizer);
  const make = (data: readonly Float32Array[], suffix: string) => data.map((d, i) => ({
    originalName: `${vars[i]!.name}/${suffix}`,
    variable: tf.tidy(() => tf.tensor(d, vars[i]!.shape, 'float32').variable(false)),
  }));
  tf.dispose([...a.accumulatedFirstMoment, ...a.accumulatedSecondMoment].map((e) => e.variable));
  a.accumulatedFirstMoment = make(s.m, 'm');
  a.accumulatedSecondMoment = make(s.v, 'v');
  tf.tidy(() => {
    a.accBeta1.assign(tf.scalar(s.accBeta1, 'float32'));
    a.accBeta2.assign(tf.scalar(s.accBeta2, 'float32'));
  });
  a.iterations_ = s.iterations;
}
