import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../engine/config.js';
import { selectStages } from '../engine/executor.js';
import { buildGraph, type Graph } from '../engine/graph.js';
import { overlaps, workspacePath } from '../engine/paths.js';
import { readTensors } from '../cache/tensors.js';
import { builtinKinds } from '../stages/index.js';
import { upsampleRuns } from '../stages/gate.js';
import { readDataset } from '../stages/lib/dataset.js';
import { readRleCsv, scoreTables } from '../stages/lib/score.js';
import { Rig, statuses } from './util/rig.js';
import { repoRoot } from './util/paths.js';
import { tinyNervePipeline } from './util/tiny-nerve.js';

async function graphOf(file: string): Promise<Graph> {
  const config = loadConfig(join(repoRoot, file));
  assert.ok(config.ok, JSON.stringify(!config.ok && config.error));
  const g = await buildGraph(config.value, repoRoot, builtinKinds);
  assert.ok(g.ok, JSON.stringify(!g.ok && g.error));
  return g.value;
}

/**
 * Stages that can read `path`: a stage reads it when one of its deps overlaps
 * it or overlaps an out of a stage that read it, or when a stage it needs read
 * it (its artifacts may carry it). Walked in topological order.
 */
function readersOf(g: Graph, path: string): Set<string> {
  const tainted = new Set<string>();
  const paths = [path];
  for (const name of g.order) {
    const s = g.stages.get(name)!;
    if (s.deps.some((d) => paths.some((p) => overlaps(d, p))) || s.needs.some((n) => tainted.has(n))) {
      tainted.add(name);
      paths.push(...s.outs);
    }
  }
  return tainted;
}

describe('the test truth of the default pipeline', () => {
  test('no training stage (nor anything upstream of one, nor gate) can read the test truth; score does', async () => {
    const g = await graphOf('pipeline.yaml');
    const score = g.stages.get('score');
    assert.ok(score, 'the default pipeline has a score stage');
    const truth = workspacePath(repoRoot, String(score.config.params['truth']));
    assert.ok(g.stages.get('synth')!.outs.includes(truth), `synth writes ${truth}: ${g.stages.get('synth')!.outs.join(', ')}`);
    assert.ok(score.deps.includes(truth), 'score reads the truth');
    for (const s of g.stages.values()) assert.ok(!s.artifacts.some((a) => /test_masks/.test(a)), `${s.name} has no truth artifact`);
    const readers = readersOf(g, truth);
    assert.deepEqual([...readers], ['score'], 'only score reads the test truth');
    // Everything a training stage is built from, transitively.
    const upstream = new Set(selectStages(g, ['train-seg', 'train-cls', 'gate']));
    for (const n of upstream) {
      assert.ok(!readers.has(n), `${n} reads the truth`);
      for (const d of g.stages.get(n)!.deps) assert.ok(!overlaps(d, truth), `${n} dep ${d} overlaps ${truth}`);
    }
    assert.ok(upstream.has('synth') && upstream.has('ingest') && upstream.has('infer'), [...upstream].join(', '));
  });

  test('the real-data pipeline has no test truth and no score stage that would fail for lack of one', async () => {
    const g = await graphOf('pipeline.kaggle.yaml');
    for (const s of g.stages.values()) {
      if (s.runner.type === 'module' && s.runner.uses === 'score') assert.equal(s.config.params['truth'], '', `${s.name} scores a truth that real data lacks`);
    }
    assert.ok(!g.stages.has('synth'));
  });
});

// The default pipeline's shape with tiny sizes, score included.
const PIPELINE = tinyNervePipeline({
  seed: 2,
  params: { synth: { test_images: 8 }, 'iso-mask': { shift: undefined }, 'train-seg': { epochs: 1 }, 'train-cls': { epochs: 1 } },
  tail: ['submit', 'score'],
});

