/**
 * Reading the `dataset` (ingest) and `split` artifacts, shared by the stages
 * downstream of ingest. The formats are the fixed contract of the briefing:
 *
 *   dataset: tensors train_images u8 [N,H,W], train_masks u8 [N,H,W] (0/1),
 *            test_images u8 [M,H,W]; metadata train_ids, test_ids (JSON
 *            arrays), height, width, orig_height, orig_width, and train_rle
 *            (JSON array: each training mask's RLE at the original size).
 *   split:   {"train": [i..], "val": [i..], "train_subjects": [s..], "val_subjects": [s..]}
 */
import { readFile } from 'node:fs/promises';

/** The dataset artifact, decoded. */
export interface Dataset {
  /** Model size (rows, cols). */
  readonly h: number;
  readonly w: number;
  /** Size of the original images. */
  readonly origH: number;
  readonly origW: number;
  /** "subject_n" ids, sorted by subject then n. */
  readonly trainIds: readonly string[];
  /** Numeric test ids, ascending. */
  readonly testIds: readonly string[];
  /** [N * h * w] grey levels. */
  readonly trainImages: Uint8Array;
  /** [N * h * w] 0/1. */
  readonly trainMasks: Uint8Array;
  /** [M * h * w] grey levels. */
  readonly testImages: Uint8Array;
  /** Each training mask's Kaggle RLE at origH x origW ("" = empty). */
  readonly trainRle: readonly string[];
}

/** The split artifact. */
export interface Split {
  readonly train: readonly number[];
  readonly val: readonly number[];
  readonly train_subjects: readonly number[];
  readonly val_subjects: readonly number[];
}

function jsonArray(meta: Record<string, string>, key: string, path: string): string[] {
  const raw = meta[key];
  if (raw === undefined) throw new Error(`${path}: metadata has no ${key}`);
  const v: unknown = JSON.parse(raw);
  if (!Array.isArray(v) || v.some((e) => typeof e !== 'string')) throw new Error(`${path}: metadata ${key} is not a JSON array of strings`);
  return v as string[];
}

function intMeta(meta: Record<string, string>, key: string, path: string): number {
  const v = Number(meta[key]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${path}: metadata ${key} is not a positive integer (${meta[key]})`);
  return v;
}

/** Reads and checks a dataset artifact; errors name the file. */
export async function readDataset(path: string): Promise<Dataset> {
  const { readTensors } = await import('../../cache/tensors.js');
  const { tensors, metadata } = await readTensors(path);
  const h = intMeta(metadata, 'height', path);
  const w = intMeta(metadata, 'width', path);
  const trainIds = jsonArray(metadata, 'train_ids', path);
  const testIds = jsonArray(metadata, 'test_ids', path);
  const get = (name: string, n: number): Uint8Array => {
    const t = tensors[name];
    if (t === undefined) throw new Error(`${path}: no tensor ${name}`);
    if (!(t.data instanceof Uint8Array) || t.data.length !== n * h * w) throw new Error(`${path}: tensor ${name} is not uint8 [${n},${h},${w}]`);
    return t.data;
  };
  const trainRle = metadata['train_rle'] === undefined ? [] : jsonArray(metadata, 'train_rle', path);
  return {
    h,
    w,
    origH: intMeta(metadata, 'orig_height', path),
    origW: intMeta(metadata, 'orig_width', path),
    trainIds,
    testIds,
    trainImages: get('train_images', trainIds.length),
    trainMasks: get('train_masks', trainIds.length),
    testImages: get('test_images', testIds.length),
    trainRle,
  };
}

/** Reads and checks a split artifact against the number of training images `n` (if given). */
export async function readSplit(path: string, n?: number): Promise<Split> {
  const v = JSON.parse(await readFile(path, 'utf8')) as Partial<Split>;
  for (const key of ['train', 'val', 'train_subjects', 'val_subjects'] as const) {
    const a = v[key];
    if (!Array.isArray(a) || a.some((e) => !Number.isInteger(e) || e < 0 || (n !== undefined && (key === 'train' || key === 'val') && e >= n))) {
      throw new Error(`${path}: ${key} is not a list of valid indices/subjects`);
    }
  }
  return v as Split;
}

/** The subject number of a "subject_n" id. */
export function subjectOf(id: string): number {
  return Number(id.slice(0, id.indexOf('_')));
}

/** The `i`-th `h x w` frame of a stacked [N,h,w] array (a view, not a copy). */
export function frame(stack: Uint8Array, i: number, h: number, w: number): Uint8Array {
  return stack.subarray(i * h * w, (i + 1) * h * w);
}
