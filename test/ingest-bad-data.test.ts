// Bad data through the real CLI: each case is a temp project holding the real
// Kaggle image pair and test image plus one bad file (generated here with sharp,
// never committed). `pipe run` must exit 1 naming the file as it is on disk,
// print no stack trace, and leave no lock entry and no cached artifact.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { type CliResult, Rig, trackRigs } from './util/rig.js';
import { kaggleData } from './util/paths.js';
import { treeEntries } from './util/tree.js';

const PIPELINE = `stages:
  ingest:
    uses: ingest
    params: {data: data, height: 32, width: 40}
`;

type Sharp = typeof import('sharp');
const sharp = async (): Promise<Sharp> => (await import('sharp')).default;

/** A one-channel 8-bit LZW TIFF of h x w pixels (420x580 like Kaggle by default). */
async function greyTiff(h = 420, w = 580, value = (i: number): number => (i * 7) % 256): Promise<Buffer> {
  const px = Buffer.alloc(h * w);
  for (let i = 0; i < px.length; i++) px[i] = value(i);
  return (await sharp())(px, { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w').tiff({ compression: 'lzw' }).toBuffer();
}

/**
 * An uncompressed 8-bit grey TIFF written by hand with its directory before
 * the pixels (sharp writes it after), so cutting the file loses pixel data
 * but keeps a readable header.
 */
function directoryFirstTiff(h: number, w: number): Buffer {
  const entries: Array<[tag: number, type: number, value: number]> = [
    [256, 4, w], [257, 4, h], [258, 3, 8], [259, 3, 1], [262, 3, 1], [273, 4, 0], [277, 3, 1], [278, 4, h], [279, 4, h * w],
  ];
  const dataAt = 8 + 2 + entries.length * 12 + 4;
  const buf = Buffer.alloc(dataAt + h * w, 90);
  buf.write('II', 0, 'latin1');
  buf.writeUInt16LE(42, 2);
  buf.writeUInt32LE(8, 4);
  buf.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, value], i) => {
    const at = 10 + i * 12;
    buf.writeUInt16LE(tag, at);
    buf.writeUInt16LE(type, at + 2);
    buf.writeUInt32LE(1, at + 4);
    const v = tag === 273 ? dataAt : value;
    if (type === 3) buf.writeUInt16LE(v, at + 8);
    else buf.writeUInt32LE(v, at + 8);
  });
  buf.writeUInt32LE(0, dataAt - 4);
  return buf;
}

/** A temp project with data/train/1_1.tif, 1_1_mask.tif and data/test/1.tif (the real files). */
function project(): Rig {
  const rig = new Rig({ 'pipeline.yaml': PIPELINE });
  for (const f of ['train/1_1.tif', 'train/1_1_mask.tif', 'test/1.tif']) {
    mkdirSync(join(rig.dir, 'data', f, '..'), { recursive: true });
    copyFileSync(join(kaggleData, f), join(rig.dir, 'data', f));
  }
  return rig;
}

/** Every file under `dir` (relative paths; what is not a folder). */
function filesUnder(dir: string): string[] {
  return treeEntries(dir).filter((e) => !e.dir).map((e) => e.rel);
}

