/**
 * The file:// remote removes the temp files crashed writes left in its
 * folder, as the local cache does with its own: those of processes that are
 * gone (and, the folder being shareable between hosts, untouched for an
 * hour), never a live writer's or a blob.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DEAD_TEMP_AGE_MS, FileRemote } from '../cache/remote/file.js';

const hex = (c: string): string => c.repeat(64);

/** Writes `path`, modified `ageMs` ago. */
function aged(path: string, ageMs: number): void {
  writeFileSync(path, 'half a blob');
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(path, t, t);
}

test('a write to a file:// remote first removes the dead temps of both areas, once', async () => {
  const root = mkdtempSync(join(tmpdir(), 'pipe-remote-temps-'));
  try {
    for (const area of ['cas', 'ac']) mkdirSync(join(root, area));
    const dead = spawnSync(process.execPath, ['-e', '0']).pid; // a process that has exited
    const old = DEAD_TEMP_AGE_MS + 60_000;
    aged(join(root, 'cas', `.${hex('a')}.${dead}.0123456789ab.tmp`), old); // crashed push: removed
    aged(join(root, 'ac', `.${hex('b')}.${dead}.0123456789ab.tmp`), old); // removed
    aged(join(root, 'cas', `.${hex('c')}.${dead}.0123456789ab.tmp`), 1000); // maybe another host's write in progress: kept
    aged(join(root, 'cas', `.${hex('d')}.${process.pid}.0123456789ab.tmp`), old); // a live process's: kept
    aged(join(root, 'cas', hex('e')), old); // a blob: kept
    aged(join(root, 'cas', `.notes.${dead}.0123456789ab.tmp`), old); // not a blob's temp: kept

    const remote = new FileRemote(root);
    const src = join(root, 'src');
    writeFileSync(src, 'bytes');
    await remote.write('cas', hex('f'), src);
    assert.deepEqual(readdirSync(join(root, 'cas')).sort(), [
      `.${hex('c')}.${dead}.0123456789ab.tmp`,
      `.${hex('d')}.${process.pid}.0123456789ab.tmp`,
      `.notes.${dead}.0123456789ab.tmp`,
      hex('e'),
      hex('f'),
    ].sort());
    assert.deepEqual(readdirSync(join(root, 'ac')), []);
    assert.equal(await remote.removeDeadTemps(), 2, 'counted once, not repeated');

    // A second remote opened on the folder (the next push) cleans again; removal cleans too.
    aged(join(root, 'ac', `.${hex('b')}.${dead}.0123456789ab.tmp`), old);
    await new FileRemote(root).remove('cas', hex('e'));
    assert.deepEqual(readdirSync(join(root, 'ac')), []);
    assert.ok(!readdirSync(join(root, 'cas')).includes(hex('e')));
    remote.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
