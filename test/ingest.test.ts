import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, symlink, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ingest from '../stages/ingest.js';
import { readDataset } from '../stages/lib/dataset.js';
import { decodeRle } from '../stages/lib/rle.js';
import type { Progress, StageContext } from '../engine/stage-api.js';
import { kaggleData, kaggleFile } from './util/paths.js';

function makeCtx(root: string, params: Record<string, string | number>): StageContext & { metrics: Record<string, number | string>; progresses: Progress[] } {
  const metrics: Record<string, number | string> = {};
  const progresses: Progress[] = [];
  return {
    name: 'ingest', params, inputs: {}, outDir: join(root, 'out'), root, signal: new AbortController().signal,
    log: () => {}, progress: (p) => progresses.push(p), metric: (k, v) => { metrics[k] = v; }, info: () => {},
    metrics, progresses,
  };
}

async function realFolder(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'ingest-'));
  await mkdir(join(root, 'data', 'train'), { recursive: true });
  await mkdir(join(root, 'data', 'test'), { recursive: true });
  await mkdir(join(root, 'out'));
  for (const f of ['train/1_1.tif', 'train/1_1_mask.tif', 'test/1.tif']) await symlink(join(kaggleData, f), join(root, 'data', f));
  return root;
}

test('ingest of the real files: 1_1_mask.tif has 4616 pixels and its RLE is the CSV row 1,1', async () => {
  const root = await realFolder();
  try {
    const ctx = makeCtx(root, { data: 'data' });
    await ingest.run(ctx);
    const ds = await readDataset(join(root, 'out', 'dataset'));
    assert.deepEqual(ds.trainIds, ['1_1']);
    assert.deepEqual(ds.testIds, ['1']);
    assert.equal(ds.h, 80);
    assert.equal(ds.w, 112);
    assert.equal(ds.origH, 420);
    assert.equal(ds.origW, 580);
    const csv = await readFile(kaggleFile('train_masks.csv'), 'utf8');
    const row = csv.split('\n').find((l) => l.startsWith('1,1,'))!;
    assert.equal(ds.trainRle[0], row.split(',')[2]);
    const full = decodeRle(ds.trainRle[0]!, 420, 580);
    assert.equal(full.reduce((a, b) => a + b, 0), 4616);
    // The 80x112 mask keeps about the same share of the frame.
    const small = ds.trainMasks.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(small / (80 * 112) - 4616 / (420 * 580)) < 0.003, `small mask ${small}`);
    assert.ok(ds.trainImages.some((v) => v > 200) && ds.testImages.some((v) => v > 200));
    assert.equal(ctx.metrics['nerve_fraction'], 1);
    assert.equal(ctx.progresses.at(-1)?.done, 3);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('ingest reports a truncated TIFF by name', async () => {
  const root = await realFolder();
  try {
    const bytes = await readFile(join(kaggleData, 'test', '1.tif'));
    await writeFile(join(root, 'data', 'test', '2.tif'), bytes.subarray(0, Math.floor(bytes.length / 3)));
    await assert.rejects(ingest.run(makeCtx(root, { data: 'data' })), /test\/2\.tif/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('ingest names a mask without its image and a bad file name', async () => {
  const root = await realFolder();
  try {
    await symlink(join(kaggleData, 'train', '1_1_mask.tif'), join(root, 'data', 'train', '1_2_mask.tif'));
    await assert.rejects(ingest.run(makeCtx(root, { data: 'data' })), /1_2_mask\.tif: mask without its image/);
    await rm(join(root, 'data', 'train', '1_2_mask.tif'));
    await writeFile(join(root, 'data', 'test', 'x.tif'), 'x');
    await assert.rejects(ingest.run(makeCtx(root, { data: 'data' })), /x\.tif: unexpected file name/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('ingest rejects a bad param by name', async () => {
  await assert.rejects(ingest.run(makeCtx(tmpdir(), { data: 'x', height: 0 })), /param height/);
});
