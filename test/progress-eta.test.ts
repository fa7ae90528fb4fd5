import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import type { EngineEvent } from '../engine/events.js';
import { etaTracker, makespan, type EtaGraph } from '../engine/progress-eta.js';
import type { Progress } from '../engine/stage-api.js';
import { trainingHooks } from '../stages/models/train-hooks.js';
import { Rig } from './util/rig.js';

// a -> b -> d, a -> c -> d
const NEEDS: Record<string, string[]> = { a: [], b: ['a'], c: ['a'], d: ['b', 'c'] };
const G: EtaGraph = { order: ['a', 'b', 'c', 'd'], needs: (s) => NEEDS[s] ?? [] };
const COST: Record<string, number> = { a: 10_000, b: 40_000, c: 20_000, d: 5_000 };

describe('the whole-pipeline ETA', () => {
  test('makespan: needs are waited for, and stages share the slots', () => {
    const all = new Set(G.order);
    assert.equal(makespan(all, G, 1, (s) => COST[s]!), 75_000);
    assert.equal(makespan(all, G, 2, (s) => COST[s]!), 55_000); // b and c side by side
    assert.equal(makespan(new Set(['c', 'd']), G, 2, (s) => COST[s]!), 25_000);
  });

  test('notes as stages start and end: the stage and what is downstream of it, less what has run', () => {
    let t = 0;
    const previous = new Map(Object.entries(COST));
    const down = (s: string): string[] => ({ a: ['b', 'c', 'd'], b: ['d'], c: ['d'], d: [] }[s] ?? []);
    const eta = etaTracker(G, previous, down, 2, () => t);
    const messages = (e: EngineEvent): string[] => eta(e).map((n) => (n.type === 'note' ? n.message : ''));
    assert.deepEqual(messages({ type: 'stage-end', stage: 'a', status: 'fresh', durationMs: 0 }), [], 'a fresh stage is no news');
    assert.deepEqual(messages({ type: 'stage-start', stage: 'b', action: 'run', why: [] }), ['pipeline: 2 stages to go, about 45.0s left (from the durations in the lock)']);
    t = 5_000; // b has 35 s to go, c 20 s beside it, then d 5 s
    assert.deepEqual(messages({ type: 'stage-start', stage: 'c', action: 'run', why: [] }), ['pipeline: 3 stages to go, about 40.0s left (from the durations in the lock)']);
    t = 40_000;
    assert.deepEqual(messages({ type: 'stage-end', stage: 'b', status: 'ran', durationMs: 40_000 }), [], 'under 30 s left: no note');
  });

  test('stages never timed make the figure a lower bound, and say so', () => {
    const eta = etaTracker(G, new Map([['b', 60_000]]), () => ['d'], 1, () => 0);
    const [n] = eta({ type: 'stage-start', stage: 'b', action: 'run', why: [] });
    assert.equal(n?.type === 'note' && n.message, 'pipeline: 2 stages to go, at least 1m00s left (never timed: d) (from the durations in the lock)');
  });
});

describe('the ETA in `pipe run`', () => {
  const rig = new Rig({
    'pipeline.yaml': `stages:
  one:
    cmd: echo 1 > one.txt
    outs: [one.txt]
  two:
    cmd: cat one.txt > two.txt
    deps: [one.txt]
    outs: [two.txt]
`,
  });
  after(() => rig.cleanup());

  test('with the last durations in pipe.lock, --force prints the ETA on stderr under --json; stdout stays one JSON document', async () => {
    assert.equal((await rig.run('run')).code, 0);
    const lock = parse(rig.read('pipe.lock'));
    lock.stages.one.duration_ms = 100_000;
    lock.stages.two.duration_ms = 20_000;
    rig.write({ 'pipe.lock': stringify(lock) });
    const r = await rig.json('run', '--force');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.doc.stages.length, 2);
    assert.match(r.stderr, /^pipeline: 2 stages to go, about 2m00s left \(from the durations in the lock\)$/m);
  });
});

describe('progress within an epoch', () => {
  test('batches done of the whole training, with the epoch and images per second; the epoch\'s last batch is left to the stage', () => {
    const seen: Progress[] = [];
    const hooks = trainingHooks({ log: () => {}, progress: (p) => seen.push(p) }, { backend: 'wasm' });
    assert.equal(hooks.checkpoint, undefined, 'no scratch folder, no checkpoint');
    hooks.onBatch!(3, 10, { epoch: 2, epochs: 5, images: 24, ms: 400 });
    hooks.onBatch!(10, 10, { epoch: 2, epochs: 5, images: 80, ms: 1000 });
    assert.deepEqual(seen, [{ done: 13, total: 50, unit: 'batches', note: 'epoch 2/5, 60 images/s' }]);
    const withScratch = trainingHooks({ scratchDir: '/s', log: () => {}, progress: () => {} }, { backend: 'wasm', threads: '1' });
    assert.deepEqual({ ...withScratch.checkpoint, log: undefined }, { path: '/s/train.ckpt', tag: '{"backend":"wasm","threads":"1"}', log: undefined });
  });
});
