/**
 * Readers of the input artifacts the model stages consume (`dataset`,
 * `split`, `crops`), checking them against the artifact contract so a wrong
 * input fails with the artifact's name and what is wrong.
 */
import { readFile } from 'node:fs/promises';
import { readTensors } from '../../cache/tensors.js';
import type { NamedTensor } from '../../cache/tensors.js';

/** The `dataset` artifact: images and masks at model size. */
export interface Dataset {
  /** uint8 [n,h,w] grey 0..255. */
  readonly trainImages: Uint8Array;
  /** uint8 [n,h,w] 0/1. */
  readonly trainMasks: Uint8Array;
  /** uint8 [m,h,w]. */
  readonly testImages: Uint8Array;
  readonly n: number;
  readonly m: number;
  readonly h: number;
  readonly w: number;
  readonly trainIds: readonly string[];
  readonly testIds: readonly string[];
}

/** The `split` artifact: indices into the dataset's train tensors. */
export interface Split {
  readonly train: readonly number[];
  readonly val: readonly number[];
}

/** The `crops` artifact: classifier crops and labels. */
export interface Crops {
  readonly trainX: Uint8Array;
  readonly trainY: Uint8Array;
  readonly valX: Uint8Array;
  readonly valY: Uint8Array;
  readonly size: number;
}

function uint8(tensors: Record<string, NamedTensor>, name: string, what: string, rank: number): { data: Uint8Array; shape: number[] } {
  const t = tensors[name];
  if (t === undefined) throw new Error(`${what}: missing tensor ${name}`);
  if (t.dtype !== 'uint8' || !(t.data instanceof Uint8Array)) throw new Error(`${what}: ${name} is ${t.dtype}, expected uint8`);
  if (t.shape.length !== rank) throw new Error(`${what}: ${name} has shape [${t.shape}], expected rank ${rank}`);
  return { data: t.data, shape: t.shape };
}

function idList(metadata: Record<string, string>, key: string, what: string, count: number): string[] {
  const raw = metadata[key];
  const ids: unknown = raw === undefined ? undefined : JSON.parse(raw);
  if (!Array.isArray(ids) || ids.length !== count || ids.some((s) => typeof s !== 'string')) {
    throw new Error(`${what}: metadata ${key} must be a JSON array of ${count} strings`);
  }
  return ids as string[];
}

/** Reads and checks the `dataset` artifact at `path`. */
export async function readDataset(path: string): Promise<Dataset> {
  const what = 'dataset';
  const { tensors, metadata } = await readTensors(path);
  const imgs = uint8(tensors, 'train_images', what, 3);
  const masks = uint8(tensors, 'train_masks', what, 3);
  const test = uint8(tensors, 'test_images', what, 3);
  const [n, h, w] = imgs.shape as [number, number, number];
  if (masks.shape.join() !== imgs.shape.join()) throw new Error(`${what}: train_masks [${masks.shape}] != train_images [${imgs.shape}]`);
  if (test.shape[1] !== h || test.shape[2] !== w) throw new Error(`${what}: test_images [${test.shape}] not ${h}x${w}`);
  const m = test.shape[0] as number;
  return {
    trainImages: imgs.data, trainMasks: masks.data, testImages: test.data, n, m, h, w,
    trainIds: idList(metadata, 'train_ids', what, n), testIds: idList(metadata, 'test_ids', what, m),
  };
}

/** Reads the `split` artifact and checks every index is below `n`. */
export async function readSplit(path: string, n: number): Promise<Split> {
  const raw = JSON.parse(await readFile(path, 'utf8')) as { train?: unknown; val?: unknown };
  const check = (v: unknown, key: string): number[] => {
    if (!Array.isArray(v) || v.some((i) => !Number.isInteger(i) || i < 0 || i >= n)) {
      throw new Error(`split: ${key} must be an array of indices below ${n}`);
    }
    return v as number[];
  };
  return { train: check(raw.train, 'train'), val: check(raw.val, 'val') };
}

/** Reads and checks the `crops` artifact. */
export async function readCrops(path: string): Promise<Crops> {
  const what = 'crops';
  const { tensors } = await readTensors(path);
  const tx = uint8(tensors, 'train_x', what, 3);
  const ty = uint8(tensors, 'train_y', what, 1);
  const vx = uint8(tensors, 'val_x', what, 3);
  const vy = uint8(tensors, 'val_y', what, 1);
  const size = tx.shape[1] as number;
  for (const [x, y, name] of [[tx, ty, 'train'], [vx, vy, 'val']] as const) {
    if (x.shape[1] !== size || x.shape[2] !== size) throw new Error(`${what}: ${name}_x [${x.shape}] is not ${size}x${size}`);
    if (y.shape[0] !== x.shape[0]) throw new Error(`${what}: ${name}_y has ${y.shape[0]} labels for ${x.shape[0]} crops`);
  }
  return { trainX: tx.data, trainY: ty.data, valX: vx.data, valY: vy.data, size };
}
