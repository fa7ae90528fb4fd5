import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeTensors, encodeTensors, readTensors, writeTensors, type NamedTensor } from '../cache/tensors.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipe-cache-tensors-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sample(): Record<string, NamedTensor> {
  const f = new Float32Array([0, -0, 1.5, Number.NaN, Infinity, -Infinity, 1e-45, 3.4028234663852886e38]);
  return {
    weights: { dtype: 'float32', shape: [2, 4], data: f },
    masks: { dtype: 'uint8', shape: [3], data: new Uint8Array([0, 1, 255]) },
    ids: { dtype: 'int32', shape: [2, 1, 1], data: new Int32Array([-2147483648, 2147483647]) },
    odd: { dtype: 'uint8', shape: [1], data: new Uint8Array([7]) },
    scalar: { dtype: 'float32', shape: [], data: new Float32Array([42]) },
    empty: { dtype: 'float32', shape: [0, 5], data: new Float32Array(0) },
  };
}

function bytesOf(t: NamedTensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

describe('tensors (safetensors)', () => {
  test('round trip is bit-exact, with metadata', async () => {
    const p = join(dir, 'rt.safetensors');
    const meta = { height: '80', ids: JSON.stringify(['1_1', '1_2']), 'ünï': 'côdé' };
    await writeTensors(p, sample(), meta);
    const { tensors, metadata } = await readTensors(p);
    assert.deepEqual(metadata, meta);
    assert.deepEqual(Object.keys(tensors), Object.keys(sample()).sort());
    for (const [name, want] of Object.entries(sample())) {
      const got = tensors[name]!;
      assert.equal(got.dtype, want.dtype, name);
      assert.deepEqual(got.shape, want.shape, name);
      assert.equal(got.data.constructor, want.data.constructor, name);
      assert.deepEqual(bytesOf(got), bytesOf(want), name);
    }
    assert.deepEqual(await readdir(dir), ['rt.safetensors']);
  });

  test('bytes are deterministic: key order, header padding, layout', () => {
    const a = encodeTensors(sample(), { b: '2', a: '1' });
    const shuffled = Object.fromEntries(Object.entries(sample()).reverse());
    const b = encodeTensors(shuffled, { a: '1', b: '2' });
    assert.deepEqual(a, b);
    const n = Number(new DataView(a.buffer, a.byteOffset).getBigUint64(0, true));
    assert.equal(n % 8, 0);
    const header = Buffer.from(a.subarray(8, 8 + n)).toString('utf8');
    assert.match(header, /^\{"__metadata__":\{"a":"1","b":"2"\},"empty":\{"data_offsets":\[\d+,\d+\],"dtype":"F32","shape":\[0,5\]\}/);
    assert.match(header, / *$/);
    // 4-byte dtypes come first so float data stays aligned for zero-copy reads.
    const parsed = JSON.parse(header) as Record<string, { data_offsets: [number, number] }>;
    assert.deepEqual(parsed.ids!.data_offsets, [0, 8]);
    assert.deepEqual(parsed.scalar!.data_offsets, [8, 12]);
    assert.deepEqual(parsed.weights!.data_offsets, [12, 44]);
    assert.deepEqual(parsed.masks!.data_offsets, [44, 47]);
  });

  test('no metadata: none written, empty object read', () => {
    const bytes = encodeTensors({ x: { dtype: 'uint8', shape: [2], data: new Uint8Array([1, 2]) } });
    assert.ok(!Buffer.from(bytes).toString('latin1').includes('__metadata__'));
    assert.deepEqual(decodeTensors(bytes).metadata, {});
  });

  test('unaligned float data is copied into an aligned array', () => {
    // Hand-built file with a U8 tensor before an F32 one: the float data starts at an odd offset.
    const header = JSON.stringify({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, b: { dtype: 'F32', shape: [2], data_offsets: [1, 9] } });
    const padded = header + ' '.repeat((8 - (header.length % 8)) % 8);
    const f = new Float32Array([1.25, -3]);
    const buf = Buffer.alloc(8 + padded.length + 9);
    buf.writeBigUInt64LE(BigInt(padded.length), 0);
    buf.write(padded, 8);
    buf[8 + padded.length] = 9;
    Buffer.from(f.buffer).copy(buf, 8 + padded.length + 1);
    const { tensors } = decodeTensors(buf);
    assert.deepEqual(Array.from(tensors.b!.data), [1.25, -3]);
    assert.equal(tensors.b!.data.byteOffset % 4, 0);
    assert.deepEqual(Array.from(tensors.a!.data), [9]);
  });

  test('a truncated file is an error naming the file', async () => {
    const p = join(dir, 'truncated.safetensors');
    const bytes = encodeTensors(sample(), { k: 'v' });
    for (const cut of [3, 20, bytes.length - 1]) {
      await writeFile(p, bytes.subarray(0, cut));
      await assert.rejects(readTensors(p), (e: Error) => e.message.includes(p) && /truncated/.test(e.message));
    }
  });

  test('malformed headers are errors naming the file', async () => {
    const p = join(dir, 'bad.safetensors');
    const build = (header: string, data: number): Buffer => {
      const pad = header + ' '.repeat((8 - (header.length % 8)) % 8);
      const b = Buffer.alloc(8 + pad.length + data);
      b.writeBigUInt64LE(BigInt(pad.length), 0);
      b.write(pad, 8);
      return b;
    };
    const cases: [string, number, RegExp][] = [
      ['{"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', 4, /unsupported dtype/],
      ['{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8, /expected 12/],
      ['{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"y":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', 3, /overlap/],
      ['{"x":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', 5, /bytes after the last tensor/],
      ['{"__metadata__":{"n":3}}', 0, /not a string/],
      ['[1,2]', 0, /not a JSON object/],
      ['{"x":', 0, /not JSON/],
    ];
    for (const [header, data, why] of cases) {
      await writeFile(p, build(header, data));
      await assert.rejects(readTensors(p), (e: Error) => e.message.includes(p) && why.test(e.message), header);
    }
  });

  test('writing a tensor whose data disagrees with its shape is an error naming it', async () => {
    const p = join(dir, 'mismatch.safetensors');
    await assert.rejects(
      writeTensors(p, { w: { dtype: 'float32', shape: [2, 2], data: new Float32Array(3) } }),
      /mismatch\.safetensors: tensor w: shape \[2,2\] needs 4 values, data has 3/,
    );
    await assert.rejects(writeTensors(p, { w: { dtype: 'int32', shape: [1], data: new Float32Array(1) } }), /not a int32 array/);
    await assert.rejects(readFile(p), /ENOENT/);
  });
});
