/**
 * Stage kind `split`: train/validation split of the dataset grouped by subject
 * (no subject on both sides).
 *
 * Params ({@link SPLIT_PARAMS}): `val_fraction` of the subjects chosen with
 * `seed`, or `val_subjects_from` (e.g. 38, the reference: subjects numbered
 * >= it are validation; overrides the fraction).
 * Input `dataset`; artifact `split` (JSON, format in stages/dataset.ts).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStage, type Params, type StageContext } from '../engine/stage-api.js';
import { declareParams, int, num, optInt, readParams } from './lib/params.js';
import { readDataset, subjectOf, type Split } from './lib/dataset.js';
import { makeRng } from './lib/prng.js';

/** The params of split: its contract with pipeline.yaml. */
export const SPLIT_PARAMS = declareParams({
  val_fraction: num('share of the subjects that go to validation (rounded, at least one)', 0.2, { exclusiveMinimum: 0, maximum: 1 }),
  seed: int('seed of the random choice of validation subjects', 1, { minimum: 0 }),
  val_subjects_from: optInt('subjects numbered >= this are validation (the reference: 38); overrides val_fraction; null = unset', { minimum: 0 }),
});

/**
 * Splits `ids` ("subject_n") by subject. Pure: the same ids and params give
 * the same split. Throws when either side would be empty.
 */
export function splitBySubject(ids: readonly string[], params: Params): Split {
  const p = readParams(SPLIT_PARAMS, params);
  const subjects = [...new Set(ids.map(subjectOf))].sort((a, b) => a - b);
  let val: Set<number>;
  if (p.val_subjects_from !== null) {
    const n = p.val_subjects_from;
    val = new Set(subjects.filter((s) => s >= n));
  } else {
    const count = Math.min(subjects.length - 1, Math.max(1, Math.round(p.val_fraction * subjects.length)));
    val = new Set(makeRng(p.seed).shuffle([...subjects]).slice(0, count));
  }
  const train_subjects = subjects.filter((s) => !val.has(s));
  const val_subjects = subjects.filter((s) => val.has(s));
  if (train_subjects.length === 0 || val_subjects.length === 0) {
    throw new Error(`split of ${subjects.length} subject(s) leaves ${train_subjects.length === 0 ? 'training' : 'validation'} empty: check val_fraction / val_subjects_from`);
  }
  const train: number[] = [];
  const valIdx: number[] = [];
  ids.forEach((id, i) => (val.has(subjectOf(id)) ? valIdx : train).push(i));
  return { train, val: valIdx, train_subjects, val_subjects };
}

export default defineStage({
  description: 'split the training images into train and validation, grouped by subject',
  params: SPLIT_PARAMS,
  artifacts: () => ['split'],
  async run(ctx: StageContext): Promise<void> {
    const path = ctx.inputs['dataset'];
    if (path === undefined) throw new Error('split needs the input artifact "dataset" (from ingest)');
    const ds = await readDataset(path);
    const split = splitBySubject(ds.trainIds, ctx.params);
    await writeFile(join(ctx.outDir, 'split'), JSON.stringify(split) + '\n');
    ctx.metric('train_images', split.train.length);
    ctx.metric('val_images', split.val.length);
    ctx.log(`train: ${split.train.length} images of ${split.train_subjects.length} subjects; val: ${split.val.length} of ${split.val_subjects.length} (subjects ${split.val_subjects.join(', ')})`);
  },
});
