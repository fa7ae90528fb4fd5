/**
 * Reading and validating stage params for the model stages. Each reader
 * returns the default when the param is absent (undefined or null) and throws
 * an Error naming the param when it has the wrong type or range.
 */
import type { Params } from '../../engine/stage-api.js';
import type { BackendPref } from './backend.js';

/** Bounds for {@link numParam}. */
export interface NumRule {
  readonly min?: number;
  readonly max?: number;
  /** Require an integer. */
  readonly int?: boolean;
  /** Require strictly greater than `min`. */
  readonly exclusiveMin?: boolean;
}

/** A number param (numeric strings are not accepted: YAML gives numbers). */
export function numParam(params: Params, name: string, dflt: number, rule: NumRule = {}): number {
  const v = params[name] ?? dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`param ${name} must be a number, got ${JSON.stringify(v)}`);
  if (rule.int === true && !Number.isInteger(v)) throw new Error(`param ${name} must be an integer, got ${v}`);
  if (rule.min !== undefined && (rule.exclusiveMin === true ? v <= rule.min : v < rule.min)) {
    throw new Error(`param ${name} must be ${rule.exclusiveMin === true ? '>' : '>='} ${rule.min}, got ${v}`);
  }
  if (rule.max !== undefined && v > rule.max) throw new Error(`param ${name} must be <= ${rule.max}, got ${v}`);
  return v;
}

/** A boolean param. */
export function boolParam(params: Params, name: string, dflt: boolean): boolean {
  const v = params[name] ?? dflt;
  if (typeof v !== 'boolean') throw new Error(`param ${name} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** A string param. */
export function strParam(params: Params, name: string, dflt: string): string {
  const v = params[name] ?? dflt;
  if (typeof v !== 'string') throw new Error(`param ${name} must be a string, got ${JSON.stringify(v)}`);
  return v;
}

/** A list of positive integers, e.g. `widths: [16, 32, 64]`. */
export function intListParam(params: Params, name: string, dflt: readonly number[]): number[] {
  const v = params[name] ?? dflt;
  if (!Array.isArray(v) || v.length === 0 || v.some((e) => typeof e !== 'number' || !Number.isInteger(e) || e < 1)) {
    throw new Error(`param ${name} must be a non-empty list of positive integers, got ${JSON.stringify(v)}`);
  }
  return v as number[];
}

const BACKENDS: readonly BackendPref[] = ['auto', 'gpu', 'node', 'wasm', 'cpu'];

/** The `backend` param: auto | gpu | node | wasm | cpu (default auto). */
export function backendParam(params: Params): BackendPref {
  const v = strParam(params, 'backend', 'auto');
  if (!(BACKENDS as readonly string[]).includes(v)) {
    throw new Error(`param backend must be one of ${BACKENDS.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as BackendPref;
}

/**
 * The `threads` param: compute threads for the wasm backend (0, the default,
 * = the backend's own choice: env PIPE_THREADS, else all cores). Set 1 for
 * stages that run in parallel on a small machine. Returned as loadTf options.
 */
export function threadsOption(params: Params): { threads?: number } {
  const n = numParam(params, 'threads', 0, { int: true, min: 0 });
  return n === 0 ? {} : { threads: n };
}
