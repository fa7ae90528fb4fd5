import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import synth from '../stages/synth.js';
import { makeRng, subSeed } from '../stages/lib/prng.js';
import { AREA_MAX, AREA_MIN, makeSubject, planFrame, type FramePlan } from '../stages/synth/scene.js';
import type { StageContext } from '../engine/stage-api.js';

function ctxFor(root: string, params: Record<string, number | string>): StageContext & { metrics: Record<string, number | string> } {
  const metrics: Record<string, number | string> = {};
  return { name: 'synth', params, inputs: {}, outDir: join(root, 'o'), root, signal: new AbortController().signal,
    log: () => {}, progress: () => {}, metric: (k, v) => { metrics[k] = v; }, info: () => {}, metrics };
}

test('same seed gives byte-identical files in the Kaggle layout', async () => {
  const root = await mkdtemp(join(tmpdir(), 'synth-'));
  try {
    const params = { subjects: 2, images_per_subject: 3, test_images: 2, seed: 7, out: 'a' };
    await synth.run(ctxFor(root, params));
    await synth.run(ctxFor(root, { ...params, out: 'b' }));
    const train = (await readdir(join(root, 'a', 'train'))).sort();
    assert.deepEqual(train, ['1_1.tif', '1_1_mask.tif', '1_2.tif', '1_2_mask.tif', '1_3.tif', '1_3_mask.tif', '2_1.tif', '2_1_mask.tif', '2_2.tif', '2_2_mask.tif', '2_3.tif', '2_3_mask.tif']);
    assert.deepEqual((await readdir(join(root, 'a', 'test'))).sort(), ['1.tif', '2.tif']);
    for (const f of [...train.map((t) => `train/${t}`), 'test/1.tif', 'test/2.tif']) {
      assert.deepEqual(await readFile(join(root, 'a', f)), await readFile(join(root, 'b', f)), f);
    }
    const sharp = (await import('sharp')).default;
    const meta = await sharp(join(root, 'a', 'train', '1_1.tif')).metadata();
    assert.deepEqual([meta.width, meta.height, meta.channels, meta.depth], [580, 420, 1, 'uchar']);
    const mask = await sharp(join(root, 'a', 'train', '1_1_mask.tif')).raw().toBuffer();
    assert.ok(mask.every((v) => v === 0 || v === 255));
    // A different seed gives different pixels.
    await synth.run(ctxFor(root, { ...params, seed: 8, out: 'c' }));
    assert.notDeepEqual(await readFile(join(root, 'a', 'test', '1.tif')), await readFile(join(root, 'c', 'test', '1.tif')));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('synth refuses to replace a folder it did not write', async () => {
  const root = await mkdtemp(join(tmpdir(), 'synth-'));
  try {
    await mkdir(join(root, 'real'));
    await writeFile(join(root, 'real', 'keep.txt'), 'x');
    await assert.rejects(synth.run(ctxFor(root, { subjects: 1, images_per_subject: 1, test_images: 0, out: 'real' })), /not written by synth/);
    await assert.rejects(synth.run(ctxFor(root, { difficulty: 2 })), /param difficulty/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('about 41 % of frames are labelled, mask areas within the real range', () => {
  let labelled = 0;
  let total = 0;
  let dups = 0;
  const areas: number[] = [];
  for (let s = 1; s <= 30; s++) {
    const rng = makeRng(subSeed(1, s));
    const look = makeSubject(rng, 0.5);
    let prev: FramePlan | null = null;
    for (let n = 0; n < 100; n++) {
      const plan: FramePlan = planFrame(rng, look, 0.5, prev);
      total++;
      if (plan.labelled) {
        labelled++;
        areas.push(Math.PI * plan.nerve!.shape.rx * plan.nerve!.shape.ry);
      } else if (plan.nerveVisible) dups++;
      prev = plan;
    }
  }
  const fraction = labelled / total;
  assert.ok(fraction > 0.36 && fraction < 0.46, `fraction ${fraction}`);
  assert.ok(dups > 0, 'some unlabelled near-duplicates');
  areas.sort((a, b) => a - b);
  const median = areas[Math.floor(areas.length / 2)]!;
  assert.ok(median > 5500 && median < 8500, `median area ${median}`);
  assert.ok(areas[0]! >= AREA_MIN && areas.at(-1)! <= AREA_MAX);
});
