/**
 * Stage kind `synth`: writes a deterministic synthetic dataset in the exact
 * Kaggle layout, the built-in default data of the reference pipeline:
 *
 *   <out>/train/<subject>_<n>.tif        420x580 8-bit grey, LZW
 *   <out>/train/<subject>_<n>_mask.tif   0/255
 *   <out>/test/<n>.tif                   frames of further, unseen subjects
 *   <out>/synth.json                     the params (marks the folder as ours)
 *
 * Params: `subjects` (10), `images_per_subject` (40), `test_images` (100),
 * `seed` (1), `difficulty` (0.5, in 0..1), `out` ("data/synth"). Same params,
 * byte-identical files. The folder is a workspace out; the stage has no
 * artifacts. An existing `out` folder is replaced only if it holds our
 * `synth.json` marker (or is empty), so real data is never deleted.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineStage, type Params, type StageContext } from '../engine/stage-api.js';
import { numParam, strParam } from './lib/params.js';

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
}

/** Validates synth params (throws naming the param). */
export function synthParams(p: Params): SynthParams {
  const difficulty = numParam(p, 'difficulty', 0.5, { min: 0, max: 1 });
  return {
    subjects: numParam(p, 'subjects', 10, { int: true, min: 1 }),
    imagesPerSubject: numParam(p, 'images_per_subject', 40, { int: true, min: 1 }),
    testImages: numParam(p, 'test_images', 100, { int: true, min: 0 }),
    seed: numParam(p, 'seed', 1, { int: true, min: 0 }),
    difficulty,
    out: strParam(p, 'out', DEFAULT_SYNTH_OUT),
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
  artifacts: () => [],
  outs: (params) => [strParam(params, 'out', DEFAULT_SYNTH_OUT)],
  async run(ctx: StageContext): Promise<void> {
    const p = synthParams(ctx.params);
    const dir = resolve(ctx.root, p.out);
    const { generate } = await import('./synth/generate.js');
    await prepareOut(dir);
    const t0 = performance.now();
    const facts = await generate(p, dir, ctx);
    const ms = performance.now() - t0;
    await writeFile(join(dir, 'synth.json'), JSON.stringify({ generator: 'pipe synth', ...p }, null, 2) + '\n');
    const n = facts.train + facts.test;
    ctx.metric('train_images', facts.train);
    ctx.metric('test_images', facts.test);
    ctx.metric('nerve_fraction', facts.labelled / Math.max(1, facts.train));
    ctx.metric('median_mask_area', facts.medianArea);
    ctx.log(`${facts.train} train + ${facts.test} test frames, ${facts.labelled} with a nerve, ${(ms / Math.max(1, n)).toFixed(1)} ms/frame`);
  },
});
