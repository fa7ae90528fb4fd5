/**
 * Diagnostics that point into a file, printed as
 *
 *   pipeline.yaml:12:7 error: unknown key "nedds" in stage "gate"
 *      12 |     nedds: [infer]
 *         |     ^^^^^
 *
 * (the shape of wireit's DiagnosticPrinter and vite's generateCodeFrame).
 */

/** A 1-based line/column place in a source file; `length` is underlined. */
export interface Location {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly length: number;
}

/** One error about a file, with where it is and what was expected. */
export interface Diagnostic {
  readonly message: string;
  /** Where; absent when no place in a file is known (e.g. a bad --set). */
  readonly location?: Location;
}

/** Offsets -> 1-based line and column, for one source text. */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  /** Line and column of a character offset (clamped into the text). */
  position(offset: number): { line: number; column: number } {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: o - (this.starts[lo] ?? 0) + 1 };
  }
  /** The text of a 1-based line, without its newline. */
  lineText(line: number): string {
    const start = this.starts[line - 1];
    if (start === undefined) return '';
    const end = this.starts[line] ?? this.text.length + 1;
    return this.text.slice(start, end - 1).replace(/\r$/, '');
  }
}

/** A location for the source range [start, end) of `file`. */
export function locate(file: string, index: LineIndex, start: number, end: number): Location {
  const { line, column } = index.position(start);
  const lineLen = index.lineText(line).length;
  const length = Math.max(1, Math.min(end - start, lineLen - column + 1));
  return { file, line, column, length };
}

/**
 * Renders a diagnostic: `file:line:col message`, then the source line and an
 * underline when the source text is known.
 */
export function formatDiagnostic(d: Diagnostic, sources: ReadonlyMap<string, LineIndex> = new Map()): string {
  if (!d.location) return `error: ${d.message}`;
  const { file, line, column, length } = d.location;
  const head = `${file}:${line}:${column} error: ${d.message}`;
  const index = sources.get(file);
  if (!index) return head;
  const gutter = String(line).length;
  const src = index.lineText(line);
  const pad = ' '.repeat(gutter);
  return [
    head,
    ` ${String(line)} | ${src}`,
    ` ${pad} | ${' '.repeat(column - 1)}${'^'.repeat(Math.max(1, length))}`,
  ].join('\n');
}
