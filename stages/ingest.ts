/**
 * Stage kind `ingest`: reads a Kaggle-layout folder, checks it and stores the
 * `dataset` artifact (format in stages/lib/dataset.ts).
 *
 *   <data>/train/<subject>_<n>.tif  <data>/train/<subject>_<n>_mask.tif  <data>/test/<n>.tif
 *
 * Params: `data` ("data/synth"), `height` (80), `width` (112), `limit_train`,
 * `limit_test` (optional: keep the first N after sorting, for quick runs).
 *
 * Checks, before anything is decoded (each problem names the file as it is on
 * disk; all problems found are reported together and the stage fails):
 * - names fit the layout (stages/lib/kaggle-layout.ts): `a_1.tif`, `1.TIF`,
 *   `1_1_mask_mask.tif` are refused; numbers may have leading zeros, but two
 *   files for one id (`01_1.tif` beside `1_1.tif`) are refused; every image
 *   has its mask and vice versa;
 * - every file read is a one-page, one-channel, 8-bit TIFF, not empty or
 *   truncated (stages/lib/tiff-checks.ts). 16-bit and colour (RGB) files are
 *   refused, not converted: the 16-bit range that maps to 0..255, or the mix
 *   of colours that is the grey, is a choice the user makes once with their
 *   own tool, not a silent guess per file;
 * - all files have one size (420x580 for Kaggle; another uniform size is
 *   accepted and recorded as orig_height/width); the files of another size
 *   than most are named. Images smaller than the model input (`height` x
 *   `width`) are upscaled with a warning in the run output;
 * - masks hold only 0 and 255.
 * Images are shrunk by area averaging; masks are area-averaged then
 * thresholded at 0.5. Each mask's RLE at the original size is kept in
 * metadata `train_rle`, so gate scores against the true masks.
 */
import { isAbsolute, join, relative, resolve } from 'node:path';
import { defineStage, type Params, type StageContext } from '../engine/stage-api.js';
import { listKaggle, type Problem } from './lib/kaggle-layout.js';
import { declareParams, int, optInt, readParams, str } from './lib/params.js';
import type { Decoded, ImageHeader } from './lib/tiff-checks.js';

/** The resolved params of an ingest run. */
export interface IngestParams {
  readonly data: string;
  readonly height: number;
  readonly width: number;
  readonly limitTrain: number | null;
  readonly limitTest: number | null;
}

/** The params of ingest: its contract with pipeline.yaml. */
export const INGEST_PARAMS = declareParams({
  data: str('folder in the Kaggle layout (train/, test/), relative to the project; hashed into the key', 'data/synth'),
  height: int('rows of the stored images (the model input size)', 80, { minimum: 1 }),
  width: int('columns of the stored images (the model input size)', 112, { minimum: 1 }),
  limit_train: optInt('keep only the first N training pairs after sorting (quick runs); null = all', { minimum: 0 }),
  limit_test: optInt('keep only the first N test images after sorting (quick runs); null = all', { minimum: 0 }),
});

/** Validates ingest params (throws naming the param). */
export function ingestParams(params: Params): IngestParams {
  const p = readParams(INGEST_PARAMS, params);
  return { data: p.data, height: p.height, width: p.width, limitTrain: p.limit_train, limitTest: p.limit_test };
}

