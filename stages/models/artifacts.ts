/**
 * Readers of the input artifacts the model stages consume (`dataset`,
 * `split`, `crops`), checking them against the artifact contract so a wrong
 * input fails with the artifact's name and what is wrong.
 */
import { readTensors } from '../../cache/tensors.js';
import { readDataset as readDatasetFile, readSplit as readSplitFile, type Dataset as DatasetFile, type Split } from '../lib/dataset.js';
import type { NamedTensor } from '../../cache/tensors.js';

/** The `dataset` artifact (see stages/dataset.ts) with its image counts. */
export interface Dataset extends DatasetFile {
  /** Training images. */
  readonly n: number;
  /** Test images. */
  readonly m: number;
}

export type { Split };

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

/** Reads and checks the `dataset` artifact at `path`. */
export async function readDataset(path: string): Promise<Dataset> {
  const d = await readDatasetFile(path);
  return { ...d, n: d.trainIds.length, m: d.testIds.length };
}

/** Reads the `split` artifact and checks every index is below `n`. */
export async function readSplit(path: string, n: number): Promise<Split> {
  return readSplitFile(path, n);
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
