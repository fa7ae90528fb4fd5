/**
 * A cheaper `Engine.clone` for tensors on the wasm backend.
 *
 * Every kernel that saves tensors for its gradient has the engine clone them
 * (tfjs-core `saveFunc` -> `Engine.clone`): a full `runKernel('Identity')`
 * (scope, profiler hook, an Identity tape node) plus the clone's own tape
 * node. A U-Net reference step makes ~2700 such clones; through runKernel
 * they cost ~30 us each, ~10 % of the step. Here a clone of a wasm tensor
 * shares the data directly (the backend's reference count, as our zero-copy
 * Identity kernel does) and records the same tape node `Engine.clone` itself
 * records (gradient: Cast of dy), so first- and higher-order gradients see
 * the same graph minus the redundant Identity node. Tensors of other backends
 * take the original path.
 */
import type { TfHandle } from '../lib/backend.js';
import { shareData } from './wasm-util.js';

type Tf = TfHandle['tf'];

interface TensorLike { dataId: object; shape: number[]; dtype: string }
interface EngineLike {
  clone(x: TensorLike): TensorLike;
  state: { activeScope: { name: string } };
  addTapeNode(scope: string, inputs: Record<string, TensorLike>, outputs: TensorLike[], grad: unknown, saved: TensorLike[], attrs: Record<string, unknown>): void;
  runKernel(name: string, inputs: Record<string, unknown>, attrs: Record<string, unknown>): TensorLike;
}

let installed = false;

/** Installs the light clone on tf's engine once (idempotent). */
export function installLightClone(tf: Tf): void {
  if (installed) return;
  installed = true;
  const engine = tf.engine() as unknown as EngineLike;
  const original = engine.clone;
  engine.clone = function clone(this: EngineLike, x: TensorLike): TensorLike {
    const y = shareData(tf, x, x.shape);
    if (y === undefined) return original.call(this, x);
    const grad = (dy: TensorLike) => ({ x: () => this.runKernel('Cast', { x: dy }, { dtype: 'float32' }) });
    this.addTapeNode(this.state.activeScope.name, { x }, [y], grad, [], {});
    return y;
  };
}
