import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Rig } from './util/rig.js';

// A deps folder holding something that is not a regular file or folder: each gets its own message.
describe('odd entries in a deps folder are named precisely', () => {
  const rig = new Rig({
    'pipeline.yaml': 'stages:\n  s:\n    cmd: echo ran > out.txt\n    deps: [data]\n    outs: [out.txt]\n',
    'data/ok.txt': 'fine\n',
  });
  after(() => rig.cleanup());
  const odd = join(rig.dir, 'data', 'odd');

  const cases: [string, () => void, RegExp][] = [
    ['a FIFO', () => execFileSync('mkfifo', [odd]), /dependency "data" contains "odd", which is a FIFO \(named pipe\), not a regular file or folder/],
    ['a dangling symlink', () => symlinkSync('nowhere.txt', odd), /dependency "data" contains "odd", which is a dangling symlink \(-> nowhere\.txt\)/],
    ['a symlink loop', () => { symlinkSync('odd2', odd); symlinkSync('odd', join(rig.dir, 'data', 'odd2')); }, /dependency "data" contains "odd", which is a symlink loop \(-> odd2\)/],
    ['a symlink to /dev/zero', () => symlinkSync('/dev/zero', odd), /dependency "data" contains "odd", which is a symlink to \/dev\/zero, which is a character device: not a regular file or folder/],
    ['a symlink to a parent folder', () => symlinkSync('..', odd), /dependency "data" contains "odd", which is a symlink cycle \(-> .*, one of its parent folders\)/],
  ];
  for (const [what, make, message] of cases) {
    test(what, async () => {
      rmSync(odd, { force: true });
      rmSync(join(rig.dir, 'data', 'odd2'), { force: true });
      make();
      const st = await rig.run('status');
      assert.match(st.stdout, message);
      const r = await rig.run('run');
      assert.equal(r.code, 1);
      assert.match(r.stdout, message);
      assert.doesNotMatch(r.stdout + r.stderr, /does not exist/);
    });
  }

  test('a missing dep still says it does not exist', async () => {
    rmSync(join(rig.dir, 'data'), { recursive: true, force: true });
    const r = await rig.run('run');
    assert.equal(r.code, 1);
    assert.match(r.stdout, /FAILED s: dependency "data" does not exist/);
    mkdirSync(join(rig.dir, 'data'));
  });
});
