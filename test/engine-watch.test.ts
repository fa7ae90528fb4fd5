import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Rig } from './util/rig.js';
import { until } from './util/until.js';

/** Waits (at most 20 s) for what `cond` sees; fails the test naming `what` otherwise. */
async function waitFor(cond: () => boolean, what: string): Promise<void> {
  assert.ok(await until(cond, 20_000, 100), `timed out waiting for ${what}`);
}

describe('pipe watch', () => {
  const rig = new Rig({
    'pipeline.yaml': `stages:
  copy:
    cmd: echo copy >> runs.log && cp in.txt out.txt
    deps: [in.txt]
    outs: [out.txt]
  other:
    cmd: echo other >> runs.log && echo x > other.txt
    outs: [other.txt]
`,
    'in.txt': 'one\n',
  });
  after(() => rig.cleanup());

  test('runs stale stages, re-runs the dependents of a changed dep, stops on Ctrl-C', async () => {
    const w = rig.start(['watch']);
    let err = '';
    w.child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await waitFor(() => /watching \d+ paths/.test(err), 'the first run');
      assert.deepEqual(rig.lines('runs.log').sort(), ['copy', 'other']);
      rig.write({ 'in.txt': 'two\n' });
      await waitFor(() => rig.lines('runs.log').length === 3, 'the re-run');
      await waitFor(() => (err.match(/watching \d+ paths/g) ?? []).length === 2, 'the watcher to settle');
      assert.equal(rig.lines('runs.log')[2], 'copy');
      assert.equal(rig.read('out.txt'), 'two\n');
    } finally {
      w.child.kill('SIGINT');
    }
    const r = await w.done;
    assert.equal(r.code, 0, `${r.stderr}\nstderr so far:\n${err}`);
  });
});

describe('pipe watch: module stages', () => {
  const stage = (tag: string): string => `import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { word } from './lib.mjs';
export default {
  description: 'appends to runs.log',
  artifacts: () => ['out'],
  async run(ctx) {
    appendFileSync(join(ctx.root, 'runs.log'), '${tag} ' + word + '\\n');
    writeFileSync(join(ctx.outDir, 'out'), word);
  },
};
`;
  const rig = new Rig({
    'pipeline.yaml': 'stages:\n  mod:\n    uses: ./mods/stage.mjs\n',
    'mods/stage.mjs': stage('a'),
    'mods/lib.mjs': "export const word = 'one';\n",
  });
  after(() => rig.cleanup());

  test('re-runs a module stage when its module or a module it imports changes (as pipe status says)', async () => {
    const w = rig.start(['watch']);
    let err = '';
    w.child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const settled = (n: number) => waitFor(() => (err.match(/watching \d+ paths/g) ?? []).length === n, `watch round ${n}`);
    try {
      await settled(1);
      assert.deepEqual(rig.lines('runs.log'), ['a one']);
      rig.write({ 'mods/lib.mjs': "export const word = 'two';\n" });
      await waitFor(() => rig.lines('runs.log').length === 2, 'the re-run after editing an imported module');
      await settled(2);
      rig.write({ 'mods/stage.mjs': stage('b') });
      await waitFor(() => rig.lines('runs.log').length === 3, 'the re-run after editing the stage module');
      await settled(3);
      assert.deepEqual(rig.lines('runs.log'), ['a one', 'a two', 'b two']);
    } finally {
      w.child.kill('SIGINT');
    }
    assert.equal((await w.done).code, 0, err);
    const st = await rig.run('status');
    assert.match(st.stdout, /everything is up to date/);
  });
});
