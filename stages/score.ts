/**
 * Stage kind `score`: the held-out test score, as Kaggle's private
 * leaderboard gave it. Reads `submission.csv` (submit's out) and the test
 * images' true masks (synth's `truth` CSV, which no training stage reads:
 * test/score-stage.test.ts walks the default DAG to check it), and records:
 *
 * - `test_dice`: Kaggle mean Dice of the submission against the truth, the
 *   same number `pipe score submission.csv <truth>` prints;
 * - `test_dice_unet`: the U-Net alone on test (its probability map upsampled
 *   and thresholded at the threshold gate applied, as its `masks` record it,
 *   with no classifier and no min_pixels), when gate's `masks`, infer's
 *   `predictions` and ingest's `dataset` are inputs;
 * - `test_dice_empty`: predicting no nerve anywhere on test;
 * - `val_dice_empty`: the same baseline on validation (from gate's
 *   `val_truth.csv`), beside gate's `val_dice` and `val_dice_unet`.
 *
 * Nothing here chooses anything: the gate's thresholds are tuned on
 * validation only. With `truth: ""` (real data: the test truth does not
 * exist) the stage says so and records only `val_dice_empty`.
 * Artifact `test_dice.csv`: `img,dice,dice_unet,truth_area` per test image.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defineStage, type StageContext } from '../engine/stage-api.js';
import { declareParams, readParams, str } from './lib/params.js';
import type { Run } from './lib/rle.js';

/** The params of score: its contract with pipeline.yaml. */
export const SCORE_PARAMS = declareParams({
  submission: str('workspace path of the submission CSV to score (submit\'s out)', 'submission.csv'),
  truth: str('workspace path of the test images\' true masks (synth\'s truth CSV, read by no training stage); "" = none (real data): test is not scored', ''),
});

/** Kaggle ids compare as numbers: "007" is image 7. */
const normId = (id: string): string => id.split('_').map((d) => String(Number(d))).join('_');

/**
 * Runs of the U-Net alone on each test image, by id, at the threshold gate
 * applied (read from its `masks`); undefined when the inputs are not there.
 */
async function unetRuns(ctx: StageContext): Promise<Map<string, Run[]> | undefined> {
  const { predictions, dataset, masks } = ctx.inputs;
  if (predictions === undefined || dataset === undefined || masks === undefined) return undefined;
  const { gateApplied, unetTestRuns } = await import('./gate.js');
  const { threshold } = gateApplied(JSON.parse(await readFile(masks, 'utf8')) as unknown, masks);
  // Through gate's memo: in the warm worker gate ran in, its upsampled test maps are reused.
  const unet = await unetTestRuns(predictions, dataset, threshold);
  const out = new Map<string, Run[]>();
  unet.ids.forEach((id, i) => out.set(normId(id), unet.runs[i] as Run[]));
  return out;
}

async function run(ctx: StageContext): Promise<void> {
  const p = readParams(SCORE_PARAMS, ctx.params);
  const { readRleCsv, scoreTables, emptyScore } = await import('./lib/score.js');
  const { diceRuns } = await import('./lib/metric.js');
  const rows: string[] = ['img,dice,dice_unet,truth_area'];
  const valTruth = ctx.inputs['val_truth.csv'];
  if (valTruth !== undefined) {
    const t = await readRleCsv(valTruth, false);
    if (!t.ok) throw new Error(t.message);
    ctx.metric('val_dice_empty', emptyScore(t.rows));
  }
  if (p.truth === '') {
    ctx.log('no test truth (truth: ""): the test images are not scored; real data has none (Kaggle kept it)');
    await writeFile(join(ctx.outDir, 'test_dice.csv'), rows.join('\n') + '\n');
    return;
  }
  const [subPath, truthPath] = [resolve(ctx.root, p.submission), resolve(ctx.root, p.truth)];
  const sub = await readRleCsv(subPath, false);
  if (!sub.ok) throw new Error(sub.message);
  const truth = await readRleCsv(truthPath, false);
  if (!truth.ok) throw new Error(truth.message);
  const gated = scoreTables(sub.rows, truth.rows, p.submission, p.truth);
  if (!gated.ok) throw new Error(gated.message);
  ctx.metric('test_dice', gated.score);
  ctx.metric('test_dice_empty', emptyScore(truth.rows));
  const unet = await unetRuns(ctx);
  let unetNote = '';
  if (unet !== undefined) {
    const u = scoreTables(unet, truth.rows, 'predictions', p.truth);
    if (!u.ok) throw new Error(u.message);
    ctx.metric('test_dice_unet', u.score);
    unetNote = `, U-Net alone ${u.score.toFixed(4)}`;
  }
  for (const [id, runs] of truth.rows) {
    const t = runs.reduce((s, r) => s + r.length, 0);
    const u = unet?.get(id);
    rows.push(`${id},${diceRuns(sub.rows.get(id)!, runs)},${u === undefined ? '' : diceRuns(u, runs)},${t}`);
  }
  await writeFile(join(ctx.outDir, 'test_dice.csv'), rows.join('\n') + '\n');
  ctx.log(`test dice ${gated.score.toFixed(4)}${unetNote}, all-empty ${emptyScore(truth.rows).toFixed(4)} over ${gated.images} images`);
}

export default defineStage({
  description: 'test Dice of the submission against the held-out test truth, and the all-empty baselines',
  params: SCORE_PARAMS,
  artifacts: () => ['test_dice.csv'],
  light: true,
  deps: (params) => {
    const p = readParams(SCORE_PARAMS, params);
    return p.truth === '' ? [p.submission] : [p.submission, p.truth];
  },
  run,
});
