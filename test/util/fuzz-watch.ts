/**
 * How the fuzzer (fuzz.ts) watches a running case: its output kept bounded
 * ({@link Capture}), and an interrupt, as Ctrl-C would, for a stage that
 * prints without end or a case that outlives the hard limit ({@link watchCase}).
 */

/** Why the harness interrupted a case. */
export interface Stopped {
  readonly afterMs: number;
  /**
   * A stage was printing when the harness interrupted: output had grown since
   * the last check and its last line was a stage's (`[stage] ...`). That is a
   * stage command running without end (e.g. a value mutated into `yes`): the
   * user's command, not pipe; the case must then end as an interrupted run (130).
   */
  readonly stagePrinting: boolean;
}

/**
 * Every this long (wall time) the harness looks at a case still running: if
 * a stage is printing (see {@link Stopped}) it interrupts the case. Far above
 * the 5 s rule, which slow cases are judged by (their CPU time, re-run alone):
 * on a loaded machine a case may take many times its CPU time in wall time.
 */
export const CASE_CHECK_MS = 30_000;

/** A case still running after this long (wall time) is interrupted whatever it does: a defect unless a stage was printing. */
export const CASE_HARD_LIMIT_MS = 600_000;

/** What a {@link Capture} keeps of each end of a stream: beyond twice this, the middle is dropped. */
export const CAPTURE_KEEP = 1 << 20;

/**
 * A case's output as text, bounded: the first and the last {@link CAPTURE_KEEP}
 * characters, with a note of how many were dropped between them. A mutated
 * command may print without end; holding all of it once hit V8's largest
 * string (seed 11), crashing the fuzzer rather than finding a defect. The
 * rules read the head (how it began) and the tail (how it ended: a stack trace
 * or an exit message is printed last).
 */
export class Capture {
  private head = '';
  private tail: string[] = [];
  private tailLength = 0;
  private dropped = 0;
  /** Characters written so far (kept or not). */
  written = 0;

  constructor(private readonly keep = CAPTURE_KEEP) {}

  write(t: string): void {
    this.written += t.length;
    if (this.head.length < this.keep) {
      const room = this.keep - this.head.length;
      this.head += t.slice(0, room);
      t = t.slice(room);
    }
    if (t.length === 0) return;
    this.tail.push(t);
    this.tailLength += t.length;
    // Compact once the tail holds twice what it keeps, so a long stream costs O(length).
    if (this.tailLength > 2 * this.keep) {
      const joined = this.tail.join('');
      this.dropped += joined.length - this.keep;
      this.tail = [joined.slice(-this.keep)];
      this.tailLength = this.keep;
    }
  }

  /** The last non-empty line kept. */
  lastLine(): string {
    const text = this.text().trimEnd();
    return text.slice(text.lastIndexOf('\n') + 1);
  }

  /** Characters dropped from the middle so far. */
  get droppedChars(): number {
    return this.dropped + Math.max(0, this.tailLength - this.keep);
  }

  /** What was kept: all of it, or head, a note of the dropped count, tail. */
  text(): string {
    const tail = this.tail.join('');
    const dropped = this.droppedChars;
    if (dropped === 0) return this.head + tail;
    return `${this.head}\n[fuzz harness: ${dropped} characters of output dropped here]\n${tail.slice(-this.keep)}`;
  }
}

/** A stage's output line, as the text logger prints it. */
const STAGE_OUTPUT = /^\[[^\]\s]+\] /;

/**
 * Every `checkMs`, interrupts the case (records why in `stopped`, calls `stop`)
 * if a stage is printing, or once {@link CASE_HARD_LIMIT_MS} has passed. Returns the timer.
 */
export function watchCase(checkMs: number, out: Capture, err: Capture, stopped: { value?: Stopped }, stop: () => void): NodeJS.Timeout {
  let seen = 0;
  let waited = 0;
  const timer = setInterval(() => {
    waited += checkMs;
    const written = out.written + err.written;
    const printing = written > seen && (STAGE_OUTPUT.test(out.lastLine()) || STAGE_OUTPUT.test(err.lastLine()));
    seen = written;
    if (!printing && waited < CASE_HARD_LIMIT_MS) return;
    clearInterval(timer);
    stopped.value = { afterMs: waited, stagePrinting: printing };
    stop();
  }, checkMs);
  return timer;
}
