/**
 * The Kaggle metric between two RLE CSV files, for `pipe score PRED TRUTH`.
 *
 * PRED is `img,pixels` (img numeric, or `<subject>_<img>` to score against
 * training masks); TRUTH is `img,pixels` or `subject,img,pixels` (like
 * train_masks.csv), its rows matched on `<subject>_<img>`. Masks are
 * 420x580 unless told otherwise. Every problem is a value, not a throw: a
 * malformed row names the file and line; ids present on one side only are
 * listed (the first few).
 */
import { readFile } from 'node:fs/promises';
import { diceRuns, mean } from './metric.js';
import { parseRle, type Run } from './rle.js';

/** The outcome of {@link scoreFiles}. */
export type ScoreResult = { ok: true; score: number; images: number } | { ok: false; message: string };

type Table = { ok: true; rows: Map<string, Run[]> } | { ok: false; message: string };

/** Parses an RLE CSV into runs by id; the first malformed row is reported as `file:line: what`. */
export async function readRleCsv(path: string, allowSubject: boolean, h = 420, w = 580): Promise<Table> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return { ok: false, message: `${path}: cannot read (${(e as Error).message})` };
  }
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const header = (lines[0] ?? '').trim();
  const withSubject = header === 'subject,img,pixels';
  if (header !== 'img,pixels' && !(allowSubject && withSubject)) {
    return { ok: false, message: `${path}:1: header is "${header}", expected "img,pixels"${allowSubject ? ' or "subject,img,pixels"' : ''}` };
  }
  const fields = withSubject ? 3 : 2;
  const rows = new Map<string, Run[]>();
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n]!;
    const where = `${path}:${n + 1}`;
    const cells = line.split(',');
    if (cells.length !== fields) return { ok: false, message: `${where}: expected ${fields} comma-separated fields, got ${cells.length}: "${line.slice(0, 60)}"` };
    const ids = cells.slice(0, fields - 1).map((c) => c.trim());
    if (ids.some((c) => !/^\d+(_\d+)?$/.test(c))) return { ok: false, message: `${where}: id "${ids.join(',')}" is not numeric (or <subject>_<img>)` };
    const id = ids.map((c) => c.split('_').map((d) => String(Number(d))).join('_')).join('_');
    if (rows.has(id)) return { ok: false, message: `${where}: image ${id} appears twice` };
    try {
      rows.set(id, parseRle(cells[fields - 1]!, h, w));
    } catch (e) {
      return { ok: false, message: `${where}: ${(e as Error).message}` };
    }
  }
  return { ok: true, rows };
}

function missing(from: ReadonlyMap<string, Run[]>, inside: ReadonlyMap<string, Run[]>): string[] {
  const out: string[] = [];
  for (const id of from.keys()) if (!inside.has(id)) out.push(id);
  return out;
}

function sample(ids: string[]): string {
  return ids.slice(0, 5).join(', ') + (ids.length > 5 ? ', ...' : '');
}

/**
 * Mean per-image Dice (1 when both masks are empty) of PRED against TRUTH.
 * Fails (ok: false) on an unreadable file, a malformed row, a duplicate id,
 * or images present in one file and not the other.
 */
export async function scoreFiles(predPath: string, truthPath: string): Promise<ScoreResult> {
  const pred = await readRleCsv(predPath, false);
  if (!pred.ok) return pred;
  const truth = await readRleCsv(truthPath, true);
  if (!truth.ok) return truth;
  return scoreTables(pred.rows, truth.rows, predPath, truthPath);
}

/**
 * Mean per-image Dice of masks by id against true masks by id; the names say
 * which side lacks an image when the ids differ (ok: false).
 */
export function scoreTables(pred: ReadonlyMap<string, Run[]>, truth: ReadonlyMap<string, Run[]>, predName: string, truthName: string): ScoreResult {
  const notInTruth = missing(pred, truth);
  if (notInTruth.length > 0) return { ok: false, message: `${notInTruth.length} image(s) of ${predName} are not in ${truthName}: ${sample(notInTruth)}` };
  const notInPred = missing(truth, pred);
  if (notInPred.length > 0) return { ok: false, message: `${notInPred.length} image(s) of ${truthName} have no prediction in ${predName}: ${sample(notInPred)}` };
  const scores: number[] = [];
  for (const [id, runs] of pred) scores.push(diceRuns(runs, truth.get(id)!));
  return { ok: true, score: mean(scores), images: scores.length };
}

/** The score of predicting no nerve anywhere: the fraction of empty true masks (1 for none). */
export function emptyScore(truth: ReadonlyMap<string, readonly Run[]>): number {
  return mean([...truth.values()].map((runs) => (runs.length === 0 ? 1 : 0)));
}
