import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashBytes } from '../cache/digest.js';
import { FileState, KEEP_SAVES } from '../cache/file-state.js';
import { ObjectStore } from '../cache/store.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pipe-cache-fstate-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A clock far enough ahead that every file counts as old (not racy). */
const later = { now: () => Date.now() + 3_600_000 };

async function makeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(join(root, rel, '..'), { recursive: true });
    await writeFile(join(root, rel), content);
  }
}

describe('FileState', () => {
  test('a folder gets the same digest as ObjectStore.putDir, a file its content digest', async () => {
    const src = join(dir, 'same');
    await makeTree(src, {
      'b.txt': 'bee', 'a/x.txt': 'ex', 'a.txt': 'A', 'a-b/c.txt': 'c', 'a0': 'zero',
      'we"ird\\name.txt': 'q', 'ünï €.txt': 'u', 'deep/er/est.bin': 'x'.repeat(5000),
    });
    await chmod(join(src, 'a.txt'), 0o755);
    await symlink('b.txt', join(src, 'link-to-b'));
    await symlink('a', join(src, 'link-to-a'));
    const fs = await FileState.load(join(dir, 'same.state'));
    const h = await fs.hashPath(src);
    const ref = await new ObjectStore(join(dir, 'cache-same')).putDir(src);
    assert.deepEqual(h, { digest: ref.digest, kind: 'dir', size: ref.size });
    const f = await fs.hashPath(join(src, 'b.txt'));
    assert.deepEqual(f, { digest: hashBytes('bee'), kind: 'file', size: 3 });
    await mkdir(join(dir, 'empty'));
    const e = await fs.hashPath(join(dir, 'empty'));
    assert.equal(e.digest, (await new ObjectStore(join(dir, 'cache-same')).putDir(join(dir, 'empty'))).digest);
  });

  test('an unchanged folder is not re-read after a save and reload', async () => {
    const src = join(dir, 'warm');
    await makeTree(src, { 'one.txt': '1', 'sub/two.txt': '22', 'sub/three.txt': '333' });
    const statePath = join(dir, 'warm.state');
    const first = await FileState.load(statePath, later);
    const d1 = await first.hashPath(src);
    assert.deepEqual(first.counters, { hashed: 3, reused: 0 });
    await first.save();
    const second = await FileState.load(statePath, later);
    assert.equal(second.size, 3);
    assert.deepEqual(await second.hashPath(src), d1);
    assert.deepEqual(second.counters, { hashed: 0, reused: 3 });
  });

  test('a modified file of the same size is re-hashed; only it is read', async () => {
    const src = join(dir, 'modified');
    await makeTree(src, { 'a.txt': 'aaaa', 'b.txt': 'bbbb' });
    const statePath = join(dir, 'modified.state');
    const fs1 = await FileState.load(statePath, later);
    const before1 = await fs1.hashPath(src);
    await fs1.save();
    const { mtime } = await stat(join(src, 'a.txt'));
    await writeFile(join(src, 'a.txt'), 'AAAA');
    await utimes(join(src, 'a.txt'), mtime, new Date(mtime.getTime() + 5000));
    const fs2 = await FileState.load(statePath, later);
    const after1 = await fs2.hashPath(src);
    assert.notEqual(after1.digest, before1.digest);
    assert.deepEqual(fs2.counters, { hashed: 1, reused: 1 });
    assert.equal((await fs2.hashPath(join(src, 'a.txt'))).digest, hashBytes('AAAA'));
  });

  test('added, removed and renamed files change the folder digest', async () => {
    const src = join(dir, 'membership');
    await makeTree(src, { 'a.txt': 'a', 'b.txt': 'b' });
    const fs = await FileState.load(join(dir, 'membership.state'), later);
    const d0 = (await fs.hashPath(src)).digest;
    await writeFile(join(src, 'c.txt'), 'c');
    const d1 = (await fs.hashPath(src)).digest;
    await rm(join(src, 'c.txt'));
    assert.equal((await fs.hashPath(src)).digest, d0);
    await rm(join(src, 'b.txt'));
    await writeFile(join(src, 'bb.txt'), 'b');
    const d2 = (await fs.hashPath(src)).digest;
    assert.equal(new Set([d0, d1, d2]).size, 3);
  });

  test('racy files (stamped just before hashing) are re-hashed until they are old', async () => {
    const src = join(dir, 'racy');
    await makeTree(src, { 'new.txt': 'fresh' });
    // A clock stopped just after the write: the file stays racy however slow the machine is.
    const justWritten = Date.now();
    const fs = await FileState.load(join(dir, 'racy.state'), { now: () => justWritten });
    await fs.hashPath(src);
    await fs.hashPath(src);
    assert.deepEqual(fs.counters, { hashed: 2, reused: 0 });
    const old = new Date(Date.now() - 60_000);
    await utimes(join(src, 'new.txt'), old, old);
    // ctime was just updated by utimes: racy at the time of the write, trusted with a later clock.
    const fs2 = await FileState.load(join(dir, 'racy.state'), later);
    await fs2.hashPath(src);
    await fs2.hashPath(src);
    assert.deepEqual(fs2.counters, { hashed: 1, reused: 1 });
  });

  test('a missing path is an error naming it', async () => {
    const fs = await FileState.load(join(dir, 'missing.state'));
    await assert.rejects(fs.hashPath(join(dir, 'does-not-exist')), /does-not-exist/);
  });

  test('a corrupt or truncated state file loads as empty', async () => {
    const src = join(dir, 'corrupt');
    await makeTree(src, { 'a.txt': 'a', 'b.txt': 'b' });
    const statePath = join(dir, 'corrupt.state');
    const fs = await FileState.load(statePath, later);
    await fs.hashPath(src);
    await fs.save();
    const good = await readFile(statePath);
    for (const bad of [good.subarray(0, good.length - 10), good.subarray(0, 20), Buffer.from('{"not":"state"}'), Buffer.alloc(0)]) {
      await writeFile(statePath, bad);
      const loaded = await FileState.load(statePath, later);
      assert.equal(loaded.size, 0);
      await loaded.hashPath(src);
      assert.equal(loaded.counters.hashed, 2);
    }
  });

  test('save writes atomically, and only when something changed', async () => {
    const src = join(dir, 'save');
    await makeTree(src, { 'a.txt': 'a' });
    const statePath = join(dir, 'save-state', 'files.state');
    const fs = await FileState.load(statePath, later);
    await fs.save();
    await assert.rejects(stat(statePath), /ENOENT/);
    await fs.hashPath(src);
    await fs.save();
    const { ino } = await stat(statePath);
    const again = await FileState.load(statePath, later);
    await again.hashPath(src);
    await again.save();
    assert.equal((await stat(statePath)).ino, ino, 'state rewritten although nothing changed');
    assert.deepEqual(await readdir(join(dir, 'save-state')), ['files.state']);
  });

  test(`paths not hashed for more than ${KEEP_SAVES} saves are forgotten`, async () => {
    const statePath = join(dir, 'evict.state');
    await makeTree(join(dir, 'evict'), { 'kept.txt': 'k' });
    let fs = await FileState.load(statePath, later);
    await fs.hashPath(join(dir, 'evict', 'kept.txt'));
    await fs.save();
    for (let i = 0; i <= KEEP_SAVES; i++) {
      await writeFile(join(dir, 'evict', `f${i}.txt`), String(i));
      fs = await FileState.load(statePath, later);
      assert.ok(fs.size >= Math.min(i + 1, KEEP_SAVES));
      await fs.hashPath(join(dir, 'evict', `f${i}.txt`));
      await fs.save();
    }
    fs = await FileState.load(statePath, later);
    await fs.hashPath(join(dir, 'evict', 'kept.txt'));
    assert.equal(fs.counters.hashed, 1, 'kept.txt should have been forgotten');
    await fs.hashPath(join(dir, 'evict', `f${KEEP_SAVES}.txt`));
    assert.equal(fs.counters.reused, 1);
  });
});
