import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { expRig } from './util/exp-rig.js';
import { statuses } from './util/rig.js';

describe('pipe sweep: a grid of points, each only its stale suffix, on cached upstream artifacts', () => {
  const rig = expRig();
  after(() => rig.cleanup());
  let sweep: any;
  let lockBefore: string;

  before(async () => {
    assert.equal((await rig.run('run')).code, 0);
    lockBefore = rig.read('pipe.lock');
    sweep = await rig.json('sweep', 'gate.threshold=0.1,0.3', 'gate.min_pixels=0:20:10', '-j', '2');
    assert.equal(sweep.code, 0, sweep.stderr);
  });

  test('six points, sorted by the metric, none of which ran an upstream stage (from the run records)', () => {
    assert.equal(sweep.doc.metric, 'gate.val_dice');
    assert.equal(sweep.doc.points.length, 6);
    const values = sweep.doc.points.map((p: any) => p['gate.val_dice']);
    assert.deepEqual(values, [...values].sort((a: number, b: number) => b - a));
    for (const p of sweep.doc.points) {
      assert.ok(!p.ran.includes('train'), `train did not run for ${JSON.stringify(p.params)}`);
      assert.match(p.experiment.id, /^[0-9a-f]{8}$/);
    }
    // The point that is the workspace's own params ran nothing; the five others ran gate.
    assert.equal(sweep.doc.points.filter((p: any) => p.ran.includes('gate')).length, 5);
    assert.deepEqual(rig.lines('runs.log').filter((l) => l.startsWith('train')), ['train 0.5'], 'train ran once, in the first run');
  });

  test('the table, CSV, JSON and a chart per param are written; the workspace is left alone', () => {
    assert.match(sweep.stderr, /^1\s+0\.1\s+20\s+0\.25\s+\S+\s+gate$/m);
    const files: string[] = sweep.doc.files;
    assert.deepEqual(files.map((f) => f.split('/').pop()), [
      'sweep.csv', 'sweep.json', 'gate.val_dice-by-gate.threshold.svg', 'gate.val_dice-by-gate.threshold.png',
      'gate.val_dice-by-gate.min_pixels.svg', 'gate.val_dice-by-gate.min_pixels.png',
    ]);
    for (const f of files) assert.ok(existsSync(f), f);
    const csv = readFileSync(files[0] as string, 'utf8').trim().split('\n');
    assert.equal(csv[0], 'gate.threshold,gate.min_pixels,gate.val_dice,train.loss,experiment,ran,ms');
    assert.match(csv[1] ?? '', /^0\.1,20,0\.25,0\.666\d*,[0-9a-f]{8},gate,\d+$/);
    const svg = readFileSync(files[2] as string, 'utf8');
    assert.ok(svg.startsWith('<svg') && svg.includes('>gate.threshold</text>') && svg.includes('min_pixels=20'), 'the threshold chart has its axis and one series per min_pixels');
    assert.equal(rig.read('pipe.lock'), lockBefore, 'pipe.lock untouched');
  });

  test('each point equals a separate `pipe run --set` (which now restores it), and is an experiment', async () => {
    for (const p of sweep.doc.points.slice(0, 2)) {
      const r = await rig.json('run', '--set', `gate.threshold=${p.params['gate.threshold']}`, '--set', `gate.min_pixels=${p.params['gate.min_pixels']}`);
      assert.equal(r.code, 0, r.stderr);
      const gate = r.doc.stages.find((s: any) => s.stage === 'gate');
      assert.equal(gate.status, 'restored');
      assert.equal(gate.metrics.val_dice, p['gate.val_dice']);
      assert.equal(r.doc.experiment.id, p.experiment.id);
    }
    const list = await rig.json('exp', 'list');
    assert.equal(list.doc.experiments.filter((e: any) => e.sweep === sweep.doc.sweep).length, 6);
  });

  test('sweeping a training param trains only the new value; --random N picks N points; --apply best', async () => {
    const r = await rig.json('sweep', 'train.lr=0.5,0.75', 'gate.threshold=0.1,0.2', '--random', '3', '--apply', 'best');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.doc.points.length, 3);
    assert.deepEqual(rig.lines('runs.log').filter((l) => l.startsWith('train')), ['train 0.5', 'train 0.75'], 'one training for lr 0.75, shared by its points');
    const best = r.doc.points[0];
    const st = await rig.json('status');
    assert.deepEqual(st.doc.stages.map((s: any) => s.state), ['fresh', 'fresh']);
    assert.equal(st.doc.held.id, best.experiment.id);
    const again = await rig.json('run', '--set', `train.lr=${best.params['train.lr']}`, '--set', `gate.threshold=${best.params['gate.threshold']}`);
    assert.deepEqual(statuses(again.doc), { train: 'fresh', gate: 'fresh' });
  });

  test('a malformed spec or an unknown param is refused before anything runs', async () => {
    const bad = await rig.run('sweep', 'gate.threshold=0.5:0.1:0.1');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /lo <= hi/);
    const unknown = await rig.run('sweep', 'nosuch=1,2');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no global param "nosuch"/);
  });
});

describe('pipe sweep runs what the metric needs; --all-stages and --apply best run the rest', () => {
  const rig = expRig();
  rig.write({ 'pipeline.yaml': rig.read('pipeline.yaml') + `  publish:
    needs: [gate]
    cmd: echo publish >> runs.log
` });
  after(() => rig.cleanup());
  const published = (): number => rig.lines('runs.log').filter((l) => l === 'publish').length;

  test('a gate sweep leaves out a stage downstream of gate; --all-stages runs it', async () => {
    assert.equal((await rig.run('run')).code, 0);
    assert.equal(published(), 1);
    const s = await rig.json('sweep', 'gate.threshold=0.1,0.2');
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stderr, /each point runs what its metric needs: train, gate/);
    for (const p of s.doc.points) assert.deepEqual(p.ran, ['gate']);
    assert.equal(published(), 1, 'publish ran for no point');
    const all = await rig.json('sweep', 'gate.threshold=0.15', '--all-stages');
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(all.doc.points[0].ran, ['gate', 'publish']);
    assert.equal(published(), 2);
  });

  test('--apply best puts the best point in the workspace and runs publish for it alone', async () => {
    const r = await rig.json('sweep', 'gate.threshold=0.05,0.12', '--apply', 'best');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(published(), 3, 'publish ran once, for the best point');
    const st = await rig.json('status');
    assert.deepEqual(st.doc.stages.map((x: any) => x.state), ['fresh', 'fresh', 'fresh']);
  });
});
