/**
 * How the lock is written and read back fast: formatLock formats each stage's
 * block on its own (memoised per entry) and must give exactly the YAML of the
 * whole document; the JSON mirror beside the file-hash state must read back
 * exactly what parsing the YAML gives, and only for the text it was written for.
 * Also the experiment's git commit, read from .git without starting git.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { readGitHead } from '../engine/exp/git-head.js';
import { hashBytes } from '../cache/digest.js';
import { formatLock, isVerbatim, LOCK_FORMAT, LockWriter, readLock, type Lock, type LockEntry } from '../engine/lockfile.js';
import { Rig } from './util/rig.js';

const dir = mkdtempSync(join(tmpdir(), 'pipe-lock-text-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const entry = (over: Partial<LockEntry> = {}): LockEntry => ({
  kind: 'gate', key: `sha256:${'a'.repeat(64)}` as LockEntry['key'], code: `sha256:${'b'.repeat(64)}`,
  params: { threshold: 0.3, widths: [8, 16], nested: { a: 'x\ny', empty: {} }, text: "it's: #not a comment", yes: 'yes', num: '0.5', flag: true, none: null },
  inputs: { 'infer/predictions': `sha256:${'c'.repeat(64)}` as never }, deps: {},
  outputs: { masks: { digest: `sha256:${'d'.repeat(64)}` as never, kind: 'file', size: 12 } },
  metrics: { val_dice: 0.5472, note: 'multi\nline\n\nwith blank  ', tiny: 5e-324 }, info: { backend: 'wasm' }, duration_ms: 12, finished_at: '2026-11-27T01:00:00.000Z',
  ...over,
});
const lock: Lock = {
  version: 1, overrides: { 'gate.threshold': 0.4 },
  stages: { infer: entry({ kind: 'infer', params: {} }), gate: entry() },
  code_files: { [`sha256:${'b'.repeat(64)}`]: { 'gate.js': `sha256:${'e'.repeat(64)}` } },
};
const order = ['infer', 'gate'];

test('formatLock, stage by stage, is the YAML of the whole document', () => {
  const text = formatLock(lock, order);
  const body = text.split('\n').slice(2).join('\n');
  // The reference: the whole document in one stringify (as formatLock wrote it before).
  const doc = parse(body) as Record<string, unknown>;
  assert.equal(body, stringify(doc, { lineWidth: 0, sortMapEntries: false }));
  assert.equal(formatLock(lock, order), text, 'memoised blocks give the same text');
});

test('the JSON mirror reads back what the YAML parses to, and only for its own text', async () => {
  mkdirSync(join(dir, 'state'));
  const mirror = join(dir, 'state', 'pipe.lock.json');
  const path = join(dir, 'pipe.lock');
  const w = new LockWriter(path, lock, order, mirror);
  await w.save();
  const text = readFileSync(path, 'utf8');
  const written = JSON.parse(readFileSync(mirror, 'utf8'));
  assert.deepEqual(written.data, parse(text));
  const read = readLock(path, mirror);
  assert.ok('lock' in read);
  assert.deepEqual(JSON.parse(JSON.stringify(read.lock.stages)), JSON.parse(JSON.stringify(lock.stages)));
  // A hand edit of the lock: the mirror is not for this text, so the YAML is read.
  writeFileSync(path, text.replaceAll('val_dice: 0.5472', 'val_dice: 0.9'));
  const edited = readLock(path, mirror);
  assert.ok('lock' in edited);
  assert.equal(edited.lock.stages['gate']?.metrics['val_dice'], 0.9);
  // A value JSON cannot keep (NaN): no mirror is left to be wrong.
  await new LockWriter(path, { ...lock, stages: { gate: entry({ metrics: { bad: Number.NaN } }) } }, order, mirror).save();
  assert.throws(() => readFileSync(join(dir, 'state', 'pipe.lock.json')), /ENOENT/);
  assert.match(readFileSync(path, 'utf8'), /bad: \.nan/);
});

test('a lock read through its mirror is verbatim (its text is formatLock of it); a writer knows when it changed nothing', async () => {
  mkdirSync(join(dir, 'v'));
  const mirror = join(dir, 'v', 'pipe.lock.json');
  const path = join(dir, 'v', 'pipe.lock');
  await new LockWriter(path, lock, order, mirror).save();
  const read = readLock(path, mirror);
  assert.ok('lock' in read);
  const text = readFileSync(path, 'utf8');
  assert.equal(isVerbatim(read.lock, text, order), true);
  assert.equal(isVerbatim(read.lock, text + '\n', order), false, 'the file changed since it was read');
  assert.equal(isVerbatim(read.lock, text, [...order].reverse()), false, 'another stage order formats other text');
  assert.equal(formatLock(read.lock, order), readFileSync(path, 'utf8'), 'verbatim: formatting gives the text on disk');
  const w = new LockWriter(path, read.lock, order, mirror);
  w.setMeta({ ...read.lock.overrides }, { ...read.lock.code_files });
  assert.equal(w.unchangedFrom(read.lock), true, 'the same header again is no change');
  assert.equal(w.unchangedFrom(lock), false, 'made from another lock');
  w.setMeta({ 'gate.threshold': 0.5 }, {});
  assert.equal(w.unchangedFrom(read.lock), false, 'other overrides');
  const w2 = new LockWriter(path, read.lock, order, mirror);
  await w2.set('gate', entry({ duration_ms: 13 }));
  assert.equal(w2.unchangedFrom(read.lock), false, 'an entry set');
  // A hand edit (a comment added): the YAML is parsed, and the lock is not verbatim.
  writeFileSync(path, '# edited\n' + readFileSync(path, 'utf8'));
  const edited = readLock(path, mirror);
  assert.ok('lock' in edited);
  assert.equal(isVerbatim(edited.lock, readFileSync(path, 'utf8'), order), false);
});

test('a mirror vouches for its text only if written by this formatter (LOCK_FORMAT): another version\'s, or one without a version, is not read', async () => {
  mkdirSync(join(dir, 'f'));
  const mirror = join(dir, 'f', 'pipe.lock.json');
  const path = join(dir, 'f', 'pipe.lock');
  await new LockWriter(path, lock, order, mirror).save();
  const text = readFileSync(path, 'utf8');
  const written = JSON.parse(readFileSync(mirror, 'utf8')) as { format: unknown; text: string; data: unknown };
  assert.equal(written.format, LOCK_FORMAT);
  const verbatimWith = (m: object): boolean => {
    writeFileSync(mirror, JSON.stringify(m));
    const read = readLock(path, mirror);
    assert.ok('lock' in read);
    assert.deepEqual(JSON.parse(JSON.stringify(read.lock.stages)), JSON.parse(JSON.stringify(lock.stages)), 'the same data either way');
    return isVerbatim(read.lock, text, order);
  };
  assert.equal(verbatimWith(written), true);
  assert.equal(verbatimWith({ ...written, format: LOCK_FORMAT + 1 }), false, 'another formatter');
  assert.equal(verbatimWith({ text: written.text, data: written.data }), false, 'no formatter version (an older pipe)');
});

test('a no-op run rewrites a lock an older formatter wrote, and writes a missing mirror without touching the lock', async (t) => {
  const rig = new Rig({ 'pipeline.yaml': 'stages:\n  gen:\n    cmd: echo 1 > out.txt\n    outs: [out.txt]\n' });
  t.after(() => rig.cleanup());
  assert.equal((await rig.run('run')).code, 0);
  const mirror = join(rig.dir, '.pipe', 'state', 'pipe.lock.json');
  const current = rig.read('pipe.lock');
  const m = JSON.parse(readFileSync(mirror, 'utf8')) as { format: number; text: string; data: unknown };
  assert.equal(m.text, hashBytes(current));
  // An older pipe's text (the same data, another header) and its mirror vouching for it (no version then).
  const older = current.replace(/^# pipe\.lock: .*\n/, '# pipe.lock (an older format)\n');
  assert.notEqual(older, current);
  rig.write({ 'pipe.lock': older });
  writeFileSync(mirror, JSON.stringify({ text: hashBytes(older), data: m.data }));
  assert.equal((await rig.run('run')).code, 0);
  assert.equal(rig.read('pipe.lock'), current, 'rewritten in this format');
  assert.deepEqual(JSON.parse(readFileSync(mirror, 'utf8')), m, 'with its mirror');
  // No mirror (deleted, or not trusted) and a lock already in this format: only the mirror is written.
  rmSync(mirror);
  const ino = statSync(join(rig.dir, 'pipe.lock')).ino;
  assert.equal((await rig.run('run')).code, 0);
  assert.deepEqual(JSON.parse(readFileSync(mirror, 'utf8')), m, 'the mirror is back');
  assert.equal(statSync(join(rig.dir, 'pipe.lock')).ino, ino, 'the lock was not rewritten');
  assert.equal(rig.read('pipe.lock'), current);
});

test('readGitHead: the commit git names, loose or packed, on a branch or detached; none outside git', () => {
  const repo = join(dir, 'repo');
  mkdirSync(repo);
  const git = (...args: string[]): string => execFileSync('git', ['-C', repo, '-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { encoding: 'utf8' }).trim();
  git('init', '-q');
  assert.ok(!('commit' in readGitHead(repo)), 'no commit yet');
  git('commit', '-q', '--allow-empty', '-m', 'one');
  assert.deepEqual(readGitHead(join(repo)), { commit: git('rev-parse', 'HEAD') });
  git('pack-refs', '--all');
  git('commit', '-q', '--allow-empty', '-m', 'two');
  git('pack-refs', '--all');
  mkdirSync(join(repo, 'sub'));
  assert.deepEqual(readGitHead(join(repo, 'sub')), { commit: git('rev-parse', 'HEAD') }, 'packed, from a subfolder');
  git('checkout', '-q', '--detach', 'HEAD~1');
  assert.deepEqual(readGitHead(repo), { commit: git('rev-parse', 'HEAD') }, 'detached');
  // Outside a checkout (unless the temp folder is in one): as git says.
  let outside: string | undefined;
  try {
    outside = execFileSync('git', ['-C', dir, 'rev-parse', '--verify', '-q', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    outside = undefined;
  }
  assert.deepEqual(readGitHead(dir), outside === undefined ? { none: true } : { commit: outside });
});

test('readGitHead: a loose ref that is not a commit id, or GIT_COMMON_DIR set, is unknown (git is asked), never the packed ref', () => {
  const repo = join(dir, 'repo-odd');
  mkdirSync(repo);
  const git = (...args: string[]): string => execFileSync('git', ['-C', repo, '-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { encoding: 'utf8' }).trim();
  git('init', '-q', '-b', 'main');
  git('commit', '-q', '--allow-empty', '-m', 'one');
  git('pack-refs', '--all');
  assert.deepEqual(readGitHead(repo), { commit: git('rev-parse', 'HEAD') });
  // A loose ref beside the packed one that is no commit id (a symbolic ref): not the packed (older) commit.
  writeFileSync(join(repo, '.git', 'refs', 'heads', 'main'), 'ref: refs/heads/other\n');
  assert.deepEqual(readGitHead(repo), { unknown: true });
  rmSync(join(repo, '.git', 'refs', 'heads', 'main'));
  assert.deepEqual(readGitHead(repo), { commit: git('rev-parse', 'HEAD') });
  process.env['GIT_COMMON_DIR'] = join(repo, '.git');
  try {
    assert.deepEqual(readGitHead(repo), { unknown: true });
  } finally {
    delete process.env['GIT_COMMON_DIR'];
  }
});
