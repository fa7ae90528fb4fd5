import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyFileAtomic, writeFileAtomic } from '../cache/atomic.js';
import { canonicalJson, digestHex, hashBytes, hashFile, isDigest } from '../cache/digest.js';
import { RunCache, type RunRecord } from '../cache/run-cache.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipe-cache-digest-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('digest', () => {
  test('hashBytes matches the known sha256 of "abc" for strings and bytes', () => {
    const want = 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    assert.equal(hashBytes('abc'), want);
    assert.equal(hashBytes(new Uint8Array([0x61, 0x62, 0x63])), want);
    assert.equal(digestHex(hashBytes('abc')), want.slice(7));
  });

  test('hashFile streams a file larger than one chunk to the same digest', async () => {
    const data = Buffer.alloc(3 * (1 << 20) + 17, 7);
    const p = join(dir, 'big.bin');
    await writeFile(p, data);
    assert.equal(await hashFile(p), hashBytes(data));
  });

  test('isDigest accepts only sha256:<64 lowercase hex>', () => {
    assert.ok(isDigest(hashBytes('')));
    assert.ok(!isDigest('sha256:' + 'A'.repeat(64)));
    assert.ok(!isDigest('sha256:abc'));
    assert.ok(!isDigest('/some/path'));
  });

  test('canonicalJson sorts keys at every depth and drops whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 'x' }], c: null } }), '{"a":{"c":null,"d":[3,{"y":"x","z":1}]},"b":1}');
    assert.equal(canonicalJson({ x: undefined, y: [undefined] }), '{"y":[null]}');
    assert.equal(canonicalJson({ b: 2, a: 1 }), canonicalJson({ a: 1, b: 2 }));
  });

  test('canonicalJson refuses values JSON would silently turn into null', () => {
    assert.throws(() => canonicalJson({ a: Number.NaN }), TypeError);
    assert.throws(() => canonicalJson(Infinity), TypeError);
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    assert.throws(() => canonicalJson(cyc), /cyclic/);
  });
});

describe('atomic writes', () => {
  test('writeFileAtomic creates parents, replaces content and leaves no temp file', async () => {
    const p = join(dir, 'deep', 'er', 'file.txt');
    await writeFileAtomic(p, 'one');
    await writeFileAtomic(p, new Uint8Array([0x74, 0x77, 0x6f]));
    assert.equal(await readFile(p, 'utf8'), 'two');
    assert.deepEqual(await readdir(join(dir, 'deep', 'er')), ['file.txt']);
  });

  test('copyFileAtomic copies with the requested mode and leaves no temp file', async () => {
    const src = join(dir, 'src.txt');
    await writeFile(src, 'payload');
    const dest = join(dir, 'copies', 'dest.txt');
    await copyFileAtomic(src, dest, 0o600);
    assert.equal(await readFile(dest, 'utf8'), 'payload');
    assert.equal((await stat(dest)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(join(dir, 'copies')), ['dest.txt']);
  });

  test('a failed write leaves the old file and no temp file', async () => {
    const p = join(dir, 'keep.txt');
    await writeFileAtomic(p, 'old');
    // Not a string or bytes: the write fails after the temp file was created.
    await assert.rejects(writeFileAtomic(p, 42 as unknown as string));
    assert.equal(await readFile(p, 'utf8'), 'old');
    assert.deepEqual((await readdir(dir)).filter((n) => n.includes('keep')), ['keep.txt']);
  });
});

describe('run cache', () => {
  const key = hashBytes('stage key');
  const record: RunRecord = {
    key,
    outputs: { dataset: { digest: hashBytes('x'), kind: 'file', size: 1 } },
    metrics: { dice: 0.61, note: 'ok' },
    info: { backend: 'wasm' },
    durationMs: 1234,
    finishedAt: '2026-01-01T00:00:00.000Z',
  };

  test('put then get round-trips; an unknown key is undefined', async () => {
    const rc = new RunCache(join(dir, 'runs'));
    assert.equal(await rc.get(key), undefined);
    await rc.put(record);
    assert.deepEqual(await rc.get(key), record);
    assert.equal(await rc.get(hashBytes('other')), undefined);
  });

  test('a corrupt or mismatched record reads as undefined', async () => {
    const rc = new RunCache(join(dir, 'runs2'));
    await rc.put(record);
    await writeFile(rc.pathFor(key), '{"key": "sha256:trunc');
    assert.equal(await rc.get(key), undefined);
    await writeFile(rc.pathFor(key), JSON.stringify({ ...record, key: hashBytes('someone else') }));
    assert.equal(await rc.get(key), undefined);
    await writeFile(rc.pathFor(key), JSON.stringify({ ...record, outputs: { a: { digest: 'nope', kind: 'file', size: 1 } } }));
    assert.equal(await rc.get(key), undefined);
  });

  test('a malformed key is rejected', async () => {
    const rc = new RunCache(join(dir, 'runs3'));
    await assert.rejects(rc.get('../../etc/passwd'), /not a stage key/);
  });
});
