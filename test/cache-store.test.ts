import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashBytes } from '../cache/digest.js';
import { encodeManifestGeneric } from '../cache/dir-manifest.js';
import { ObjectStore } from '../cache/store.js';
import { treeEntries } from './util/tree.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipe-cache-store-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Makes a folder from a map of relative path -> content. */
async function makeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(join(root, rel, '..'), { recursive: true });
    await writeFile(join(root, rel), content);
  }
}

/** Every path below `root`, relative, sorted (folders end with '/'). */
async function listTree(root: string): Promise<string[]> {
  return treeEntries(root).map((e) => (e.dir ? `${e.rel}/` : e.rel)).sort();
}

describe('ObjectStore files', () => {
  test('putFile stores a read-only object named by its digest', async () => {
    const store = new ObjectStore(join(dir, 'c1'));
    const src = join(dir, 'a.txt');
    await writeFile(src, 'hello');
    const ref = await store.putFile(src);
    assert.deepEqual(ref, { digest: hashBytes('hello'), kind: 'file', size: 5 });
    const obj = store.filePath(ref.digest);
    assert.equal(obj, join(dir, 'c1', 'objects', ref.digest.slice(7, 9), ref.digest.slice(9)));
    assert.equal(await readFile(obj, 'utf8'), 'hello');
    assert.equal((await stat(obj)).mode & 0o777, 0o444);
    assert.equal(await store.view(ref), obj);
    assert.ok(await store.has(ref));
    assert.ok(await store.verify(ref));
  });

  test('identical content gives one object and no temp files', async () => {
    const store = new ObjectStore(join(dir, 'c2'));
    await writeFile(join(dir, 'x1'), 'same bytes');
    await writeFile(join(dir, 'x2'), 'same bytes');
    const a = await store.putFile(join(dir, 'x1'));
    const b = await store.putFile(join(dir, 'x2'));
    assert.deepEqual(a, b);
    const objects = (await listTree(join(dir, 'c2', 'objects'))).filter((p) => !p.endsWith('/'));
    assert.equal(objects.length, 1);
    assert.deepEqual(await readdir(join(dir, 'c2', 'tmp')), []);
  });

  test('a large file is streamed and stored intact', async () => {
    const store = new ObjectStore(join(dir, 'c3'));
    const data = Buffer.alloc((9 << 20) + 5);
    for (let i = 0; i < data.length; i += 4096) data[i] = i % 251;
    await writeFile(join(dir, 'big.bin'), data);
    const ref = await store.putFile(join(dir, 'big.bin'));
    assert.deepEqual(ref, { digest: hashBytes(data), kind: 'file', size: data.length });
    assert.ok(await store.verify(ref));
    assert.deepEqual(await readdir(join(dir, 'c3', 'tmp')), []);
  });

  test('putStream stores chunks hashed in one pass; bytes that miss the expected digest are not stored', async () => {
    const store = new ObjectStore(join(dir, 'c3s'));
    const chunks = [Buffer.from('chunk one, '), Buffer.from('chunk two')];
    const whole = Buffer.concat(chunks);
    async function* source(): AsyncGenerator<Buffer> {
      yield* chunks;
    }
    const ref = await store.putStream(source(), hashBytes(whole));
    assert.deepEqual(ref, { digest: hashBytes(whole), kind: 'file', size: whole.length });
    assert.equal(await readFile(store.filePath(hashBytes(whole)), 'utf8'), 'chunk one, chunk two');
    const wrong = hashBytes('something else');
    assert.deepEqual(await store.putStream(source(), wrong), { mismatch: hashBytes(whole), size: whole.length });
    assert.equal(await stat(store.filePath(wrong)).catch(() => undefined), undefined);
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('half');
      throw new Error('connection reset');
    }
    await assert.rejects(store.putStream(failing()), /connection reset/);
    assert.equal(await stat(store.filePath(hashBytes('half'))).catch(() => undefined), undefined);
    assert.deepEqual(await readdir(join(dir, 'c3s', 'tmp')), []);
  });

  test('verify is false after corrupting an object, has() still true at the same size', async () => {
    const store = new ObjectStore(join(dir, 'c4'));
    await writeFile(join(dir, 'v.txt'), 'abcdef');
    const ref = await store.putFile(join(dir, 'v.txt'));
    const obj = store.filePath(ref.digest);
    await chmod(obj, 0o644);
    await writeFile(obj, 'abcdeX');
    assert.ok(await store.has(ref));
    assert.equal(await store.verify(ref), false);
    // An object of the wrong size counts as missing, and putting the file again replaces it.
    await writeFile(obj, 'abc');
    assert.equal(await store.has(ref), false);
    await store.putFile(join(dir, 'v.txt'));
    assert.ok(await store.verify(ref));
  });

  test('restore writes a writable copy, replacing a folder in the way', async () => {
    const store = new ObjectStore(join(dir, 'c5'));
    await writeFile(join(dir, 'r.txt'), 'restored');
    const ref = await store.putFile(join(dir, 'r.txt'));
    const dest = join(dir, 'ws5', 'out', 'r.txt');
    await store.restore(ref, dest);
    assert.equal(await readFile(dest, 'utf8'), 'restored');
    const st = await stat(dest);
    assert.equal(st.mode & 0o777, 0o644);
    assert.notEqual(st.ino, (await stat(store.filePath(ref.digest))).ino);
    await rm(dest);
    await makeTree(dest, { 'junk.txt': 'x' });
    await store.restore(ref, dest);
    assert.equal(await readFile(dest, 'utf8'), 'restored');
    assert.deepEqual(await readdir(join(dir, 'ws5', 'out')), ['r.txt']);
  });

  test('putPath on a missing path names it', async () => {
    const store = new ObjectStore(join(dir, 'c6'));
    await assert.rejects(store.putPath(join(dir, 'nope')), /nope/);
  });
});

