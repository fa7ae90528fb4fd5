import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Rig } from './util/rig.js';

async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
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
    await until(() => /watching \d+ paths/.test(err), 'the first run');
    assert.deepEqual(rig.lines('runs.log').sort(), ['copy', 'other']);
    rig.write({ 'in.txt': 'two\n' });
    await until(() => rig.lines('runs.log').length === 3, 'the re-run');
    await until(() => (err.match(/watching \d+ paths/g) ?? []).length === 2, 'the watcher to settle');
    assert.equal(rig.lines('runs.log')[2], 'copy');
    assert.equal(rig.read('out.txt'), 'two\n');
    w.child.kill('SIGINT');
    const r = await w.done;
    assert.equal(r.code, 0);
  });
});