describe('the score stage on a tiny synthetic run', () => {
  const rig = new Rig({ 'pipeline.yaml': PIPELINE });
  after(() => rig.cleanup());
  let lock: any;

  before(async () => {
    const r = await rig.json('run');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statuses(r.doc).score, 'ran');
    lock = parse(rig.read('pipe.lock'));
  });

  test('synth writes the test truth outside the data folder, one row per test image', () => {
    const lines = rig.lines('data/synth-truth/test_masks.csv');
    assert.equal(lines[0], 'img,pixels');
    assert.deepEqual(lines.slice(1).map((l) => l.split(',')[0]), ['1', '2', '3', '4', '5', '6', '7', '8']);
    assert.ok(!rig.exists('data/synth/test_masks.csv'));
  });

  test('test_dice is `pipe score submission.csv test_masks.csv`; the baselines are recorded beside it', async () => {
    const m = lock.stages.score.metrics;
    for (const k of ['test_dice', 'test_dice_unet', 'test_dice_empty', 'val_dice_empty']) {
      assert.ok(typeof m[k] === 'number' && m[k] >= 0 && m[k] <= 1, `${k} = ${m[k]}`);
    }
    const r = await rig.json('score', 'submission.csv', 'data/synth-truth/test_masks.csv');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(m.test_dice, r.doc.score);
    const truthRows = rig.lines('data/synth-truth/test_masks.csv').slice(1);
    assert.equal(m.test_dice_empty, truthRows.filter((l) => l.endsWith(',')).length / truthRows.length);
    const valRows = rig.lines('submission.csv').length; // sanity: the submission has the test rows
    assert.equal(valRows, 9);
  });

  test('`pipe metrics show` lists the test scores next to val_dice', async () => {
    const r = await rig.json('metrics', 'show');
    assert.equal(r.code, 0, r.stderr);
    const names = Object.keys(r.doc.metrics);
    for (const k of ['gate.val_dice', 'score.test_dice', 'score.test_dice_empty', 'score.val_dice_empty']) assert.ok(names.includes(k), names.join(', '));
  });

  test('after `--set gate.threshold=X`, test_dice_unet is the U-Net alone at X (the threshold gate applied, from its masks)', async () => {
    const x = 0.95;
    const r = await rig.json('run', '--set', `gate.threshold=${x}`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statuses(r.doc).score, 'ran');
    const now = parse(rig.read('pipe.lock'));
    const object = (stage: string, artifact: string): string => {
      const hex = String(now.stages[stage].outputs[artifact].digest).slice('sha256:'.length);
      return join(rig.dir, '.pipe', 'cache', 'objects', hex.slice(0, 2), hex.slice(2));
    };
    const masks = JSON.parse(readFileSync(object('gate', 'masks'), 'utf8'));
    assert.equal(masks.gate.threshold, x);
    const truth = await readRleCsv(join(rig.dir, 'data/synth-truth/test_masks.csv'), false);
    assert.ok(truth.ok);
    const pred = await readTensors(object('infer', 'predictions'));
    const ds = await readDataset(object('ingest', 'dataset'));
    const ids = JSON.parse(pred.metadata['test_ids']!) as string[];
    const prob = pred.tensors['test_prob']!.data as Float32Array;
    const plane = ds.h * ds.w;
    const unetAt = (t: number): number => {
      const rows = new Map(ids.map((id, i) => [String(Number(id)), upsampleRuns(prob.subarray(i * plane, (i + 1) * plane), ds.h, ds.w, ds.origH, ds.origW, t)]));
      const s = scoreTables(rows, truth.rows, 'predictions', 'truth');
      assert.ok(s.ok);
      return s.score;
    };
    assert.equal(now.stages.score.metrics.test_dice_unet, unetAt(x));
    assert.equal(lock.stages.score.metrics.test_dice_unet, unetAt(0.3), 'before: at the pipeline file\'s threshold');
    assert.notEqual(unetAt(x), unetAt(0.3), 'the two thresholds score differently on this data (else the test proves nothing)');
  });

  test('without a test truth (real data) the stage says so and scores only validation', async () => {
    const r = await rig.run('run', '--set', 'score.truth=""');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /no test truth/);
    const m = parse(rig.read('pipe.lock')).stages.score.metrics;
    assert.deepEqual(Object.keys(m), ['val_dice_empty']);
    assert.equal(m.val_dice_empty, lock.stages.score.metrics.val_dice_empty);
  });
});
