/**
 * Skips the input gradient of a fused convolution whose input needs none.
 *
 * `tf.fused.conv2d` (what tfjs-layers' Conv2D runs when its activation is
 * linear or fusable, e.g. every conv of the classifier) records one tape node
 * through `customGrad`, whose gradient computes the input and the filter
 * gradient together, eagerly. When the input is not a function of the
 * variables being differentiated (the model's input batch, for the first
 * conv), the engine prunes that input from the node and never reads its
 * gradient, but the Conv2DBackpropInput has already run: for the classifier's
 * 3x3/2 stem on 64x64 crops, four phase convolutions and an interleave.
 *
 * Here every such node's gradient is wrapped (`this` is the engine's pruned
 * copy of the node when it backpropagates): when input 0 was pruned, the next
 * Conv2DBackpropInput of exactly that input's shape during the call returns
 * zeros without computing ({@link takeSkip}, read by conv-backprop-input.ts).
 * The zeros are never read (the engine skips pruned inputs), so the filter
 * gradient and every weight are bit-identical; a gradient that asks for the
 * input (tf.grad with respect to the image) keeps input 0 and is unaffected.
 */
import type { TfHandle } from '../lib/backend.js';

type Tf = TfHandle['tf'];

interface TensorLike { shape: number[]; rank: number }
interface TapeNodeLike {
  kernelName: string;
  inputs: Record<string, TensorLike>;
  gradient?: (this: TapeNodeLike | undefined, dys: unknown) => unknown;
}
interface EngineLike {
  addTapeNode(kernelName: string, inputs: Record<string, TensorLike>, outputs: unknown[], grad: unknown, saved: unknown[], attrs: unknown): void;
  state: { activeTape: TapeNodeLike[] | null };
}

/** The input shape whose Conv2DBackpropInput the running gradient does not need. */
let pending: readonly number[] | undefined;
let enabled = true;
let skipped = 0;

/** Turns the skipping on or off (for tests comparing both); returns the previous setting. */
export function setSkipInputGrad(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/** How many input gradients were skipped so far in this process. */
export function skippedInputGrads(): number {
  return skipped;
}

/**
 * True (once) when the Conv2DBackpropInput about to run, for `inputShape`,
 * computes a gradient nobody reads: the kernel may then return zeros.
 */
export function takeSkip(inputShape: readonly number[]): boolean {
  const p = pending;
  if (p === undefined || p.length !== inputShape.length || p.some((d, i) => d !== inputShape[i])) return false;
  pending = undefined;
  skipped++;
  return true;
}

let installed = false;

/** Installs the wrapper on tf's engine once (idempotent). */
export function installSkipInputGrad(tf: Tf): void {
  if (installed) return;
  installed = true;
  const engine = tf.engine() as unknown as EngineLike;
  const original = engine.addTapeNode;
  engine.addTapeNode = function addTapeNode(this: EngineLike, kernelName, inputs, outputs, grad, saved, attrs) {
    original.call(this, kernelName, inputs, outputs, grad, saved, attrs);
    // customGrad nodes carry numbered inputs; a fused conv's are (x, filter[, bias]), both rank 4.
    const x = inputs['0'], filter = inputs['1'];
    if (x === undefined || filter === undefined || x.rank !== 4 || filter.rank !== 4) return;
    const tape = this.state.activeTape;
    const node = tape?.[tape.length - 1];
    if (node === undefined || node.inputs !== inputs || node.gradient === undefined) return;
    const gradient = node.gradient;
    const shape = x.shape.slice();
    node.gradient = function prunedAware(this: TapeNodeLike | undefined, dys: unknown): unknown {
      if (!enabled || this === undefined || this.inputs === inputs || '0' in this.inputs) return gradient.call(this, dys);
      pending = shape;
      try {
        return gradient.call(this, dys);
      } finally {
        pending = undefined;
      }
    };
  };
}
