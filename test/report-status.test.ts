/**
 * `pipe report`'s pipeline section says what `pipe status` says: the same
 * state per stage, planned with the overrides of the experiment the
 * workspace holds, and that experiment named.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Rig } from './util/rig.js';

const PIPELINE = `params:
  n: 1
stages:
  a:
    cmd: echo \${n} > a.txt
    outs: [a.txt]
  b:
    needs: [a]
    deps: [a.txt]
    cmd: cat a.txt > b.txt
    outs: [b.txt]
`;

/** stage -> the state word of its row in the report page. */
function reportStates(html: string): Record<string, string> {
  return Object.fromEntries([...html.matchAll(/<b>(\w+)<\/b>[\s\S]*?<span class="state \w+" title="[^"]*">([^<]*)<\/span>/g)].map((m) => [m[1], m[2]]));
}

describe('pipe report: the pipeline state as pipe status says it', () => {
  const rig = new Rig({ 'pipeline.yaml': PIPELINE });
  after(() => rig.cleanup());

  test('a workspace made with --set: the stages are fresh in both, and the page names the held experiment', async () => {
    assert.equal((await rig.run('run', '--set', 'n=2')).code, 0);
    const status = await rig.json('status');
    assert.equal(status.code, 0, status.stderr);
    const said = Object.fromEntries((status.doc.stages as { stage: string; state: string }[]).map((s) => [s.stage, s.state]));
    assert.deepEqual(said, { a: 'fresh', b: 'fresh' });
    const r = await rig.run('report');
    assert.equal(r.code, 0, r.stderr);
    const html = rig.read('report/index.html');
    assert.deepEqual(reportStates(html), said);
    assert.match(html, /workspace holds experiment [\w-]+ \(\w+\) with overrides n=2 \(states as planned with them\)/);
  });

  test('a stage made stale by the file: stale in both', async () => {
    rig.write({ 'pipeline.yaml': PIPELINE.replace('cat a.txt > b.txt', 'cat a.txt a.txt > b.txt') });
    const status = await rig.json('status');
    const said = Object.fromEntries((status.doc.stages as { stage: string; state: string }[]).map((s) => [s.stage, s.state]));
    assert.deepEqual(said, { a: 'fresh', b: 'stale' });
    assert.equal((await rig.run('report')).code, 0);
    assert.deepEqual(reportStates(rig.read('report/index.html')), said);
  });
});
