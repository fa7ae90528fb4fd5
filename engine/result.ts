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

/**
 * Why one stage did not complete: the one failure type a stage result, the
 * `--json` output and the exit code are made from (wireit's `Failure`).
 * `describeStageFailure` gives the line a person reads.
 */
export type StageFailure =
  /** A command stage exited non-zero (`command` set), or a module stage's process exited before reporting. */
  | { readonly reason: 'exit-code'; readonly code: number; readonly command?: string }
  /** The stage's process was killed by a signal it did not ask for (OOM killer, kill -9). */
  | { readonly reason: 'killed'; readonly signal: string }
  /** A module stage threw; `stack` is kept for `--json` and bug reports. */
  | { readonly reason: 'threw'; readonly message: string; readonly stack?: string }
  /** The stage finished but did not write a declared output (or, `artifact` set, an artifact). */
  | { readonly reason: 'output-missing'; readonly output: string; readonly artifact?: boolean }
  /** A command stage's `metrics` file is missing or not a JSON object. */
  | { readonly reason: 'bad-metrics'; readonly file: string; readonly detail: string }
  /** A declared dep does not exist or is not a regular file or folder. */
  | { readonly reason: 'dep-missing'; readonly dep: string; readonly detail: string }
  /** Writing failed for lack of space or another I/O error, naming what could not be written. */
  | { readonly reason: 'io'; readonly path: string; readonly message: string }
  /** Ctrl-C, SIGTERM or SIGHUP stopped the run before the stage completed. */
  | { readonly reason: 'interrupted' }
  /** A stage it needs failed or was skipped, so it did not run. */
  | { readonly reason: 'need-failed'; readonly need: string }
  /** A cached object did not hash to its name. */
  | { readonly reason: 'cache-corrupt'; readonly digest: string; readonly detail: string }
  /** A cluster job (executor: slurm) ended otherwise than COMPLETED, or could not be submitted (no `job`). */
  | { readonly reason: 'job-failed'; readonly job?: string; readonly state: string; readonly exitCode?: string; readonly log: readonly string[] };

/** The one line a person reads for `f`. */
export function describeStageFailure(f: StageFailure): string {
  switch (f.reason) {
    case 'exit-code': return f.command !== undefined ? `command exited with code ${f.code}: ${f.command}` : `stage process exited with code ${f.code} before finishing (crash?)`;
    case 'killed': return `stage process was killed by ${f.signal} (out of memory?)`;
    case 'threw': return f.message;
    case 'output-missing': return `stage did not write its ${f.artifact ? 'artifact' : 'output'} "${f.output}"`;
    case 'bad-metrics': return `metrics file ${f.file}: ${f.detail}`;
    case 'dep-missing': return `dependency "${f.dep}" ${f.detail}`;
    case 'io': return `cannot write ${f.path}: ${f.message}`;
    case 'interrupted': return 'interrupted';
    case 'need-failed': return `not run: "${f.need}" did not complete`;
    case 'cache-corrupt': return `cached object ${f.digest} is corrupt: ${f.detail}`;
    case 'job-failed':
      if (f.job === undefined) return `could not submit the Slurm job: ${f.state}`;
      return `Slurm job ${f.job} ended ${f.state} (exit code ${f.exitCode ?? '?'})` +
        (f.log.length ? `; the last lines of its log:\n${f.log.map((l) => `  ${l}`).join('\n')}` : '; its log is empty');
    default: return unreachable(f);
  }
}
