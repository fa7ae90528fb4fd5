/**
 * The run lock: a stale lock (its owner is dead) is taken over by exactly one
 * of the runs racing for it, and the others wait their turn.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { acquireRunLock } from '../engine/run-lock.js';

const RACER = fileURLToPath(new URL('./util/lock-racer.js', import.meta.url));
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** The pid of a process that has exited (so a lock naming it is stale). */
async function deadPid(): Promise<number> {
  const p = spawn(process.execPath, ['-e', '0']);
  await new Promise((r) => p.on('exit', r));
  return p.pid!;
}

function staleLock(path: string, pid: number, id: string): void {
  writeFileSync(path, JSON.stringify({ id, pid, host: hostname(), started: 'long ago', groups: [] }));
}

/** Runs `n` racers on `dir/run.lock`; resolves to the log lines. */
async function race(dir: string, n: number, holdMs: number): Promise<string[]> {
  const log = join(dir, 'log');
  const start = join(dir, 'go');
  const kids = Array.from({ length: n }, () => spawn(process.execPath, [RACER, join(dir, 'run.lock'), log, start, String(holdMs)], { stdio: 'inherit' }));
  const exits = kids.map((k) => new Promise<number | null>((r) => k.on('exit', (c) => r(c))));
  await new Promise((r) => setTimeout(r, 400)); // let them all start and poll for the start file
  writeFileSync(start, '');
  assert.deepEqual(await Promise.all(exits), kids.map(() => 0));
  return readFileSync(log, 'utf8').split('\n').filter(Boolean);
}

/** Asserts the log is "+a -a +b -b ...": never two holders at once, each racer once. */
function assertOneAtATime(lines: string[], n: number): void {
  assert.equal(lines.length, 2 * n, lines.join(' '));
  for (let i = 0; i < lines.length; i += 2) {
    const enter = lines[i]!;
    const exit = lines[i + 1]!;
    assert.ok(enter.startsWith('+') && exit === `-${enter.slice(1)}`, `one holder at a time: ${lines.join(' ')}`);
  }
  assert.equal(new Set(lines.filter((l) => l.startsWith('+'))).size, n);
}

describe('run lock', () => {
  test('N runs racing for a stale lock: exactly one holds it at a time (5 rounds of 6)', async () => {
    for (let round = 0; round < 5; round++) {
      const dir = mkdtempSync(join(tmpdir(), 'pipe-lock-'));
      dirs.push(dir);
      staleLock(join(dir, 'run.lock'), await deadPid(), `00000000000000a${round}`);
      assertOneAtATime(await race(dir, 6, 60), 6);
      assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('run.lock')), [], 'no lock, claim or temp file left');
    }
  });

  test('a takeover whose claimant died is taken over in turn', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipe-lock-'));
    dirs.push(dir);
    const path = join(dir, 'run.lock');
    staleLock(path, await deadPid(), '1111111111111111');
    // A run that won the claim on that lock, then died before replacing it.
    staleLock(`${path}.takeover-1111111111111111`, await deadPid(), '2222222222222222');
    const held = await acquireRunLock(path, { wait: false });
    assert.ok(held.ok);
    assert.equal(JSON.parse(readFileSync(path, 'utf8')).pid, process.pid);
    await held.lock.release();
    assert.deepEqual(readdirSync(dir), []);
  });

  test('a live owner is waited for; a lock that does not parse is stale', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pipe-lock-'));
    dirs.push(dir);
    const path = join(dir, 'run.lock');
    staleLock(path, process.pid, '3333333333333333');
    const busy = await acquireRunLock(path, { wait: false });
    assert.equal(busy.ok, false);
    assert.match(busy.ok ? '' : busy.message, new RegExp(`another pipe run \\(pid ${process.pid}`));
    writeFileSync(path, '{"pid": 12'); // half of an old-style lock
    const held = await acquireRunLock(path, { wait: false });
    assert.ok(held.ok);
    await held.lock.release();
  });
});