/** The run failed as a stage failure and left nothing behind. */
function assertFailedCleanly(rig: Rig, r: CliResult): string {
  const out = r.stdout + r.stderr;
  assert.equal(r.code, 1, out);
  assert.match(out, /FAILED ingest/);
  assert.doesNotMatch(out, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  if (rig.exists('pipe.lock')) assert.equal(parse(rig.read('pipe.lock'))?.stages?.ingest, undefined, 'no lock entry');
  assert.deepEqual(filesUnder(join(rig.dir, '.pipe', 'cache')), [], 'no cached object or run record');
  assert.deepEqual(filesUnder(rig.dir).filter((f) => f.endsWith('.tmp') || f.includes('.tmp/')), [], 'no temp debris');
  return out;
}

/** A bad-data case: what to add to (or change in) the data folder, and what the error must say. */
interface Case {
  readonly name: string;
  readonly files: () => Promise<Record<string, Buffer | string>>;
  readonly expect: readonly RegExp[];
}

const CASES: readonly Case[] = [
  {
    name: 'a truncated TIFF (its directory cut off)',
    files: async () => ({ 'test/2.tif': readFileSync(join(kaggleData, 'test', '1.tif')).subarray(0, 70_000) }),
    expect: [/data\/test\/2\.tif: truncated TIFF: its image directory ends at byte \d+ but the file has 70000 bytes/],
  },
  {
    name: 'a truncated TIFF (its pixel data cut off)',
    files: async () => ({ 'test/2.tif': directoryFirstTiff(420, 580).subarray(0, 5000) }),
    expect: [/data\/test\/2\.tif: truncated TIFF: its pixel data \(strips\) ends at byte 243722 but the file has 5000 bytes/],
  },
  { name: 'a zero-byte file', files: async () => ({ 'test/2.tif': '' }), expect: [/data\/test\/2\.tif: empty file \(0 bytes\)/] },
  {
    name: 'a PNG renamed .tif',
    files: async () => ({ 'test/2.tif': await (await sharp())(await greyTiff()).png().toBuffer() }),
    expect: [/data\/test\/2\.tif: a PNG file named \.tif/],
  },
  {
    name: 'a JPEG renamed .tif',
    files: async () => ({ 'train/1_1.tif': await (await sharp())(await greyTiff()).jpeg().toBuffer() }),
    expect: [/data\/train\/1_1\.tif: a JPEG file named \.tif/],
  },
  { name: 'a text file', files: async () => ({ 'test/2.tif': 'subject,img\n1,1\n' }), expect: [/data\/test\/2\.tif: a text file, not a TIFF/] },
  {
    name: 'an image of another size than the others',
    files: async () => ({ 'test/2.tif': await greyTiff(100, 120) }),
    expect: [/data\/test\/2\.tif: size 100x120 \(rows x cols\) differs from the 420x580 of the other 3 files \(e\.g\. data\/train\/1_1\.tif\)/],
  },
  {
    name: 'a 16-bit image',
    files: async () => {
      const px = new Uint16Array(420 * 580).fill(30_000);
      const tif = await (await sharp())(Buffer.from(px.buffer), { raw: { width: 580, height: 420, channels: 1, depth: 'ushort' } as import('sharp').CreateRaw })
        .toColourspace('grey16').tiff({ compression: 'none' }).toBuffer();
      return { 'test/2.tif': tif };
    },
    expect: [/data\/test\/2\.tif: 16-bit samples \(ushort\): ingest reads 8-bit grey only/],
  },
  {
    name: 'an RGB image',
    files: async () => ({
      'train/1_1.tif': await (await sharp())(Buffer.alloc(420 * 580 * 3, 128), { raw: { width: 580, height: 420, channels: 3 } }).tiff({ compression: 'lzw' }).toBuffer(),
    }),
    expect: [/data\/train\/1_1\.tif: 3 channels \(srgb\): ingest reads one-channel grey only/],
  },
  {
    name: 'a multi-page TIFF',
    files: async () => ({
      'test/2.tif': await (await sharp())(Buffer.alloc(420 * 580 * 2, 60), { raw: { width: 580, height: 840, channels: 1, pageHeight: 420 } }).toColourspace('b-w').tiff({ compression: 'lzw' }).toBuffer(),
    }),
    expect: [/data\/test\/2\.tif: a multi-page TIFF \(2 pages\)/],
  },
  {
    name: 'a mask with a value other than 0 and 255',
    files: async () => ({ 'train/1_2.tif': await greyTiff(), 'train/1_2_mask.tif': await greyTiff(420, 580, (i) => (i === 581 ? 128 : 0)) }),
    expect: [/data\/train\/1_2_mask\.tif: mask value 128 at row 1 col 1/],
  },
  {
    name: 'two training images for one id',
    files: async () => ({ 'train/01_1.tif': await greyTiff() }),
    expect: [/data\/train\/1_1\.tif: same id 1_1 as 01_1\.tif beside it/],
  },
  {
    name: 'two masks for one id',
    files: async () => ({ 'train/1_001_mask.tif': readFileSync(join(kaggleData, 'train', '1_1_mask.tif')) }),
    expect: [/data\/train\/1_1_mask\.tif: same id 1_1 as 1_001_mask\.tif beside it/],
  },
  { name: 'two test images for one id', files: async () => ({ 'test/001.tif': await greyTiff() }), expect: [/data\/test\/1\.tif: same id 1 as 001\.tif beside it/] },
  { name: 'a_1.tif', files: async () => ({ 'train/a_1.tif': await greyTiff() }), expect: [/data\/train\/a_1\.tif: unexpected file name/] },
  {
    name: '1_1_mask_mask.tif',
    files: async () => ({ 'train/1_1_mask_mask.tif': await greyTiff() }),
    expect: [/data\/train\/1_1_mask_mask\.tif: unexpected file name \(expected <subject>_<n>\.tif or <subject>_<n>_mask\.tif\)/],
  },
  { name: '1.TIF', files: async () => ({ 'test/2.TIF': await greyTiff() }), expect: [/data\/test\/2\.TIF: unexpected file name \(expected <n>\.tif\); the extension must be "\.tif", lower case/] },
  {
    name: 'an image with leading zeros and no mask (named as on disk)',
    files: async () => ({ 'train/03_1.tif': await greyTiff() }),
    expect: [/data\/train\/03_1\.tif: image without its mask 03_1_mask\.tif/],
  },
  {
    name: 'several problems at once, all listed',
    files: async () => ({ 'train/a_1.tif': 'x', 'train/2_1_mask.tif': await greyTiff(), 'test/01.tif': await greyTiff() }),
    expect: [/3 problems with the data files:/, /data\/train\/a_1\.tif: unexpected file name/, /data\/train\/2_1_mask\.tif: mask without its image 2_1\.tif/, /data\/test\/1\.tif: same id 1 as 01\.tif/],
  },
];

/** Writes `files` into the project's data folder. */
function writeData(rig: Rig, files: Record<string, Buffer | string>): void {
  for (const [p, bytes] of Object.entries(files)) writeFileSync(join(rig.dir, 'data', p), bytes);
}

describe('ingest refuses bad data, naming the file, with exit 1 and nothing written', { concurrency: 3 }, () => {
  const track = trackRigs();
  for (const c of CASES) {
    test(c.name, async () => {
      const rig = project();
      track(rig);
      writeData(rig, await c.files());
      const out = assertFailedCleanly(rig, await rig.run('run'));
      for (const re of c.expect) assert.match(out, re);
      assert.doesNotMatch(out, /(?<![0\d])3_1_mask\.tif|(?<![0\d])3_1\.tif/, 'a name is never rewritten without its zeros');
    });
  }
});

describe('ingest accepts odd but unambiguous data', { concurrency: 2 }, () => {
  const track = trackRigs();

  test('leading zeros: 02_1.tif with 02_1_mask.tif and test/007.tif are read under their own names', async () => {
    const rig = project();
    track(rig);
    const train = join(rig.dir, 'data', 'train');
    copyFileSync(join(train, '1_1.tif'), join(train, '02_1.tif'));
    copyFileSync(join(train, '1_1_mask.tif'), join(train, '02_1_mask.tif'));
    copyFileSync(join(rig.dir, 'data', 'test', '1.tif'), join(rig.dir, 'data', 'test', '007.tif'));
    const r = await rig.run('run');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /2 training pairs \(2 with a nerve\), 2 test images, 420x580 -> 32x40/);
    assert.equal(parse(rig.read('pipe.lock')).stages.ingest.metrics.train_images, 2);
  });

  test('images smaller than the model input are upscaled with a warning in the run output', async () => {
    const rig = new Rig({ 'pipeline.yaml': PIPELINE });
    track(rig);
    mkdirSync(join(rig.dir, 'data', 'train'), { recursive: true });
    mkdirSync(join(rig.dir, 'data', 'test'), { recursive: true });
    writeData(rig, { 'train/1_1.tif': await greyTiff(1, 1), 'train/1_1_mask.tif': await greyTiff(1, 1, () => 0), 'test/1.tif': await greyTiff(1, 1) });
    const r = await rig.run('run');
    const out = r.stdout + r.stderr;
    assert.equal(r.code, 0, out);
    assert.match(out, /\[ingest\] warning: the images are 1x1 \(rows x cols\), smaller than the model input 32x40: ingest upscales them, so the model sees mostly interpolated pixels \(e\.g\. data\/train\/1_1\.tif\)/);
  });

  test('images at or above the model size give no warning', async () => {
    const rig = project();
    track(rig);
    const r = await rig.run('run');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /warning/);
  });
});
