/**
 * Stage kind `submit`: writes the Kaggle submission CSV from gate's `masks`.
 *
 *   img,pixels
 *   1,<rle>
 *   2,
 *
 * Test ids ascending numerically; a mask of fewer than `min_area` pixels is
 * written empty. Params: {@link SUBMIT_PARAMS}; no artifacts.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { defineStage, type StageContext } from '../engine/stage-api.js';
import { declareParams, int, readParams, str } from './lib/params.js';

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

/** The params of submit: its contract with pipeline.yaml. */
export const SUBMIT_PARAMS = declareParams({
  out: str('workspace path of the CSV (the stage\'s out)', 'submission.csv'),
  min_area: int('a test mask of fewer pixels (at the original size) is written empty', 10, { minimum: 0 }),
});

export default defineStage({
  description: 'write the Kaggle submission CSV (img,pixels) from the gated test masks',
  params: SUBMIT_PARAMS,
  artifacts: () => [],
  outs: (params) => [readParams(SUBMIT_PARAMS, params).out],
  light: true,
  async run(ctx: StageContext): Promise<void> {
    const { out, min_area: minArea } = readParams(SUBMIT_PARAMS, ctx.params);
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
