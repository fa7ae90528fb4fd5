import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashBytes } from '../cache/digest.js';
import { RunCache } from '../cache/run-cache.js';
import { CacheObjectError, ObjectStore } from '../cache/store.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipe-cache-verify-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Overwrites a read-only object in place with other bytes. */
async function tamper(path: string, bytes: string): Promise<void> {
  await chmod(path, 0o644);
  await writeFile(path, bytes);
  await chmod(path, 0o444);
}

describe('objects are verified before they leave the store', () => {
  test('an object written by the store is trusted by its stamp; a same-size overwrite is caught', async () => {
    const root = join(dir, 'c1');
    const ref = await new ObjectStore(root).putBytes('abcdef');
    // A new store (as in the next `pipe run`): the stamp vouches, nothing is re-read.
    const store = new ObjectStore(root);
    assert.equal(await store.check(ref), undefined);
    assert.equal(store.counters.hashed, 0);
    await tamper(store.filePath(ref.digest), 'abcdeX');
    const again = new ObjectStore(root);
    assert.deepEqual(await again.check(ref), { problem: 'corrupt', digest: ref.digest, detail: `its content hashes to ${hashBytes('abcdeX')}` });
    assert.equal(again.counters.hashed, 1);
    await assert.rejects(again.restore(ref, join(dir, 'ws1', 'out.txt')), (e: unknown) => e instanceof CacheObjectError && /is corrupt/.test(e.message));
    await assert.rejects(again.view(ref), CacheObjectError);
    assert.deepEqual(await readdir(join(dir)).then((d) => d.includes('ws1') ? readdir(join(dir, 'ws1')) : []), []);
  });

  test('an unstamped object is hashed once, then trusted', async () => {
    const root = join(dir, 'c2');
    const ref = await new ObjectStore(root).putBytes('hello');
    await unlink(join(root, 'stamps'));
    const store = new ObjectStore(root);
    assert.equal(await store.check(ref), undefined);
    assert.equal(store.counters.hashed, 1);
    assert.equal(await store.check(ref), undefined);
    assert.equal(store.counters.hashed, 1, 'the second check in a process uses the stamp');
  });

  test('quarantine moves a bad object aside; putting the content again repairs the store', async () => {
    const root = join(dir, 'c3');
    const store = new ObjectStore(root);
    const src = join(dir, 'q.txt');
    await writeFile(src, 'quarantine me');
    const ref = await store.putFile(src);
    await tamper(store.filePath(ref.digest), 'QUARANTINE ME');
    const moved = await store.quarantine(ref.digest);
    assert.ok(moved?.startsWith(join(root, 'quarantine', ref.digest.slice(7))));
    assert.equal(await readFile(moved!, 'utf8'), 'QUARANTINE ME');
    assert.equal((await store.check(ref))?.problem, 'missing');
    assert.equal(await store.quarantine(ref.digest), undefined);
    await store.putFile(src);
    assert.equal(await store.check(ref), undefined);
  });

  test('a damaged object in the way is replaced when the same content is stored again', async () => {
    const root = join(dir, 'c4');
    const ref = await new ObjectStore(root).putBytes('same size');
    await tamper(new ObjectStore(root).filePath(ref.digest), 'SAME SIZE');
    const store = new ObjectStore(root);
    await store.putBytes('same size');
    assert.equal(await readFile(store.filePath(ref.digest), 'utf8'), 'same size');
    assert.ok(await store.verify(ref));
  });

  test('a reference that disagrees with a sound object is a mismatch, not corruption', async () => {
    const store = new ObjectStore(join(dir, 'c5'));
    const ref = await store.putBytes('twelve bytes');
    assert.equal((await store.check({ ...ref, size: 3 }))?.problem, 'mismatch');
    assert.match((await store.check({ ...ref, kind: 'dir' }))?.detail ?? '', /recorded as a folder: /);
  });

  test('a folder view is checked: a replaced file in it is rebuilt from the objects', async () => {
    const store = new ObjectStore(join(dir, 'c6'));
    const src = join(dir, 'src6');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'a.txt'), 'aaa');
    await writeFile(join(src, 'b.txt'), 'bbb');
    const ref = await store.putDir(src);
    const v = await store.view(ref);
    await unlink(join(v, 'a.txt'));
    await writeFile(join(v, 'a.txt'), 'AAA');
    await writeFile(join(v, 'extra.txt'), 'x');
    const v2 = await new ObjectStore(join(dir, 'c6')).view(ref);
    assert.equal(v2, v);
    assert.deepEqual((await readdir(v2)).sort(), ['a.txt', 'b.txt']);
    assert.equal(await readFile(join(v2, 'a.txt'), 'utf8'), 'aaa');
    assert.equal((await stat(join(v2, 'a.txt'))).ino, (await stat(store.filePath(hashBytes('aaa')))).ino);
    // A corrupt member fails the view.
    await tamper(store.filePath(hashBytes('bbb')), 'BBB');
    await assert.rejects(new ObjectStore(join(dir, 'c6')).view(ref), /\(file "b\.txt"\) is corrupt/);
  });

  test('members with the same content are checked once, and a corrupt shared object is still caught', async () => {
    const root = join(dir, 'c7');
    const src = join(dir, 'src7');
    await mkdir(src, { recursive: true });
    for (const n of ['a', 'b', 'c', 'd']) await writeFile(join(src, `${n}.txt`), 'same');
    await writeFile(join(src, 'e.txt'), 'other');
    const ref = await new ObjectStore(root).putDir(src);
    // Unstamped objects are hashed when checked: the shared one once, not four times.
    await rm(join(root, 'stamps'), { recursive: true, force: true });
    const store = new ObjectStore(root);
    assert.equal(await store.check(ref), undefined);
    assert.equal(store.counters.hashed, 3);
    await tamper(store.filePath(hashBytes('same')), 'SAME');
    const problem = await new ObjectStore(root).check(ref);
    assert.equal(problem?.problem, 'corrupt');
    assert.equal(problem?.digest, hashBytes('same'));
  });
});

