/**
 * The engine's event stream. The engine never prints: loggers consume these
 * events (text for people, JSON for scripts).
 */
import type { StageFailure } from './result.js';
import type { Progress } from './stage-api.js';

/** Final state of a stage in one run. */
export type StageStatus = 'ran' | 'restored' | 'fresh' | 'failed' | 'skipped';

/** Something that happened during a run. */
export type EngineEvent =
  /** A stage starts running (or restoring); `why` says what made it stale. */
  | { readonly type: 'stage-start'; readonly stage: string; readonly action: 'run' | 'restore'; readonly why: readonly string[] }
  /** One line a stage printed. */
  | { readonly type: 'stage-output'; readonly stage: string; readonly line: string; readonly stream: 'stdout' | 'stderr' }
  | { readonly type: 'stage-progress'; readonly stage: string; readonly progress: Progress; readonly elapsedMs: number }
  | {
      readonly type: 'stage-end';
      readonly stage: string;
      readonly status: StageStatus;
      readonly key?: string;
      readonly durationMs: number;
      /** Why it failed or was skipped. */
      readonly message?: string;
      /** The same, as data. */
      readonly failure?: StageFailure;
      readonly metrics?: Readonly<Record<string, number | string>>;
    }
  /** A note for the user that is not tied to a stage's output. */
  | { readonly type: 'note'; readonly level: 'info' | 'warn'; readonly message: string; readonly stage?: string };

/** Receives events. */
export type EventSink = (event: EngineEvent) => void;
