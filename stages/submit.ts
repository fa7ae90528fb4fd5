/**
 * Stage kind `submit`: writes the Kaggle submission CSV from gate's `masks`.
 *
 *   img,pixels
 *   1,<rle>
 *   2,
 *
 * Test ids ascending numerically; a mask of fewer than `min_area` (10) pixels
 * is written empty. Param `out` ("submission.csv", a workspace path: the
 * stage's out); no artifacts.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { defineStage, type StageContext } from '../engine/stage-api.js';
import { numParam, strParam } from './lib/params.js';

/** Pixel count of an RLE string (sum of run lengths); validates numbers only. */
export function rleArea(rle: string): number {
  const t = rle.trim();
  if (t === '') return 0;
  const nums = t.split(/\s+/).map(Number);
  if (nums.length % 2 !== 0 || nums.some((n) => !Number.isInteger(n) || n < 0)) throw new Error(`malformed RLE "${rle.slice(0, 40)}"`);
  let area = 0;
  for (let i = 1; i < nums.length; i += 2) area += nums[i]!;
  return area;
}

/**
 * The submission CSV text for test masks by id (numeric strings): header
 * `img,pixels`, ids ascending numerically, masks under `minArea` pixels empty,
 * "\n" line ends and a final newline.
 */
export function submissionCsv(test: Readonly<Record<string, string>>, minArea = 10): string {
  const ids = Object.keys(test).sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0));
  const lines = ['img,pixels'];
  for (const id of ids) {
    const rle = test[id]!;
    lines.push(`${id},${rleArea(rle) < minArea ? '' : rle.trim()}`);
  }
  return lines.join('\n') + '\n';
}

export default defineStage({
  description: 'write the Kaggle submission CSV (img,pixels) from the gated test masks',
  artifacts: () => [],
  outs: (params) => [strParam(params, 'out', 'submission.csv')],
  async run(ctx: StageContext): Promise<void> {
    const out = strParam(ctx.params, 'out', 'submission.csv');
    const minArea = numParam(ctx.params, 'min_area', 10, { int: true, min: 0 });
    const masksPath = ctx.inputs['masks'];
    if (masksPath === undefined) throw new Error('submit needs the input artifact "masks" (from gate)');
    const masks = JSON.parse(await readFile(masksPath, 'utf8')) as { test?: Record<string, string> };
    if (masks.test === undefined || typeof masks.test !== 'object') throw new Error(`${masksPath}: no "test" masks`);
    const csv = submissionCsv(masks.test, minArea);
    const path = resolve(ctx.root, out);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, csv);
    const rows = csv.split('\n').length - 2;
    const withNerve = csv.split('\n').slice(1).filter((l) => l !== '' && !l.endsWith(',')).length;
    ctx.metric('rows', rows);
    ctx.metric('with_nerve', withNerve);
    ctx.log(`${out}: ${rows} rows, ${withNerve} with a nerve`);
  },
});