describe('ObjectStore folders', () => {
  const tree = { 'b.txt': 'bee', 'a/x.txt': 'ex', 'a/y.txt': 'why', 'a.txt': 'bee', 'a0': '0', 'a-b/c': 'c', 'run.sh': '#!/bin/sh\n' };

  test('putDir stores each file once plus a canonical manifest', async () => {
    const store = new ObjectStore(join(dir, 'd1'));
    const src = join(dir, 'src1');
    await makeTree(src, tree);
    await chmod(join(src, 'run.sh'), 0o755);
    const ref = await store.putDir(src);
    const m = await store.readManifest(ref.digest);
    // Code-unit order of whole paths: '-' < '.' < '/' < '0'.
    assert.deepEqual(m.files.map((f) => f.path), ['a-b/c', 'a.txt', 'a/x.txt', 'a/y.txt', 'a0', 'b.txt', 'run.sh']);
    assert.deepEqual(m.files.map((f) => f.exec), [false, false, false, false, false, false, true]);
    assert.equal(ref.kind, 'dir');
    assert.equal(ref.size, 1 + 3 + 2 + 3 + 1 + 3 + 10);
    const manifestBytes = await readFile(store.filePath(ref.digest), 'utf8');
    assert.equal(manifestBytes, encodeManifestGeneric(m.files));
    assert.equal(ref.digest, hashBytes(manifestBytes));
    // 6 distinct contents + the manifest ('bee' is shared).
    const objects = (await listTree(join(dir, 'd1', 'objects'))).filter((p) => !p.endsWith('/'));
    assert.equal(objects.length, 7);
    assert.ok(await store.has(ref));
    assert.ok(await store.verify(ref));
  });

  test('same content in another place gives the same digest; an empty folder is allowed', async () => {
    const store = new ObjectStore(join(dir, 'd2'));
    await makeTree(join(dir, 'src2a'), { 'q/r.txt': 'r' });
    await makeTree(join(dir, 'src2b'), { 'q/r.txt': 'r' });
    assert.deepEqual(await store.putDir(join(dir, 'src2a')), await store.putPath(join(dir, 'src2b')));
    await mkdir(join(dir, 'empty'));
    const empty = await store.putDir(join(dir, 'empty'));
    assert.equal(empty.size, 0);
    assert.deepEqual((await store.readManifest(empty.digest)).files, []);
    assert.ok(await store.has(empty));
  });

  test('symlinks are followed; a dangling one is an error naming it', async () => {
    const store = new ObjectStore(join(dir, 'd3'));
    const src = join(dir, 'src3');
    await makeTree(src, { 'real.txt': 'real' });
    await symlink('real.txt', join(src, 'link.txt'));
    const m = await store.readManifest((await store.putDir(src)).digest);
    assert.deepEqual(m.files.map((f) => [f.path, f.digest]), [['link.txt', hashBytes('real')], ['real.txt', hashBytes('real')]]);
    await symlink('missing.txt', join(src, 'dangling.txt'));
    await assert.rejects(store.putDir(src), /dangling\.txt is a dangling symlink \(-> missing\.txt\)/);
    await rm(join(src, 'dangling.txt'));
    await symlink('..', join(src, 'loop'));
    await assert.rejects(store.putDir(src), /loop is a symlink cycle/);
  });

  test('has() is false after deleting one file object; verify() false after corrupting one', async () => {
    const store = new ObjectStore(join(dir, 'd4'));
    const src = join(dir, 'src4');
    await makeTree(src, { 'one.txt': '1111', 'two.txt': '2222' });
    const ref = await store.putDir(src);
    const obj = store.filePath(hashBytes('2222'));
    await chmod(obj, 0o644);
    await writeFile(obj, '2X22');
    assert.ok(await store.has(ref));
    assert.equal(await store.verify(ref), false);
    await rm(obj);
    assert.equal(await store.has(ref), false);
    await rm(store.filePath(ref.digest));
    assert.equal(await store.has(ref), false);
    await assert.rejects(store.readManifest(ref.digest), new RegExp(ref.digest));
  });

  test('view materialises a read-only folder once and reuses it', async () => {
    const store = new ObjectStore(join(dir, 'd5'));
    const src = join(dir, 'src5');
    await makeTree(src, tree);
    const ref = await store.putDir(src);
    const v = await store.view(ref);
    assert.equal(v, join(dir, 'd5', 'views', ref.digest.slice(7)));
    assert.deepEqual(await listTree(v), ['a-b/', 'a-b/c', 'a.txt', 'a/', 'a/x.txt', 'a/y.txt', 'a0', 'b.txt', 'run.sh']);
    assert.equal(await readFile(join(v, 'a', 'y.txt'), 'utf8'), 'why');
    assert.equal((await stat(join(v, 'b.txt'))).mode & 0o222, 0);
    assert.equal(await store.view(ref), v);
    assert.deepEqual(await readdir(join(dir, 'd5', 'views')), [ref.digest.slice(7)]);
  });

  test('restore replaces old folder content with writable copies', async () => {
    const store = new ObjectStore(join(dir, 'd6'));
    const src = join(dir, 'src6');
    await makeTree(src, tree);
    await chmod(join(src, 'run.sh'), 0o755);
    const ref = await store.putDir(src);
    const dest = join(dir, 'ws6', 'out');
    await makeTree(dest, { 'stale.txt': 'old', 'a/x.txt': 'old x', 'z/deep.txt': 'z' });
    await store.restore(ref, dest);
    assert.deepEqual(await listTree(dest), ['a-b/', 'a-b/c', 'a.txt', 'a/', 'a/x.txt', 'a/y.txt', 'a0', 'b.txt', 'run.sh']);
    assert.equal(await readFile(join(dest, 'a', 'x.txt'), 'utf8'), 'ex');
    assert.equal((await stat(join(dest, 'b.txt'))).mode & 0o777, 0o644);
    assert.equal((await stat(join(dest, 'run.sh'))).mode & 0o777, 0o755);
    await writeFile(join(dest, 'b.txt'), 'edited'); // writable, and not the object
    assert.ok(await store.verify(ref));
    assert.deepEqual(await readdir(join(dir, 'ws6')), ['out']);
  });

  test('restore of a folder fails cleanly when an object is missing, keeping the old content', async () => {
    const store = new ObjectStore(join(dir, 'd7'));
    const src = join(dir, 'src7');
    await makeTree(src, { 'k.txt': 'kept?' });
    const ref = await store.putDir(src);
    await rm(store.filePath(hashBytes('kept?')));
    const dest = join(dir, 'ws7', 'out');
    await makeTree(dest, { 'old.txt': 'old' });
    await assert.rejects(store.restore(ref, dest), /cache object sha256:[0-9a-f]{64} \(file "k\.txt"\) is missing/);
    assert.deepEqual(await listTree(dest), ['old.txt']);
    assert.deepEqual(await readdir(join(dir, 'ws7')), ['out']);
  });
});
