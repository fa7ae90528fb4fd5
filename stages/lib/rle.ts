/**
 * Kaggle run-length encoding of binary masks.
 *
 * Pixels are numbered 1..h*w top-to-bottom, then left-to-right (column-major:
 * pixel `(row y, col x)` is number `x * h + y + 1`). A mask is written as
 * space-separated "start length" pairs, runs ascending and never overlapping;
 * an empty mask is the empty string. A run may continue from the bottom of one
 * column into the top of the next, exactly as Kaggle's own encoder does.
 *
 * In memory a mask is a row-major `Uint8Array` of `h * w` values 0/1 (any
 * non-zero value counts as set when encoding).
 */

/** One run: `start` is the 0-based column-major pixel index, `length` >= 1. */
export interface Run {
  readonly start: number;
  readonly length: number;
}

/**
 * Runs of a row-major mask in column-major order, 0-based starts. Adjacent
 * runs never touch (a run is maximal).
 */
export function maskRuns(mask: Uint8Array, h: number, w: number): Run[] {
  if (mask.length !== h * w) throw new Error(`mask has ${mask.length} pixels, expected ${h}x${w} = ${h * w}`);
  const runs: Run[] = [];
  let runStart = -1;
  for (let x = 0; x < w; x++) {
    const base = x * h;
    for (let y = 0, i = x; y < h; y++, i += w) {
      if (mask[i] !== 0) {
        if (runStart < 0) runStart = base + y;
      } else if (runStart >= 0) {
        runs.push({ start: runStart, length: base + y - runStart });
        runStart = -1;
      }
    }
  }
  if (runStart >= 0) runs.push({ start: runStart, length: h * w - runStart });
  return runs;
}

/** Formats runs as the Kaggle string ("start length" pairs, 1-indexed starts). */
export function formatRuns(runs: readonly Run[]): string {
  const parts: string[] = new Array<string>(runs.length * 2);
  for (let i = 0; i < runs.length; i++) {
    const r = runs[i]!;
    parts[2 * i] = String(r.start + 1);
    parts[2 * i + 1] = String(r.length);
  }
  return parts.join(' ');
}

/**
 * Encodes a row-major mask of `h x w` as a Kaggle RLE string ("" when empty).
 * Throws when the mask's length is not `h * w`.
 */
export function encodeRle(mask: Uint8Array, h: number, w: number): string {
  return formatRuns(maskRuns(mask, h, w));
}

/**
 * Parses and validates a Kaggle RLE string for an `h x w` image into runs
 * (0-based starts). Empty or all-blank input gives no runs. Throws an Error
 * saying what is wrong when a token is not a positive integer, the count of
 * numbers is odd, a run is not after the previous one (unsorted or
 * overlapping), or a run ends past pixel `h * w`.
 */
export function parseRle(rle: string, h: number, w: number): Run[] {
  const text = rle.trim();
  if (text === '') return [];
  const tokens = text.split(/\s+/);
  if (tokens.length % 2 !== 0) throw new Error(`RLE has an odd count of numbers (${tokens.length}): expected "start length" pairs`);
  const total = h * w;
  const runs: Run[] = [];
  let nextFree = 0; // first 0-based pixel a following run may start at
  for (let i = 0; i < tokens.length; i += 2) {
    const s = tokens[i]!;
    const l = tokens[i + 1]!;
    if (!/^\d+$/.test(s) || !/^\d+$/.test(l)) throw new Error(`RLE pair ${i / 2 + 1} "${s} ${l}" is not two non-negative integers`);
    const start = Number(s) - 1;
    const length = Number(l);
    if (start < 0) throw new Error(`RLE pair ${i / 2 + 1}: start ${s} is below 1 (pixels are 1-indexed)`);
    if (length < 1) throw new Error(`RLE pair ${i / 2 + 1}: length ${l} is below 1`);
    if (start < nextFree) {
      throw new Error(`RLE pair ${i / 2 + 1}: start ${s} is not after the previous run (ending at pixel ${nextFree}): runs must be sorted and non-overlapping`);
    }
    if (start + length > total) {
      throw new Error(`RLE pair ${i / 2 + 1}: run ${s}+${l} ends at pixel ${start + length}, past the last pixel ${total} of ${h}x${w}`);
    }
    runs.push({ start, length });
    nextFree = start + length;
  }
  return runs;
}

/**
 * Decodes a Kaggle RLE string into a new row-major `h x w` mask of 0/1.
 * Validates as {@link parseRle} does and throws the same errors.
 */
export function decodeRle(rle: string, h: number, w: number): Uint8Array {
  const mask = new Uint8Array(h * w);
  for (const { start, length } of parseRle(rle, h, w)) {
    for (let p = start, end = start + length; p < end; p++) {
      const x = Math.floor(p / h);
      mask[(p - x * h) * w + x] = 1;
    }
  }
  return mask;
}

/** Number of pixels covered by runs. */
export function runsArea(runs: readonly Run[]): number {
  let n = 0;
  for (const r of runs) n += r.length;
  return n;
}
