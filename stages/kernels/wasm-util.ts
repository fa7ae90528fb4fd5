/**
 * Small helpers for writing wasm-backend kernels in TypeScript: run another
 * registered wasm kernel on TensorInfos, read/write tensor memory on the wasm
 * heap, and free intermediates.
 *
 * A kernel receives `TensorInfo`s (not tracked Tensors): everything made here
 * with {@link Ctx.run} or {@link Ctx.alloc} must be freed with {@link Ctx.free}
 * unless it is the kernel's output.
 */
import type { TfHandle } from '../lib/backend.js';

/** A tensor as kernels see it. */
export interface Info {
  dataId: object;
  shape: number[];
  dtype: string;
}

/** The parts of the wasm backend (BackendWasm) that our kernels use. */
export interface WasmBackendLike {
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
  wasm: { HEAPF32: Float32Array };
  makeOutput(shape: number[], dtype: string, memoryOffset?: number, values?: Float32Array): Info;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** Kernel function signature as registered with `tf.registerKernel`. */
export type KernelArgs = { inputs: Record<string, Info>; attrs?: Record<string, unknown>; backend: unknown };

/** Kernel-writing context bound to one backend. */
export interface Ctx {
  backend: WasmBackendLike;
  /** Runs the wasm kernel `name` (ours if we replaced it) and returns its output. */
  run(name: string, inputs: Record<string, Info>, attrs?: Record<string, unknown>): Info;
  /** A new float32 tensor, filled from `values` when given (else uninitialised). */
  alloc(shape: number[], values?: Float32Array): Info;
  /** The live float32 view of a tensor's memory (invalid after any allocation). */
  view(t: Info): Float32Array;
  /** Frees intermediates (respects reference counts, so shared data is safe). */
  free(...ts: Info[]): void;
}

/** Number of elements of a shape. */
export function size(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Builds a {@link Ctx} for one kernel call. */
export function makeCtx(tf: TfHandle['tf'], backend: unknown): Ctx {
  const b = backend as WasmBackendLike;
  const ctx: Ctx = {
    backend: b,
    run(name, inputs, attrs = {}) {
      const k = tf.getKernel(name, 'wasm');
      if (k === undefined) throw new Error(`wasm kernel ${name} is not registered`);
      const out = k.kernelFunc({ inputs, attrs, backend } as never) as Info | Info[];
      if (Array.isArray(out)) throw new Error(`wasm kernel ${name} returned several outputs`);
      return out;
    },
    alloc(shape, values) {
      return b.makeOutput(shape, 'float32', undefined, values);
    },
    view(t) {
      const d = b.dataIdMap.get(t.dataId);
      if (d === undefined) throw new Error('tensor data is not on the wasm backend');
      return new Float32Array(b.wasm.HEAPF32.buffer, d.memoryOffset, size(t.shape));
    },
    free(...ts) {
      for (const t of ts) b.disposeData(t.dataId);
    },
  };
  return ctx;
}

/** A reshape that shares data (increments the reference count). */
export function reshape(ctx: Ctx, x: Info, shape: number[]): Info {
  return ctx.run('Reshape', { x }, { shape });
}

/** The engine internals {@link shareData} uses. */
interface EngineShare {
  state: { tensorInfo: { get(dataId: object): { backend: unknown } | undefined } };
  makeTensorFromTensorInfo(info: Info, backend: unknown): unknown;
}

let wasmBackend: unknown;

/**
 * A new tensor of `shape` sharing t's data, the way the wasm Reshape kernel
 * makes one (the backend's reference count goes up; nothing is copied and no
 * kernel or tape node is run), or undefined when t is not a non-string
 * tensor of the wasm backend. The caller records any tape node it needs.
 */
export function shareData<T extends Info>(tf: TfHandle['tf'], t: T, shape: number[]): T | undefined {
  wasmBackend ??= tf.findBackend('wasm') ?? undefined;
  const engine = tf.engine() as unknown as EngineShare;
  const backend = engine.state.tensorInfo.get(t.dataId)?.backend as { incRef?: (d: object) => void } | undefined;
  if (wasmBackend === undefined || backend !== wasmBackend || typeof backend.incRef !== 'function' || t.dtype === 'string') return undefined;
  backend.incRef(t.dataId);
  return engine.makeTensorFromTensorInfo({ dataId: t.dataId, shape, dtype: t.dtype }, backend) as T;
}

/**
 * `tf.registerGradient` with its "overriding the gradient" warning silenced:
 * our gradient overrides replace the stock ones on purpose.
 */
export function replaceGradient(tf: TfHandle['tf'], config: Parameters<TfHandle['tf']['registerGradient']>[0]): void {
  const warn = console.warn;
  console.warn = () => {};
  try {
    tf.registerGradient(config);
  } finally {
    console.warn = warn;
  }
}

/**
 * True when the engine is computing a first-order gradient (no gradient is
 * being recorded on a tape for a second-order one), the only case where our
 * fused, non-differentiable gradient kernels may replace the stock ops.
 */
export function firstOrderGradient(tf: TfHandle['tf']): boolean {
  return (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth === 0;
}
