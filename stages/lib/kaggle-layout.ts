/**
 * The Kaggle "Ultrasound Nerve Segmentation" folder layout, by file names only
 * (no file is opened here):
 *
 *   <dir>/train/<subject>_<n>.tif   <dir>/train/<subject>_<n>_mask.tif   <dir>/test/<n>.tif
 *
 * Numbers may carry leading zeros (`02_1.tif` is id `2_1`); every path in the
 * listing and in a problem is the file's name as it is on disk. Hidden files
 * are ignored.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fail, ok, type Result } from '../../engine/result.js';

/** One thing wrong with a file or folder: its path and what is wrong. */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

/** A training image with its mask; paths as found on disk. */
export interface TrainPair {
  /** `subject_n` with the numbers as numbers ("2_1" for `02_1.tif`). */
  readonly id: string;
  readonly image: string;
  readonly mask: string;
}

/** A test image; its id is the number ("7" for `007.tif`). */
export interface TestImage {
  readonly id: string;
  readonly image: string;
}

/** The files of a Kaggle-layout folder. */
export interface Listing {
  /** Sorted by subject, then n. */
  readonly train: readonly TrainPair[];
  /** Sorted by number. */
  readonly test: readonly TestImage[];
}

const TRAIN = /^(\d+)_(\d+)(_mask)?\.tif$/;
const TEST = /^(\d+)\.tif$/;

/** Why `name` does not fit `expected`, with a hint for the near misses. */
function badName(name: string, expected: string): string {
  const hint = /\.tiff?$/i.test(name) && !name.endsWith('.tif') ? '; the extension must be ".tif", lower case' : '';
  return `unexpected file name (expected ${expected})${hint}`;
}

/** Parses decimal digits as an id number, or null when past 2^53. */
function num(digits: string): number | null {
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Lists and pairs the files of a Kaggle-layout folder. Fails with every
 * problem found: a name that does not fit the layout, two files for one id
 * (`01_1.tif` beside `1_1.tif`: one would never be read), an image without
 * its mask or a mask without its image, an unreadable folder.
 */
export async function listKaggle(dir: string): Promise<Result<Listing, Problem[]>> {
  const problems: Problem[] = [];
  const ls = async (sub: string): Promise<string[]> => {
    try {
      const entries = await readdir(join(dir, sub), { withFileTypes: true });
      const names: string[] = [];
      for (const e of entries) {
        if (e.name.startsWith('.')) continue;
        if (e.isDirectory()) problems.push({ path: join(dir, sub, e.name), message: 'a folder where a file was expected' });
        else names.push(e.name);
      }
      return names.sort();
    } catch (e) {
      problems.push({ path: join(dir, sub), message: `cannot list the folder (${(e as Error).message})` });
      return [];
    }
  };
  // id -> file name, for images and masks; the first name seen keeps the id.
  const images = new Map<string, { name: string; subject: number; n: number }>();
  const masks = new Map<string, string>();
  const claim = (map: Map<string, string>, id: string, name: string, sub: string): boolean => {
    const had = map.get(id);
    if (had === undefined) {
      map.set(id, name);
      return true;
    }
    problems.push({ path: join(dir, sub, name), message: `same id ${id} as ${had} beside it: one of them would never be read; rename or remove one` });
    return false;
  };
  const imageNames = new Map<string, string>();
  for (const f of await ls('train')) {
    const m = TRAIN.exec(f);
    const subject = m ? num(m[1]!) : null;
    const n = m ? num(m[2]!) : null;
    if (m === null || subject === null || n === null) {
      problems.push({ path: join(dir, 'train', f), message: badName(f, '<subject>_<n>.tif or <subject>_<n>_mask.tif') });
      continue;
    }
    const id = `${subject}_${n}`;
    if (m[3] !== undefined) claim(masks, id, f, 'train');
    else if (claim(imageNames, id, f, 'train')) images.set(id, { name: f, subject, n });
  }
  for (const [id, name] of masks) {
    if (!images.has(id)) problems.push({ path: join(dir, 'train', name), message: `mask without its image ${name.replace(/_mask\.tif$/, '.tif')}` });
  }
  for (const [id, { name }] of images) {
    if (!masks.has(id)) problems.push({ path: join(dir, 'train', name), message: `image without its mask ${name.replace(/\.tif$/, '_mask.tif')}` });
  }
  const train = [...images.entries()]
    .filter(([id]) => masks.has(id))
    .sort((a, b) => a[1].subject - b[1].subject || a[1].n - b[1].n)
    .map(([id, { name }]) => ({ id, image: join(dir, 'train', name), mask: join(dir, 'train', masks.get(id)!) }));
  const testNames = new Map<string, string>();
  const test: Array<TestImage & { n: number }> = [];
  for (const f of await ls('test')) {
    const m = TEST.exec(f);
    const n = m ? num(m[1]!) : null;
    if (n === null) {
      problems.push({ path: join(dir, 'test', f), message: badName(f, '<n>.tif') });
      continue;
    }
    if (claim(testNames, String(n), f, 'test')) test.push({ id: String(n), image: join(dir, 'test', f), n });
  }
  test.sort((a, b) => a.n - b.n);
  if (problems.length > 0) return fail(problems);
  return ok({ train, test: test.map(({ id, image }) => ({ id, image })) });
}
