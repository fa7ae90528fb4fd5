/**
 * Type-only view of the TensorFlow.js module, so model code can take `tf` as a
 * parameter without importing it at load time (any backend module, e.g. the
 * one `loadTf` returns, is passed in by the caller).
 */
import type * as TfModule from '@tensorflow/tfjs';

/** The `@tensorflow/tfjs` module namespace as a value type. */
export type Tf = typeof import('@tensorflow/tfjs');

/** A symbolic tensor in the layers API (a node of a functional model graph). */
export type SymbolicTensor = TfModule.SymbolicTensor;

/** A layers model (built by the builders here, uncompiled). */
export type LayersModel = TfModule.LayersModel;

/**
 * Deterministic per-layer seeds: `next()` returns a fresh 31-bit integer each
 * call, derived from `seed` by a mulberry32 stream, so the same builder with
 * the same seed gives the same initial weights on every backend and run.
 */
export function seedStream(seed: number): { next(): number } {
  let s = seed >>> 0;
  return {
    next(): number {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) % 2147483647;
    },
  };
}
