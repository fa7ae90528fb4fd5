/**
 * Registers our fast kernels for the wasm backend. Called once by `loadTf` before the
 * wasm backend is activated.
 */
import type { TfHandle } from '../backend.js';

/** Names of the kernels registered (an empty list until kernels land). */
export function registerWasmKernels(_tf: TfHandle['tf']): string[] {
  return [];
}
