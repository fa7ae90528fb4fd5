/**
 * The synth stage's work loop: plans subjects and frames from the seed, renders
 * them and writes LZW TIFFs with sharp, a few encodes in flight while the next
 * frame renders. Loaded lazily by stages/synth.ts (it imports sharp).
 */
import { join } from 'node:path';
import type { StageContext } from '../../engine/stage-api.js';
import type { SynthParams } from '../synth.js';
import { makeRng, subSeed } from '../lib/prng.js';
import { H, W, makeSubject, planFrame, type FramePlan } from './scene.js';
import { renderFrame } from './render.js';
import { encodeRle } from '../lib/rle.js';

/** Counts of what was written. */
export interface SynthFacts {
  readonly train: number;
  readonly test: number;
  /** Train frames with a non-empty mask. */
  readonly labelled: number;
  /** Median non-empty mask area in pixels (0 when none). */
  readonly medianArea: number;
  /**
   * The true masks of the test frames (Kaggle RLE at 420x580, "" = no nerve),
   * by test id: written apart from the data folder, for the score stage only.
   */
  readonly testTruth: ReadonlyMap<number, string>;
}

/** Encodes one 420x580 grey frame as an 8-bit one-channel LZW TIFF. */
export async function encodeTiff(pixels: Uint8Array): Promise<Buffer> {
  const sharp = (await import('sharp')).default;
  return sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width: W, height: H, channels: 1 } })
    .toColourspace('b-w')
    .tiff({ compression: 'lzw' })
    .toBuffer();
}

/** Frames of one subject, in order. */
function* subjectFrames(seed: number, subject: number, count: number, difficulty: number) {
  const rng = makeRng(subSeed(seed, subject));
  const look = makeSubject(rng, difficulty);
  let prev: FramePlan | null = null;
  for (let n = 1; n <= count; n++) {
    const plan = planFrame(rng, look, difficulty, prev);
    prev = plan;
    yield { n, frame: renderFrame(look, plan, difficulty) };
  }
}

/** Generates the whole dataset into `dir` (its train/ and test/ folders exist). */
export async function generate(p: SynthParams, dir: string, ctx: StageContext): Promise<SynthFacts> {
  const { writeFile } = await import('node:fs/promises');
  const total = p.subjects * p.imagesPerSubject * 2 + p.testImages;
  let done = 0;
  const pending = new Set<Promise<void>>();
  const write = async (path: string, pixels: Uint8Array): Promise<void> => {
    const job = encodeTiff(pixels).then((buf) => writeFile(path, buf)).then(() => {
      pending.delete(job);
      done++;
      if (done % 20 === 0 || done === total) ctx.progress({ done, total, unit: 'files' });
    });
    pending.add(job);
    if (pending.size >= 4) await Promise.race(pending);
  };
  const areas: number[] = [];
  for (let s = 1; s <= p.subjects; s++) {
    for (const { n, frame } of subjectFrames(p.seed, s, p.imagesPerSubject, p.difficulty)) {
      if (ctx.signal.aborted) throw new Error('synth aborted');
      let area = 0;
      for (let i = 0; i < frame.mask.length; i++) if (frame.mask[i] !== 0) area++;
      if (area > 0) areas.push(area);
      await write(join(dir, 'train', `${s}_${n}.tif`), frame.image);
      await write(join(dir, 'train', `${s}_${n}_mask.tif`), frame.mask);
    }
  }
  // Test frames come from further subjects, never seen in training, about 20 frames each.
  const perTest = 20;
  let t = 0;
  const testTruth = new Map<number, string>();
  for (let s = p.subjects + 1; t < p.testImages; s++) {
    for (const { frame } of subjectFrames(p.seed, s, Math.min(perTest, p.testImages - t), p.difficulty)) {
      if (ctx.signal.aborted) throw new Error('synth aborted');
      t++;
      testTruth.set(t, encodeRle(frame.mask, H, W));
      await write(join(dir, 'test', `${t}.tif`), frame.image);
    }
  }
  await Promise.all(pending);
  areas.sort((a, b) => a - b);
  return {
    train: p.subjects * p.imagesPerSubject,
    test: p.testImages,
    labelled: areas.length,
    medianArea: areas.length === 0 ? 0 : areas[Math.floor(areas.length / 2)]!,
    testTruth,
  };
}
