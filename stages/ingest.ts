/**
 * Stage kind `ingest`: reads a Kaggle-layout folder, checks it and stores the
 * `dataset` artifact (format in stages/dataset.ts).
 *
 *   <data>/train/<subject>_<n>.tif  <data>/train/<subject>_<n>_mask.tif  <data>/test/<n>.tif
 *
 * Params: `data` ("data/synth"), `height` (80), `width` (112), `limit_train`,
 * `limit_test` (optional: keep the first N after sorting, for quick runs).
 * Checks: every file name matches the layout (hidden files and a top-level
 * synth.json are ignored), every image has its mask and vice versa, every
 * file is one-channel 8-bit and the size of the first one (420x580 for
 * Kaggle; another uniform size is accepted and recorded as orig_height/width),
 * masks hold only 0 and 255. The first problem stops the stage with an Error
 * naming the file. Images are shrunk by area averaging; masks are
 * area-averaged then thresholded at 0.5. Each mask's RLE at the original size
 * is kept in metadata `train_rle`, so gate scores against the true masks.
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defineStage, type Params, type StageContext } from '../engine/stage-api.js';
import { numParam, strParam } from './lib/params.js';

/** The resolved params of an ingest run. */
export interface IngestParams {
  readonly data: string;
  readonly height: number;
  readonly width: number;
  readonly limitTrain: number | null;
  readonly limitTest: number | null;
}

/** Validates ingest params (throws naming the param). */
export function ingestParams(p: Params): IngestParams {
  const limit = (name: string): number | null => (p[name] === undefined || p[name] === null ? null : numParam(p, name, 0, { int: true, min: 0 }));
  return {
    data: strParam(p, 'data', 'data/synth'),
    height: numParam(p, 'height', 80, { int: true, min: 1 }),
    width: numParam(p, 'width', 112, { int: true, min: 1 }),
    limitTrain: limit('limit_train'),
    limitTest: limit('limit_test'),
  };
}

/** A training pair or a test image found in the folder. */
export interface Listing {
  /** "subject_n" ids sorted by subject then n, each with its image and mask paths. */
  readonly train: ReadonlyArray<{ id: string; image: string; mask: string }>;
  /** Numeric ids ascending, with their paths. */
  readonly test: ReadonlyArray<{ id: string; image: string }>;
}

/**
 * Lists and pairs the files of a Kaggle-layout folder. Throws naming the
 * first file whose name does not fit, or the image/mask without its partner.
 */
export async function listKaggle(dir: string): Promise<Listing> {
  const ls = async (sub: string): Promise<string[]> => {
    try {
      return (await readdir(join(dir, sub))).filter((f) => !f.startsWith('.')).sort();
    } catch (e) {
      throw new Error(`${join(dir, sub)}: cannot list the folder (${(e as Error).message})`);
    }
  };
  const images = new Map<string, [number, number]>();
  const masks = new Set<string>();
  for (const f of await ls('train')) {
    const m = /^(\d+)_(\d+)(_mask)?\.tif$/.exec(f);
    if (m === null) throw new Error(`${join(dir, 'train', f)}: unexpected file name (expected <subject>_<n>.tif or <subject>_<n>_mask.tif)`);
    const id = `${Number(m[1])}_${Number(m[2])}`;
    if (m[3] !== undefined) masks.add(id);
    else images.set(id, [Number(m[1]), Number(m[2])]);
  }
  for (const id of masks) if (!images.has(id)) throw new Error(`${join(dir, 'train', `${id}_mask.tif`)}: mask without its image ${id}.tif`);
  for (const id of images.keys()) if (!masks.has(id)) throw new Error(`${join(dir, 'train', `${id}.tif`)}: image without its mask ${id}_mask.tif`);
  const train = [...images.entries()]
    .sort((a, b) => a[1][0] - b[1][0] || a[1][1] - b[1][1])
    .map(([id]) => ({ id, image: join(dir, 'train', `${id}.tif`), mask: join(dir, 'train', `${id}_mask.tif`) }));
  const test: Array<{ id: string; image: string }> = [];
  for (const f of await ls('test')) {
    const m = /^(\d+)\.tif$/.exec(f);
    if (m === null) throw new Error(`${join(dir, 'test', f)}: unexpected file name (expected <n>.tif)`);
    test.push({ id: String(Number(m[1])), image: join(dir, 'test', f) });
  }
  test.sort((a, b) => Number(a.id) - Number(b.id));
  return { train, test };
}

/** One decoded file: grey pixels at the original size. */
interface Decoded {
  readonly pixels: Uint8Array;
  readonly h: number;
  readonly w: number;
}

/**
 * Reads one file as one-channel 8-bit pixels with sharp. Throws naming the
 * file when it cannot be decoded (truncated, not a TIFF), has more than one
 * channel or is not 8-bit.
 */
export async function readGrey(path: string): Promise<Decoded> {
  const sharp = (await import('sharp')).default;
  try {
    const img = sharp(path, { failOn: 'truncated' });
    const meta = await img.metadata();
    if (meta.depth !== 'uchar') throw new Error(`not 8-bit (depth ${meta.depth})`);
    if (meta.channels !== 1) throw new Error(`not one-channel grey (${meta.channels} channels)`);
    const { data, info } = await img.extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    if (data.length !== info.width * info.height) throw new Error(`decoded ${data.length} bytes for ${info.width}x${info.height}`);
    return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.length), h: info.height, w: info.width };
  } catch (e) {
    throw new Error(`${path}: cannot read as an 8-bit grey image: ${(e as Error).message}`);
  }
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

/** The ingest work: list, read, check, resize, write the dataset artifact to `outPath`. */
export async function ingest(p: IngestParams, dir: string, outPath: string, ctx: StageContext): Promise<void> {
  const { resizeArea } = await import('./lib/crops.js');
  const { encodeRle } = await import('./lib/rle.js');
  const { writeTensors } = await import('../cache/tensors.js');
  const listing = await listKaggle(dir);
  const train = p.limitTrain === null ? listing.train : listing.train.slice(0, p.limitTrain);
  const test = p.limitTest === null ? listing.test : listing.test.slice(0, p.limitTest);
  const { height: h, width: w } = p;
  const plane = h * w;
  const total = train.length * 2 + test.length;
  let done = 0;
  let orig: { h: number; w: number; from: string } | null = null;
  const tick = (): void => {
    done++;
    if (done % 50 === 0 || done === total) ctx.progress({ done, total, unit: 'files' });
  };
  const load = async (path: string): Promise<Decoded> => {
    const d = await readGrey(path);
    orig ??= { h: d.h, w: d.w, from: path };
    if (d.h !== orig.h || d.w !== orig.w) throw new Error(`${path}: size ${d.h}x${d.w} (rows x cols) differs from ${orig.h}x${orig.w} of ${orig.from}`);
    tick();
    return d;
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
      if (v !== 0 && v !== 255) throw new Error(`${item.mask}: mask value ${v} at row ${Math.floor(k / mask.w)} col ${k % mask.w} (expected only 0 and 255)`);
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
  const o = orig ?? { h: 420, w: 580 };
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
  artifacts: () => ['dataset'],
  deps: (params) => [strParam(params, 'data', 'data/synth')],
  async run(ctx: StageContext): Promise<void> {
    const p = ingestParams(ctx.params);
    await ingest(p, resolve(ctx.root, p.data), join(ctx.outDir, 'dataset'), ctx);
  },
});