describe('temp files live in the cache and are cleaned after a dead run', () => {
  test('restore builds in tmp/, leaving nothing beside the destination', async () => {
    const store = new ObjectStore(join(dir, 'c7'));
    const src = join(dir, 'src7');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'f.txt'), 'f');
    const folder = await store.putDir(src);
    const file = await store.putBytes('one file');
    const ws = join(dir, 'ws7');
    await store.restore(folder, join(ws, 'out'));
    await store.restore(folder, join(ws, 'out'));
    await store.restore(file, join(ws, 'file.txt'));
    await store.restore(file, join(ws, 'file.txt'));
    assert.deepEqual((await readdir(ws)).sort(), ['file.txt', 'out']);
    assert.deepEqual(await readdir(join(dir, 'c7', 'tmp')), []);
  });

  test('cleanStaleTemps removes what dead processes left and keeps a live one\'s', async () => {
    const store = new ObjectStore(join(dir, 'c8'));
    const dead = await new Promise<number>((res) => {
      const c = spawn(process.execPath, ['-e', '0']);
      c.on('exit', () => res(c.pid!));
    });
    await mkdir(join(dir, 'c8', 'tmp', `${dead}.abcd.restore`), { recursive: true });
    await writeFile(join(dir, 'c8', 'tmp', `${dead}.ef01.obj`), 'half');
    await writeFile(join(dir, 'c8', 'tmp', 'garbage'), 'x');
    const mine = await store.tempPath('obj');
    await writeFile(mine, 'in use');
    assert.equal(await store.cleanStaleTemps(), 3);
    assert.deepEqual(await readdir(join(dir, 'c8', 'tmp')), [mine.slice(join(dir, 'c8', 'tmp').length + 1)]);
  });
});

describe('run records carry an integrity check', () => {
  const rec = (key: string, digest: string) => ({
    key, outputs: { 'out.txt': { digest: digest as ReturnType<typeof hashBytes>, kind: 'file' as const, size: 1 } },
    metrics: { dice: 0.5 }, info: {}, durationMs: 3, finishedAt: '2026-01-01T00:00:00.000Z',
  });

  test('an edited record is damaged and reads as absent', async () => {
    const runs = new RunCache(join(dir, 'runs'));
    const key = hashBytes('key');
    await runs.put(rec(key, hashBytes('a')));
    assert.deepEqual(await runs.get(key), rec(key, hashBytes('a')));
    const path = runs.pathFor(key);
    await writeFile(path, (await readFile(path, 'utf8')).replace(hashBytes('a'), hashBytes('b')));
    assert.equal(await runs.get(key), undefined);
    assert.deepEqual(await runs.read(key), { damaged: 'it fails its integrity check (edited or damaged)' });
    await writeFile(path, JSON.stringify(rec(key, hashBytes('a'))));
    assert.deepEqual(await runs.read(key), { damaged: 'it has no integrity check' });
    await writeFile(path, '{');
    assert.deepEqual(await runs.read(key), { damaged: 'not JSON' });
    assert.deepEqual(await runs.read(hashBytes('none')), { absent: true });
    await writeFile(join(dir, 'runs', 'notes.txt'), 'x');
    assert.deepEqual(await runs.list(), { keys: [key], strays: ['notes.txt'] });
  });
});
