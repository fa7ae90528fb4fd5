/**
 * pipe's own temp names (`.<name>.<pid>.<12 hex>.tmp`, written beside a target
 * and left there by a killed run until the next run cleans them) are not part
 * of a folder: a folder dep hashes, and a folder out stores, the same with or
 * without them, so `status` before that cleanup sees nothing stale.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { FileState } from '../cache/file-state.js';
import { ObjectStore } from '../cache/store.js';
import { Rig } from './util/rig.js';

/** A pid no process has (above Linux's largest pid_max), as a killed run's would be. */
const DEAD = 99_999_999;

describe("a folder's digest leaves out pipe's temp names", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('FileState and the object store skip them; other dot and .tmp names count', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pipe-dir-temps-'));
    dirs.push(dir);
    const src = join(dir, 'data');
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'a.txt'), 'a');
    await writeFile(join(src, 'sub', 'b.txt'), 'b');
    const digests = async (tag: string): Promise<[string, string]> => {
      const files = await FileState.load(join(dir, `${tag}.state`));
      const hashed = await files.hashPath(src);
      const stored = await new ObjectStore(join(dir, `cache-${tag}`)).putDir(src);
      return [hashed.digest, stored.digest];
    };
    const [clean, cleanStored] = await digests('clean');
    assert.equal(clean, cleanStored);

    // A dead run's half-restored file and folder, and a live writer's temp (this process).
    await writeFile(join(src, `.a.txt.${DEAD}.0123456789ab.tmp`), 'half');
    await mkdir(join(src, `.sub.${DEAD}.abcdef012345.tmp`, 'deeper'), { recursive: true });
    await writeFile(join(src, `.sub.${DEAD}.abcdef012345.tmp`, 'deeper', 'b.txt'), 'half');
    await writeFile(join(src, 'sub', `.b.txt.${process.pid}.00aa00aa00aa.tmp`), 'being written');
    assert.deepEqual(await digests('temps'), [clean, clean]);

    // Names that only look alike are the user's files.
    for (const name of ['.a.tmp', `.a.txt.${DEAD}.tmp`, `a.txt.${DEAD}.0123456789ab.tmp`, `.a.txt.${DEAD}.0123456789abc.tmp`]) {
      await writeFile(join(src, name), 'mine');
      const [h, s] = await digests(`user-${name}`);
      assert.notEqual(h, clean, name);
      assert.equal(h, s, name);
      await rm(join(src, name));
    }
  });

  test('status before the cleanup: a temp left in a folder dep does not make its stage stale', async () => {
    const rig = new Rig({
      'pipeline.yaml': `stages:
  gen:
    cmd: mkdir -p data && echo one > data/a.txt && echo two > data/b.txt
    outs: [data/a.txt, data/b.txt]
  use:
    cmd: cat data/*.txt > all.txt
    needs: [gen]
    deps: [data]
    outs: [all.txt]
`,
    });
    try {
      assert.equal((await rig.run('run')).code, 0);
      // What a run killed while restoring data/a.txt (on another filesystem than the cache) leaves.
      rig.write({ [`data/.a.txt.${DEAD}.0123456789ab.tmp`]: 'half of one\n' });
      const st = await rig.run('status');
      assert.equal(st.code, 0, st.stderr);
      assert.match(st.stdout, /everything is up to date/);
      // A file of the user's own in the folder is a change.
      rig.write({ 'data/c.txt': 'three\n' });
      const changed = (await rig.run('status')).stdout;
      assert.match(changed, /use/);
      assert.doesNotMatch(changed, /everything is up to date/);
    } finally {
      rig.cleanup();
    }
  });
});
