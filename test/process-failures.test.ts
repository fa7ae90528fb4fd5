/**
 * Every failed or skipped stage carries its `StageFailure` in `pipe run --json`
 * (`failure: {reason, ...}`) beside the line a person reads (`message`).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rig, trackRigs } from './util/rig.js';

const track = trackRigs();

describe('stage failures in --json', () => {
  test('each failed or skipped stage has a tagged failure and its message', async () => {
    const rig = new Rig({
      'pipeline.yaml': `stages:
  bad:
    cmd: exit 3
  after_bad:
    cmd: echo never
    needs: [bad]
  nodep:
    cmd: cat missing.txt
    deps: [missing.txt]
  boom:
    uses: ./boom.mjs
  lazy:
    uses: ./lazy.mjs
  noout:
    cmd: "true"
    outs: [never.txt]
  killed:
    cmd: kill -9 $$
  badmetrics:
    cmd: echo nope > m.json
    metrics: m.json
`,
      'boom.mjs': "export default { description: 'x', artifacts: () => ['x'], async run() { throw new Error('bad pixel'); } };\n",
      'lazy.mjs': "export default { description: 'x', artifacts: () => ['y'], async run() {} };\n",
    });
    track(rig);
    const r = await rig.json('run');
    assert.equal(r.code, 1);
    const by = Object.fromEntries(r.doc.stages.map((s: any) => [s.stage, s]));
    assert.deepEqual(by.bad.failure, { reason: 'exit-code', code: 3, command: 'exit 3' });
    assert.equal(by.bad.message, 'command exited with code 3: exit 3');
    assert.deepEqual(by.after_bad.failure, { reason: 'need-failed', need: 'bad' });
    assert.equal(by.after_bad.status, 'skipped');
    assert.deepEqual(by.nodep.failure, { reason: 'dep-missing', dep: 'missing.txt', detail: 'does not exist' });
    assert.equal(by.nodep.message, 'dependency "missing.txt" does not exist');
    assert.equal(by.boom.failure.reason, 'threw');
    assert.equal(by.boom.failure.message, 'bad pixel');
    assert.equal(by.boom.message, 'bad pixel');
    assert.match(by.boom.failure.stack, /bad pixel\n\s+at /);
    assert.deepEqual(by.lazy.failure, { reason: 'output-missing', output: 'y', artifact: true });
    assert.equal(by.lazy.message, 'stage did not write its artifact "y"');
    assert.deepEqual(by.noout.failure, { reason: 'output-missing', output: 'never.txt' });
    assert.equal(by.noout.message, 'stage did not write its output "never.txt"');
    assert.deepEqual(by.killed.failure, { reason: 'killed', signal: 'SIGKILL' });
    assert.equal(by.badmetrics.failure.reason, 'bad-metrics');
    assert.equal(by.badmetrics.failure.file, 'm.json');
    for (const s of r.doc.stages) assert.equal(typeof s.message, 'string', `${s.stage} has a message`);
  });
});
