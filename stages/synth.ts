/**
 * Stage kind `synth`: writes a deterministic synthetic dataset in the exact
 * Kaggle layout, the built-in default data of the reference pipeline:
 *
 *   <out>/train/<subject>_<n>.tif        420x580 8-bit grey, LZW
 *   <out>/train/<subject>_<n>_mask.tif   0/255
 *   <out>/test/<n>.tif                   frames of further, unseen subjects
 *   <out>/synth.json                     the params (marks the folder as ours)
 *   <truth>  (default <out>-truth/test_masks.csv)
 *                                        the test frames' true masks, `img,pixels`
 *
 * The truth is the private leaderboard: it lies outside `out`, so ingest (which
 * reads `out`) and every stage trained from it never see it; only the `score`
 * stage reads it (test/score-stage.test.ts walks the default DAG to check).
 *
 * Params: {@link SYNTH_PARAMS}. Same params, byte-identical files. Both paths are workspace outs; the stage has no
 * artifacts. An existing `out` folder is replaced only if it holds our
 * `synth.json` marker (or is empty), so real data is never deleted.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { defineStage, type Params, type StageContext } from '../engine/stage-api.js';
import { declareParams, int, num, readParams, str } from './lib/params.js';

/** Default workspace folder of the synthetic data. */
export const DEFAULT_SYNTH_OUT = 'data/synth';

/** The resolved params of a synth run. */
export interface SynthParams {
  readonly subjects: number;
  readonly imagesPerSubject: number;
  readonly testImages: number;
  readonly seed: number;
  readonly difficulty: number;
  readonly out: string;
  /** Workspace path of the test truth CSV. */
  readonly truth: string;
}

/** The params of synth: its contract with pipeline.yaml. */
export const SYNTH_PARAMS = declareParams({
  subjects: int('number of training subjects (patients)', 10, { minimum: 1 }),
  images_per_subject: int('training images (with masks) per subject', 40, { minimum: 1 }),
  test_images: int('test images, from further unseen subjects', 100, { minimum: 0 }),
  seed: int('seed of every random choice: same params, byte-identical files', 1, { minimum: 0 }),
  difficulty: num('0..1: higher lowers the nerve\'s contrast and raises the noise', 0.5, { minimum: 0, maximum: 1 }),
  out: str('workspace folder written (the stage\'s out); replaced only if synth wrote it', DEFAULT_SYNTH_OUT),
  truth: str('workspace CSV (img,pixels, Kaggle RLE) of the test images\' true masks, outside out: read by the score stage only; "" = <out>-truth/test_masks.csv', ''),
});

/** Where the test truth goes: `truth`, else `<out>-truth/test_masks.csv`. */
export function truthPath(out: string, truth: string): string {
  return truth !== '' ? truth : `${out.replace(/[\\/]+$/, '')}-truth/test_masks.csv`;
}

/** The test truth CSV: `img,pixels`, ids ascending, "\n" line ends. */
export function truthCsv(truth: ReadonlyMap<number, string>): string {
  const ids = [...truth.keys()].sort((a, b) => a - b);
  return ['img,pixels', ...ids.map((id) => `${id},${truth.get(id)!}`)].join('\n') + '\n';
}

/** Validates synth params (throws naming the param). */
export function synthParams(params: Params): SynthParams {
  const p = readParams(SYNTH_PARAMS, params);
  return {
    subjects: p.subjects,
    imagesPerSubject: p.images_per_subject,
    testImages: p.test_images,
    seed: p.seed,
    difficulty: p.difficulty,
    out: p.out,
    truth: truthPath(p.out, p.truth),
  };
}

async function prepareOut(dir: string): Promise<void> {
  if (existsSync(dir)) {
    const entries = await readdir(dir);
    if (entries.length > 0 && !entries.includes('synth.json')) {
      throw new Error(`param out: ${dir} exists and was not written by synth (no synth.json): refusing to replace it`);
    }
    await rm(dir, { recursive: true, force: true });
  }
  await mkdir(join(dir, 'train'), { recursive: true });
  await mkdir(join(dir, 'test'), { recursive: true });
}

export default defineStage({
  description: 'generate a deterministic synthetic ultrasound dataset in the Kaggle layout',
  params: SYNTH_PARAMS,
  artifacts: () => [],
  outs: (params) => {
    const p = synthParams(params);
    return [p.out, p.truth];
  },
  async run(ctx: StageContext): Promise<void> {
    const p = synthParams(ctx.params);
    const dir = resolve(ctx.root, p.out);
    const truth = resolve(ctx.root, p.truth);
    if (truth === dir || truth.startsWith(dir + sep)) {
      throw new Error(`param truth: ${p.truth} lies inside out (${p.out}), which ingest reads: the test truth must stay where no training stage looks`);
    }
    const { generate } = await import('./synth/generate.js');
    await prepareOut(dir);
    const t0 = performance.now();
    const facts = await generate(p, dir, ctx);
    const ms = performance.now() - t0;
    await writeFile(join(dir, 'synth.json'), JSON.stringify({ generator: 'pipe synth', ...p }, null, 2) + '\n');
    await mkdir(dirname(truth), { recursive: true });
    await writeFile(truth, truthCsv(facts.testTruth));
    const n = facts.train + facts.test;
    ctx.metric('train_images', facts.train);
    ctx.metric('test_images', facts.test);
    ctx.metric('nerve_fraction', facts.labelled / Math.max(1, facts.train));
    ctx.metric('median_mask_area', facts.medianArea);
    ctx.log(`${facts.train} train + ${facts.test} test frames, ${facts.labelled} with a nerve, ${(ms / Math.max(1, n)).toFixed(1)} ms/frame`);
  },
});