/** Runs `work` over `items` with at most `limit` in flight, results in order. */
async function pool<T, R>(items: readonly T[], limit: number, signal: AbortSignal, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      if (signal.aborted) throw new Error('ingest aborted');
      const i = next++;
      out[i] = await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** At most this many problems are listed in a failure; the rest are counted. */
const SHOWN_PROBLEMS = 20;

/** The error that fails the stage, listing `problems` with paths as `shown` makes them. */
function problemsError(problems: readonly Problem[], shown: (path: string) => string): Error {
  const line = (q: Problem): string => `${shown(q.path)}: ${q.message}`;
  if (problems.length === 1) return new Error(line(problems[0]!));
  const more = problems.length > SHOWN_PROBLEMS ? `\n  ... and ${problems.length - SHOWN_PROBLEMS} more` : '';
  return new Error(`${problems.length} problems with the data files:\n${problems.slice(0, SHOWN_PROBLEMS).map((q) => `  ${line(q)}`).join('\n')}${more}`);
}

/**
 * The size most files have (ties: the first file's), and a problem for each
 * file of another size, naming one file of the common size.
 */
function sizeProblems(paths: readonly string[], headers: readonly ImageHeader[], shown: (path: string) => string): { common: ImageHeader | null; problems: Problem[] } {
  const counts = new Map<string, { n: number; first: number }>();
  headers.forEach((d, i) => {
    const c = counts.get(`${d.h}x${d.w}`);
    if (c === undefined) counts.set(`${d.h}x${d.w}`, { n: 1, first: i });
    else c.n++;
  });
  let best: { n: number; first: number } | undefined;
  for (const c of counts.values()) if (best === undefined || c.n > best.n || (c.n === best.n && c.first < best.first)) best = c;
  if (best === undefined) return { common: null, problems: [] };
  const common = headers[best.first]!;
  const problems: Problem[] = [];
  headers.forEach((d, i) => {
    if (d.h === common.h && d.w === common.w) return;
    const others = best.n === 1 ? `of ${shown(paths[best.first]!)}` : `of the other ${best.n} files (e.g. ${shown(paths[best.first]!)})`;
    problems.push({ path: paths[i]!, message: `size ${d.h}x${d.w} (rows x cols) differs from the ${common.h}x${common.w} ${others}` });
  });
  return { common, problems };
}

/** The ingest work: list, check, read, resize, write the dataset artifact to `outPath`. */
export async function ingest(p: IngestParams, dir: string, outPath: string, ctx: StageContext): Promise<void> {
  const { probeImage, readGrey } = await import('./lib/tiff-checks.js');
  const { resizeArea } = await import('./lib/crops.js');
  const { encodeRle } = await import('./lib/rle.js');
  const { writeTensors } = await import('../cache/tensors.js');
  const shown = (path: string): string => {
    const rel = relative(ctx.root, path);
    return rel.startsWith('..') || isAbsolute(rel) ? path : rel;
  };
  const listing = await listKaggle(dir);
  if (!listing.ok) throw problemsError(listing.error, shown);
  const train = p.limitTrain === null ? listing.value.train : listing.value.train.slice(0, p.limitTrain);
  const test = p.limitTest === null ? listing.value.test : listing.value.test.slice(0, p.limitTest);
  const files = [...train.flatMap((t) => [t.image, t.mask]), ...test.map((t) => t.image)];
  const probed = await pool(files, 8, ctx.signal, (path) => probeImage(path));
  const bad = probed.flatMap((r, i) => (r.ok ? [] : [{ path: files[i]!, message: r.error }]));
  if (bad.length > 0) throw problemsError(bad, shown);
  const headers = probed.map((r) => (r.ok ? r.value : { h: 0, w: 0 }));
  const sizes = sizeProblems(files, headers, shown);
  if (sizes.problems.length > 0) throw problemsError(sizes.problems, shown);
  const o = sizes.common ?? { h: 420, w: 580 };
  const { height: h, width: w } = p;
  if (sizes.common !== null && (o.h < h || o.w < w)) {
    ctx.log(`warning: the images are ${o.h}x${o.w} (rows x cols), smaller than the model input ${h}x${w}: ingest upscales them, so the model sees ${h * w > o.h * o.w * 4 ? 'mostly ' : ''}interpolated pixels (e.g. ${shown(files[0]!)})`);
  }
  const plane = h * w;
  const total = files.length;
  let done = 0;
  const load = async (path: string): Promise<Decoded> => {
    const d = await readGrey(path);
    if (!d.ok) throw problemsError([{ path, message: d.error }], shown);
    if (d.value.h !== o.h || d.value.w !== o.w) throw problemsError([{ path, message: `decoded as ${d.value.h}x${d.value.w}, its header said ${o.h}x${o.w} (did it change during the run?)` }], shown);
    done++;
    if (done % 50 === 0 || done === total) ctx.progress({ done, total, unit: 'files' });
    return d.value;
  };
  const shrink = (d: Decoded): Float32Array => resizeArea(d.pixels, d.h, d.w, h, w);
  const trainImages = new Uint8Array(train.length * plane);
  const trainMasks = new Uint8Array(train.length * plane);
  const testImages = new Uint8Array(test.length * plane);
  const trainRle = await pool(train, 4, ctx.signal, async (item, i) => {
    const img = shrink(await load(item.image));
    for (let k = 0; k < plane; k++) trainImages[i * plane + k] = Math.round(img[k]!);
    const mask = await load(item.mask);
    const bin = new Uint8Array(mask.pixels.length);
    for (let k = 0; k < bin.length; k++) {
      const v = mask.pixels[k]!;
      if (v !== 0 && v !== 255) throw problemsError([{ path: item.mask, message: `mask value ${v} at row ${Math.floor(k / mask.w)} col ${k % mask.w} (expected only 0 and 255)` }], shown);
      bin[k] = v === 255 ? 1 : 0;
    }
    const small = resizeArea(bin, mask.h, mask.w, h, w);
    for (let k = 0; k < plane; k++) trainMasks[i * plane + k] = small[k]! >= 0.5 ? 1 : 0;
    return encodeRle(bin, mask.h, mask.w);
  });
  await pool(test, 4, ctx.signal, async (item, i) => {
    const img = shrink(await load(item.image));
    for (let k = 0; k < plane; k++) testImages[i * plane + k] = Math.round(img[k]!);
  });
  await writeTensors(
    outPath,
    {
      train_images: { dtype: 'uint8', shape: [train.length, h, w], data: trainImages },
      train_masks: { dtype: 'uint8', shape: [train.length, h, w], data: trainMasks },
      test_images: { dtype: 'uint8', shape: [test.length, h, w], data: testImages },
    },
    {
      train_ids: JSON.stringify(train.map((t) => t.id)),
      test_ids: JSON.stringify(test.map((t) => t.id)),
      train_rle: JSON.stringify(trainRle),
      height: String(h),
      width: String(w),
      orig_height: String(o.h),
      orig_width: String(o.w),
    },
  );
  const withNerve = trainRle.filter((r) => r !== '').length;
  ctx.metric('train_images', train.length);
  ctx.metric('test_images', test.length);
  ctx.metric('nerve_fraction', train.length === 0 ? 0 : withNerve / train.length);
  ctx.log(`${train.length} training pairs (${withNerve} with a nerve), ${test.length} test images, ${o.h}x${o.w} -> ${h}x${w}`);
}

export default defineStage({
  description: 'read and check a Kaggle-layout image folder, resize, store the dataset tensors',
  params: INGEST_PARAMS,
  artifacts: () => ['dataset'],
  deps: (params) => [readParams(INGEST_PARAMS, params).data],
  async run(ctx: StageContext): Promise<void> {
    const p = ingestParams(ctx.params);
    await ingest(p, resolve(ctx.root, p.data), join(ctx.outDir, 'dataset'), ctx);
  },
});
