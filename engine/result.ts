/**
 * Errors are values: functions that can fail for reasons a user causes return a
 * `Result`; exceptions are for bugs, and are turned into failures once, at the
 * stage boundary.
 */
import type { Diagnostic } from './diagnostic.js';

/** Success with a value, or failure with an error. */
export type Result<T, E = Failure> = { ok: true; value: T } | { ok: false; error: E };

/** Why something failed, tagged by `reason` so callers switch exhaustively. */
export type Failure =
  /** pipeline.yaml (or a --set) is wrong; each diagnostic points into a file. */
  | { reason: 'invalid-config'; diagnostics: readonly Diagnostic[] }
  /** Bad command-line usage. */
  | { reason: 'usage'; message: string }
  /** A stage failed: its command exited non-zero, or its code threw. */
  | { reason: 'stage-failed'; stage: string; message: string }
  /** Something in the environment (a missing dep file, an unreadable cache). */
  | { reason: 'io'; message: string };

/** Wraps a value as success. */
export function ok<T>(value: T): { ok: true; value: T } {
  return { ok: true, value };
}

/** Wraps an error as failure. */
export function fail<E>(error: E): { ok: false; error: E } {
  return { ok: false, error };
}

/** For exhaustive switches: the compiler proves this is never reached. */
export function unreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
