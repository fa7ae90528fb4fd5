import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { EXP_PIPELINE, expRig } from './util/exp-rig.js';
import { statuses } from './util/rig.js';

describe('experiments: every run is recorded; the lock says which overrides made it', () => {
  const rig = expRig();
  after(() => rig.cleanup());
  let plain: any;
  let swept: any;

  before(async () => {
    plain = await rig.json('run');
    assert.equal(plain.code, 0, plain.stderr);
    swept = await rig.json('run', '--set', 'gate.min_pixels=20');
    assert.equal(swept.code, 0, swept.stderr);
  });

  test('a plain run records an experiment; its lock says it was made without overrides', () => {
    assert.match(plain.doc.experiment.id, /^[0-9a-f]{8}$/);
    assert.match(plain.doc.experiment.name, /^[a-z]+-[a-z]+$/);
    assert.deepEqual(plain.doc.experiment.overrides, {});
  });

  test('after a --set run the lock names the override at its top, and status does not call gate stale', async () => {
    const text = rig.read('pipe.lock');
    assert.match(text.split('\n')[1] ?? '', /^# made with overrides: --set gate\.min_pixels=20 /);
    assert.deepEqual(parse(text).overrides, { 'gate.min_pixels': 20 });
    const st = await rig.run('status');
    assert.equal(st.code, 0, st.stderr);
    const name = swept.doc.experiment.name;
    assert.match(st.stdout, new RegExp(`^workspace holds experiment ${name} \\(${swept.doc.experiment.id}\\) with overrides gate\\.min_pixels=20\n  \\(pipeline\\.yaml says gate\\.min_pixels: 10: `));
    assert.match(st.stdout, /^gate\s+fresh\s*$/m);
    assert.match(st.stdout, /everything is up to date/);
    const js = await rig.json('status');
    assert.deepEqual(js.doc.stages.map((s: any) => s.state), ['fresh', 'fresh']);
    assert.deepEqual(js.doc.held.overrides, { 'gate.min_pixels': 20 });
  });

  test('an override that repeats the pipeline file is no override', async () => {
    const r = await rig.json('run', '--set', 'gate.min_pixels=10');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statuses(r.doc).gate, 'restored');
    assert.match(rig.read('pipe.lock').split('\n')[1] ?? '', /^# made from the pipeline file as written/);
    assert.equal(r.doc.experiment.id, plain.doc.experiment.id, 'the same outputs are the same experiment');
    const st = await rig.run('status');
    assert.doesNotMatch(st.stdout, /workspace holds/);
  });

  test('exp list shows both experiments, the workspace one starred, with the metric that varies', async () => {
    const r = await rig.run('exp', 'list');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /name\s+id\s+kind\s+when\s+overrides\s+gate\.val_dice$/);
    assert.equal(lines.length, 4);
    assert.match(r.stdout, new RegExp(`^\\*\\s+${plain.doc.experiment.name}\\s+${plain.doc.experiment.id}\\s+run .* -\\s+[0-9.]+$`, 'm'));
    assert.match(r.stdout, new RegExp(`^\\s+${swept.doc.experiment.name}\\s+${swept.doc.experiment.id}\\s+run .* gate\\.min_pixels=20\\s+[0-9.]+$`, 'm'));
  });

  test('exp diff marks exactly the changed params, and the metrics with their change', async () => {
    const r = await rig.run('exp', 'diff', plain.doc.experiment.id, swept.doc.experiment.name);
    assert.equal(r.code, 0, r.stderr);
    const marked = r.stdout.split('\n').filter((l) => l.startsWith('*')).map((l) => l.split(/\s+/)[1]);
    assert.deepEqual(marked, ['gate.min_pixels', 'gate.val_dice', 'changed']);
    assert.match(r.stdout, /^\*\s+gate\.min_pixels\s+10\s+20$/m);
    assert.match(r.stdout, /^ \s+gate\.threshold\s+0\.3\s+0\.3$/m);
    const js = await rig.json('params', 'diff', plain.doc.experiment.id, swept.doc.experiment.id);
    assert.deepEqual(Object.entries<any>(js.doc.params).filter(([, v]) => v.changed).map(([k]) => k), ['gate.min_pixels']);
    assert.equal(js.doc.metrics, undefined, 'params diff shows params only');
  });

  test('exp show and metrics show', async () => {
    const show = await rig.run('exp', 'show', swept.doc.experiment.name);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^overrides\s+gate\.min_pixels=20$/m);
    assert.match(show.stdout, /^  gate\.val_dice\s+[0-9.]+$/m);
    const m = await rig.json('metrics', 'show');
    assert.equal(typeof m.doc.metrics['gate.val_dice'], 'number');
    assert.equal(typeof m.doc.metrics['train.loss'], 'number');
  });

  test('exp apply brings an experiment back from the cache without running; --write puts its params in the file, comments kept', async () => {
    const runsBefore = rig.lines('runs.log').length;
    const a = await rig.run('exp', 'apply', swept.doc.experiment.id);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /1 output restored \(overrides gate\.min_pixels=20; --write puts them into pipeline\.yaml\)/);
    assert.equal(rig.read('score.txt').trim(), String(swept.doc.stages.find((s: any) => s.stage === 'gate').metrics.val_dice));
    assert.deepEqual(parse(rig.read('pipe.lock')).overrides, { 'gate.min_pixels': 20 });
    assert.equal(rig.read('pipeline.yaml'), EXP_PIPELINE, 'without --write the file is untouched');
    const w = await rig.run('exp', 'apply', swept.doc.experiment.id, '--write');
    assert.equal(w.code, 0, w.stderr);
    assert.equal(rig.read('pipeline.yaml'), EXP_PIPELINE.replace('min_pixels: 10}', 'min_pixels: 20}'));
    assert.match(rig.read('pipe.lock').split('\n')[1] ?? '', /^# made from the pipeline file as written/);
    const st = await rig.json('status');
    assert.deepEqual(st.doc.stages.map((s: any) => s.state), ['fresh', 'fresh']);
    assert.equal(st.doc.held, undefined);
    assert.equal(rig.lines('runs.log').length, runsBefore, 'nothing ran');
    rig.write({ 'pipeline.yaml': EXP_PIPELINE });
  });

  test('exp remove forgets an experiment; gc keeps what kept experiments need', async () => {
    const r = await rig.run('exp', 'remove', swept.doc.experiment.id);
    assert.equal(r.code, 0, r.stderr);
    const list = await rig.json('exp', 'list');
    assert.deepEqual(list.doc.experiments.map((e: any) => e.id), [plain.doc.experiment.id]);
    const bad = await rig.run('exp', 'show', 'no-such-exp');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no experiment "no-such-exp"/);
  });
});

describe('gc keeps the outputs and run records of kept experiments', () => {
  const rig = expRig();
  after(() => rig.cleanup());

  test('going back to a swept value after gc restores instead of running', async () => {
    assert.equal((await rig.run('run', '--set', 'gate.min_pixels=30')).code, 0);
    assert.equal((await rig.run('run')).code, 0);
    const gc = await rig.json('gc');
    assert.equal(gc.code, 0, gc.stderr);
    assert.equal(gc.doc.removedRuns, 0);
    assert.equal(gc.doc.keptExperiments, 2);
    const back = await rig.json('run', '--set', 'gate.min_pixels=30');
    assert.equal(statuses(back.doc).gate, 'restored');
    // With --keep-last 1 the older experiment goes, and with it the swept value's outputs.
    assert.equal((await rig.run('run')).code, 0);
    const gc1 = await rig.json('gc', '--keep-last', '1');
    assert.equal(gc1.doc.removedExperiments, 1);
    assert.equal(gc1.doc.removedRuns, 1);
  });
});
