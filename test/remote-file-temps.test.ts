/**
 * The file:// remote's temp files that crashed writes left are removed by
 * `pipe gc --remote`, as the local cache removes its own: those of processes
 * that are gone (and, the folder being shareable between hosts, untouched for
 * an hour), never a live writer's, a young one's or a blob. A push never
 * looks for them (it would list a possibly huge shared folder before every
 * push).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { removeDeadTemps } from '../cache/atomic.js';
import { DEAD_TEMP_AGE_MS, FileRemote } from '../cache/remote/file.js';
import { trackRigs } from './util/rig.js';
import { tinyRig } from './util/remote-rig.js';

const track = trackRigs();
const hex = (c: string): string => c.repeat(64);

/** Writes `path`, modified `ageMs` ago. */
function aged(path: string, ageMs: number): void {
  writeFileSync(path, 'half a blob');
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(path, t, t);
}

/** The names in `dir` that are temp files (dot files), sorted. */
const temps = (dir: string): string[] => readdirSync(dir).filter((n) => n.startsWith('.')).sort();

test('gc --remote removes the dead old temps of both areas of a file:// remote; push and a dry run leave them', async () => {
  const folder = track(tinyRig()).dir;
  const root = join(folder, 'remote');
  const a = track(tinyRig(`remote:\n  url: file://${root}\n  jobs: 4\n`));
  for (const area of ['cas', 'ac']) mkdirSync(join(root, area), { recursive: true });
  const dead = spawnSync(process.execPath, ['-e', '0']).pid; // a process that has exited
  const old = DEAD_TEMP_AGE_MS + 60_000;
  const deadOld = `.${hex('a')}.${dead}.0123456789ab.tmp`; // crashed push: removed by gc
  const deadOldRun = `.${hex('b')}.${dead}.0123456789ab.tmp`; // removed by gc
  const young = `.${hex('c')}.${dead}.0123456789ab.tmp`; // maybe another host's write in progress: kept
  const live = `.${hex('d')}.${process.pid}.0123456789ab.tmp`; // a live process's: kept
  const notBlob = `.notes.${dead}.0123456789ab.tmp`; // not a blob's temp: kept
  aged(join(root, 'cas', deadOld), old);
  aged(join(root, 'ac', deadOldRun), old);
  aged(join(root, 'cas', young), 1000);
  aged(join(root, 'cas', live), old);
  aged(join(root, 'cas', notBlob), old);
  const all = [deadOld, young, live, notBlob].sort();

  const run = await a.json('run');
  assert.equal(run.code, 0, run.stderr);
  const push = await a.json('push');
  assert.equal(push.code, 0, push.stderr);
  assert.ok(push.doc.moved >= 9, JSON.stringify(push.doc));
  assert.deepEqual(temps(join(root, 'cas')), all, 'a push leaves the temps alone');
  assert.deepEqual(temps(join(root, 'ac')), [deadOldRun]);
  const blobs = readdirSync(join(root, 'cas')).filter((n) => !n.startsWith('.')).sort();

  const dry = await a.json('gc', '--remote', '--dry-run');
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(temps(join(root, 'cas')), all, 'a dry run deletes nothing');
  assert.deepEqual(temps(join(root, 'ac')), [deadOldRun]);

  const gc = await a.json('gc', '--remote');
  assert.equal(gc.code, 0, gc.stderr);
  assert.deepEqual(temps(join(root, 'cas')), [young, live, notBlob].sort());
  assert.deepEqual(temps(join(root, 'ac')), []);
  assert.deepEqual(readdirSync(join(root, 'cas')).filter((n) => !n.startsWith('.')).sort(), blobs, 'every blob the lock needs is kept');
});

test('a file:// remote cleans each area on its own: a cas/ it cannot clean still lets ac/\'s dead temps go', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'pipe-remote-temps-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  const old = DEAD_TEMP_AGE_MS + 60_000;
  const temp = (c: string): string => `.${hex(c)}.${dead}.0123456789ab.tmp`;
  mkdirSync(join(root, 'ac'), { recursive: true });
  aged(join(root, 'ac', temp('a')), old);
  // cas/ is a file, not a folder: nothing to list there, ac/ is cleaned all the same.
  writeFileSync(join(root, 'cas'), 'not a folder');
  assert.equal(await new FileRemote(root).removeDeadTemps(), 1);
  assert.deepEqual(temps(join(root, 'ac')), []);
  // A temp in cas/ that may not be removed (another user's: root may remove anything, so the failure is
  // the cleaner's): ac/'s dead temps still go, and the caller sees no error.
  rmSync(join(root, 'cas'));
  mkdirSync(join(root, 'cas'));
  aged(join(root, 'cas', temp('b')), old);
  aged(join(root, 'ac', temp('c')), old);
  const cleaned: string[] = [];
  const refusing: typeof removeDeadTemps = async (dir, ...rest) => {
    cleaned.push(dir);
    if (dir.endsWith('cas')) throw Object.assign(new Error(`EACCES: permission denied, unlink '${dir}'`), { code: 'EACCES' });
    return removeDeadTemps(dir, ...rest);
  };
  assert.equal(await new FileRemote(root, refusing).removeDeadTemps(), 1);
  assert.deepEqual(cleaned, [join(root, 'cas'), join(root, 'ac')]);
  assert.deepEqual(temps(join(root, 'ac')), []);
  assert.deepEqual(temps(join(root, 'cas')), [temp('b')]);
});
