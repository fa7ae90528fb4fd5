/**
 * Tensor files in the safetensors format
 * (https://github.com/huggingface/safetensors):
 *
 * ```
 * [u64 LE header length n][n bytes JSON header, space padded][raw LE tensor bytes]
 * header: {"<name>": {"dtype": "F32"|"I32"|"U8", "shape": [..], "data_offsets": [begin, end]},
 *          "__metadata__": {"<key>": "<string>"}}     offsets relative to the data start
 * ```
 *
 * Output is byte-deterministic: header keys sorted at every depth, header
 * padded with spaces to a multiple of 8, data laid out 4-byte dtypes first
 * then 1-byte ones, each group by name (so float and int data stay aligned),
 * `__metadata__` omitted when empty. Assumes a little-endian host.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from './atomic.js';
import { canonicalJson } from './digest.js';

/** One named tensor: row-major data of `shape`. */
export interface NamedTensor {
  dtype: 'float32' | 'int32' | 'uint8';
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

/** The content of a tensor file. */
export interface TensorFile {
  tensors: Record<string, NamedTensor>;
  metadata: Record<string, string>;
}

type Dtype = NamedTensor['dtype'];
const CODES: Record<Dtype, string> = { float32: 'F32', int32: 'I32', uint8: 'U8' };
const FROM_CODE: Record<string, Dtype> = { F32: 'float32', I32: 'int32', U8: 'uint8' };
const ITEMSIZE: Record<Dtype, number> = { float32: 4, int32: 4, uint8: 1 };
const METADATA = '__metadata__';
/** Refuse headers above this size (the reference implementation's limit). */
const MAX_HEADER = 100_000_000;

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function arrayTypeOk(t: NamedTensor): boolean {
  switch (t.dtype) {
    case 'float32':
      return t.data instanceof Float32Array;
    case 'int32':
      return t.data instanceof Int32Array;
    case 'uint8':
      return t.data instanceof Uint8Array;
  }
}

/**
 * Encodes tensors and string metadata to safetensors bytes. Throws an Error
 * naming the tensor when its dtype, shape or data length disagree, or its
 * name is `__metadata__`.
 */
export function encodeTensors(tensors: Record<string, NamedTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const order = [...names].sort((a, b) => ITEMSIZE[tensors[b]!.dtype] - ITEMSIZE[tensors[a]!.dtype] || (a < b ? -1 : 1));
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const name of order) {
    const t = tensors[name]!;
    if (name === METADATA || name === '__proto__') throw new Error(`tensor name ${name} is reserved`);
    if (!(t.dtype in CODES)) throw new Error(`tensor ${name}: unknown dtype ${String(t.dtype)}`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`tensor ${name}: bad shape [${t.shape.join(',')}]`);
    if (!arrayTypeOk(t)) throw new Error(`tensor ${name}: data is not a ${t.dtype} array`);
    if (t.data.length !== elements(t.shape)) {
      throw new Error(`tensor ${name}: shape [${t.shape.join(',')}] needs ${elements(t.shape)} values, data has ${t.data.length}`);
    }
    header[name] = { dtype: CODES[t.dtype], shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new Error(`metadata ${k}: value must be a string`);
  }
  if (Object.keys(metadata).length > 0) header[METADATA] = metadata;
  let json = Buffer.from(canonicalJson(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad > 0) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const name of order) {
    const d = tensors[name]!.data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

/**
 * Decodes safetensors bytes. `source` names the file in error messages.
 * Throws an Error naming `source` when the bytes are truncated or malformed:
 * bad header length or JSON, unknown dtype, offsets out of range, overlapping
 * or leaving holes, sizes that don't match the shape, non-string metadata.
 * Typed arrays view `bytes` when aligned and are copies otherwise.
 */
export function decodeTensors(bytes: Uint8Array, source = 'tensor data'): TensorFile {
  const fail = (why: string): never => {
    throw new Error(`${source}: not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) fail(`truncated (${bytes.length} bytes, no header length)`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) fail(`header length ${n} is too large`);
  const hlen = Number(n);
  if (8 + hlen > bytes.length) fail(`truncated (header needs ${8 + hlen} bytes, file has ${bytes.length})`);
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, hlen).toString('utf8'));
  } catch {
    fail('header is not JSON');
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('header is not a JSON object');
  const start = 8 + hlen;
  const dataLen = bytes.length - start;
  const metadata: Record<string, string> = {};
  const spans: { name: string; begin: number; end: number; dtype: Dtype; shape: number[] }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`metadata ${k} is not a string`);
        if (k === '__proto__') fail('metadata key __proto__ is reserved');
        metadata[k] = v as string;
      }
      continue;
    }
    if (name === '__proto__') fail('tensor name __proto__ is reserved');
    const info = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (info === null || typeof info !== 'object') fail(`tensor ${name}: entry is not an object`);
    const dtype = typeof info!.dtype === 'string' ? FROM_CODE[info!.dtype] : undefined;
    if (dtype === undefined) fail(`tensor ${name}: unsupported dtype ${JSON.stringify(info!.dtype)}`);
    const shape = info!.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor ${name}: bad shape`);
    const offs = info!.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor ${name}: bad data_offsets`);
    }
    const [begin, end] = offs as [number, number];
    if (begin > end) fail(`tensor ${name}: data_offsets [${begin}, ${end}] are reversed`);
    if (end > dataLen) fail(`truncated (tensor ${name} ends at data byte ${end}, file has ${dataLen} data bytes)`);
    const want = elements(shape as number[]) * ITEMSIZE[dtype!];
    if (end - begin !== want) fail(`tensor ${name}: ${end - begin} bytes for shape [${(shape as number[]).join(',')}] of ${dtype}, expected ${want}`);
    spans.push({ name, begin, end, dtype: dtype!, shape: shape as number[] });
  }
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const s of spans) {
    if (s.begin !== at) fail(`tensor ${s.name}: data_offsets [${s.begin}, ${s.end}] ${s.begin < at ? 'overlap another tensor' : 'leave a hole'}`);
    at = s.end;
  }
  if (at !== dataLen) fail(`${dataLen - at} bytes after the last tensor`);
  const tensors: Record<string, NamedTensor> = {};
  for (const s of spans.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    tensors[s.name] = { dtype: s.dtype, shape: s.shape, data: view(bytes, start + s.begin, s.end - s.begin, s.dtype) };
  }
  return { tensors, metadata };
}

function view(bytes: Uint8Array, at: number, byteLength: number, dtype: Dtype): NamedTensor['data'] {
  const abs = bytes.byteOffset + at;
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(bytes.buffer, abs, byteLength);
    case 'float32':
      return abs % 4 === 0 ? new Float32Array(bytes.buffer, abs, byteLength / 4) : new Float32Array(copy(bytes, at, byteLength));
    case 'int32':
      return abs % 4 === 0 ? new Int32Array(bytes.buffer, abs, byteLength / 4) : new Int32Array(copy(bytes, at, byteLength));
  }
}

/** A fresh (hence aligned) ArrayBuffer holding `byteLength` bytes of `bytes` from `at`. */
function copy(bytes: Uint8Array, at: number, byteLength: number): ArrayBuffer {
  const out = new Uint8Array(byteLength);
  out.set(bytes.subarray(at, at + byteLength));
  return out.buffer;
}

/** Writes a tensor file atomically (see {@link encodeTensors} for errors). */
export async function writeTensors(
  path: string,
  tensors: Record<string, NamedTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = encodeTensors(tensors, metadata);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  await writeFileAtomic(path, bytes);
}

/** Reads and validates a tensor file; errors name the file (see {@link decodeTensors}). */
export async function readTensors(path: string): Promise<TensorFile> {
  return decodeTensors(await readFile(path), path);
}
