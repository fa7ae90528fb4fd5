/**
 * Artifacts cross the boundary between command and module stages: a command
 * stage reads its inputs through PIPE_INPUT_<STAGE>_<ARTIFACT> and
 * PIPE_INPUTS, declares artifacts of its own that the built-in gate reads by
 * name, and gate writes its validation masks as Kaggle CSVs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Rig, statuses } from './util/rig.js';
import { LEFT_HALF_RLE, TINY_GATE_FILES } from './util/tiny-gate.js';

describe('command stages and artifacts', () => {
  const rig = new Rig(TINY_GATE_FILES);
  after(() => rig.cleanup());
  let first: { code: number | null; doc: any; stderr: string };
  before(async () => {
    first = await rig.json('run');
  });

  test('every stage ran; the command stage\'s artifact is in the lock like a built-in\'s', () => {
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(statuses(first.doc), { fake: 'ran', copy: 'ran', gate: 'ran', report: 'ran' });
    const lock = parse(rig.read('pipe.lock'));
    assert.match(lock.stages.copy.outputs.predictions.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(lock.stages.copy.outputs.predictions.digest, lock.stages.fake.outputs.pred_src.digest, 'the copy is the same bytes');
    assert.deepEqual(Object.keys(lock.stages.gate.outputs).sort(), ['masks', 'val_pred.csv', 'val_truth.csv']);
    assert.ok(lock.stages.gate.metrics.val_dice > 0.95, String(lock.stages.gate.metrics.val_dice));
  });

  test('a command stage reads gate\'s artifacts through PIPE_INPUT_GATE_* and PIPE_INPUTS', () => {
    const report = JSON.parse(rig.read('report.json'));
    assert.match(report.pred, /^img,pixels\n1_1,1 \d+\n1_2,\n$/);
    assert.equal(report.truth, `img,pixels\n1_1,${LEFT_HALF_RLE}\n1_2,\n`);
    assert.deepEqual(Object.keys(report.masks), ['height', 'width', 'gate', 'val', 'test']);
    assert.equal(report.masks.height, 420);
    assert.deepEqual(Object.keys(report.inputs), ['gate']);
    assert.deepEqual(Object.keys(report.inputs.gate).sort(), ['masks', 'val_pred.csv', 'val_truth.csv']);
    for (const p of Object.values<string>(report.inputs.gate)) assert.ok(p.startsWith(join(rig.dir, '.pipe', 'cache')), p);
    assert.equal(report.outDir, null, 'no PIPE_OUT_DIR without declared artifacts');
  });

  test('a second run is a no-op; editing the artifact-producing command reruns it and what reads it', async () => {
    const again = await rig.json('run');
    assert.deepEqual(Object.values(statuses(again.doc)), ['fresh', 'fresh', 'fresh', 'fresh']);
    rig.write({ 'pipeline.yaml': rig.read('pipeline.yaml').replace('echo "out', 'echo "wrote') });
    const edited = await rig.json('run');
    // Same bytes out of copy: gate's inputs are unchanged, so it stays fresh.
    assert.deepEqual(statuses(edited.doc), { fake: 'fresh', copy: 'ran', gate: 'fresh', report: 'fresh' });
  });

  test('a sweep runs the command stage with its inputs and PIPE_OUT_DIR too', async () => {
    const r = await rig.json('sweep', 'copy.tag=1,2');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /copy\.tag=1: gate\.val_dice 0\.9\d+ \(ran copy,/);
    assert.match(r.stderr, /\[copy\] wrote \/.*\/out\n/, 'the edited command ran, with PIPE_OUT_DIR set');
  });

  test('artifacts on a module stage and bad artifact names are errors located in pipeline.yaml', async () => {
    const bad = new Rig({ ...TINY_GATE_FILES, 'pipeline.yaml': TINY_GATE_FILES['pipeline.yaml']!.replace("params: {min_pixels: 5}", "params: {min_pixels: 5}\n    artifacts: [x]").replace('[predictions]', '[pre/dictions]') });
    try {
      const r = await bad.run('status');
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /pipeline\.yaml:7:\d+/);
      const fixed = new Rig({ ...TINY_GATE_FILES, 'pipeline.yaml': TINY_GATE_FILES['pipeline.yaml']!.replace("params: {min_pixels: 5}", "params: {min_pixels: 5}\n    artifacts: [x]") });
      const r2 = await fixed.run('status');
      fixed.cleanup();
      assert.equal(r2.code, 2, r2.stderr);
      assert.match(r2.stderr, /pipeline\.yaml:12:5 .*"artifacts" is for command stages/);
    } finally {
      bad.cleanup();
    }
  });
});
