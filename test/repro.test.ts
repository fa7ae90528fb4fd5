import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { EXP_PIPELINE, expRig } from './util/exp-rig.js';

describe('pipe repro: any lock back, compared output by output', () => {
  const rig = expRig();
  after(() => rig.cleanup());
  let oldLock: string;

  before(async () => {
    assert.equal((await rig.run('run')).code, 0);
    oldLock = rig.read('pipe.lock');
    rig.write({ 'old.lock': oldLock });
    // The pipeline moves on: new params, new outputs.
    rig.write({ 'pipeline.yaml': EXP_PIPELINE.replace('lr: 0.5', 'lr: 0.25').replace('min_pixels: 10', 'min_pixels: 40') });
    assert.equal((await rig.run('run')).code, 0);
  });

  test('an old lock after the params changed: its outputs come back, identical, with its params', async () => {
    const runs = rig.lines('runs.log').length;
    const r = await rig.run('repro', 'old.lock');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^train\s+restored$/m);
    assert.match(r.stdout, /^gate\s+restored$/m);
    assert.match(r.stdout, /^reproduced: every output of 2 stages is identical to the lock's \(2 restored from the cache\)$/m);
    assert.equal(rig.lines('runs.log').length, runs, 'nothing ran: both keys were cached');
    const now = parse(rig.read('pipe.lock'));
    const old = parse(oldLock);
    for (const s of ['train', 'gate']) assert.deepEqual(now.stages[s].outputs, old.stages[s].outputs, s);
    assert.equal(now.stages.gate.params.min_pixels, 10);
    // A second repro of the same lock: the workspace already holds it.
    const again = await rig.json('repro', 'old.lock');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(again.doc.stages.map((s: any) => s.verdict), ['identical', 'identical']);
  });

  test('--no-cache runs every stage again and gets bit-identical outputs', async () => {
    const runs = rig.lines('runs.log').length;
    const r = await rig.json('repro', 'old.lock', '--no-cache');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.doc.stages.map((s: any) => [s.stage, s.verdict]), [['train', 'identical'], ['gate', 'identical']]);
    assert.deepEqual(rig.lines('runs.log').slice(runs), ['train 0.5', 'gate 0.3 10']);
  });

  test('a tampered output digest in the lock is reported as differs, naming the artifact', async () => {
    const lock = parse(oldLock);
    lock.stages.gate.outputs.masks.digest = `sha256:${'0'.repeat(64)}`;
    rig.write({ 'tampered.lock': stringify(lock) });
    const r = await rig.run('repro', 'tampered.lock');
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^gate\s+differs\s+masks: sha256:0000000000\S* in the lock, sha256:\S+ now/m);
    assert.match(r.stdout, /^train\s+(identical|restored)$/m);
    assert.match(r.stdout, /^NOT reproduced: gate differs$/m);
  });

  test('a lock whose code differs from the checked-out code is refused, naming the stage and file', async () => {
    rig.write({ 'gate.mjs': rig.read('gate.mjs') + 'export const unused = 1;\n' });
    const r = await rig.run('repro', 'old.lock');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^pipe repro: the code of 1 stage differs from old\.lock: gate \(gate\.mjs\); --allow-code-drift/m);
    const runs = rig.lines('runs.log').length;
    const forced = await rig.json('repro', 'old.lock', '--allow-code-drift');
    assert.equal(forced.code, 0, forced.stderr); // the edit is code that changes no output (a comment would not count as drift)
    assert.deepEqual(forced.doc.stages.map((s: any) => s.verdict), ['identical', 'identical']);
    assert.deepEqual(rig.lines('runs.log').slice(runs), ['gate 0.3 10']);
  });

  test('--rev reads the lock and the pipeline from git; an experiment id works as LOCK', async () => {
    const git = (...a: string[]): string => execFileSync('git', ['-C', rig.dir, ...a], { encoding: 'utf8' });
    rig.write({ 'gate.mjs': rig.read('gate.mjs').replace('export const unused = 1;\n', ''), 'pipe.lock': oldLock, 'pipeline.yaml': EXP_PIPELINE });
    git('init', '-q');
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'add', 'pipeline.yaml', 'pipe.lock', 'train.mjs', 'gate.mjs');
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'old');
    rig.write({ 'pipeline.yaml': EXP_PIPELINE.replace('lr: 0.5', 'lr: 0.75') });
    assert.equal((await rig.run('run')).code, 0);
    const r = await rig.json('repro', '--rev', 'HEAD');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.doc.lock, 'HEAD:pipe.lock');
    assert.deepEqual(r.doc.stages.map((s: any) => s.verdict), ['restored', 'restored']);
    const exps = await rig.json('exp', 'list');
    const repro = exps.doc.experiments.find((e: any) => e.id === r.doc.experiment.id);
    assert.equal(repro.kind, 'repro');
    assert.ok(repro, 'the repro is recorded as an experiment');
    assert.match(repro.commit, /^[0-9a-f]{40}$/);
    const byId = await rig.json('repro', repro.id);
    assert.equal(byId.code, 0, byId.stderr);
    assert.match(byId.doc.lock, new RegExp(`^experiment ${repro.name}`));
    const bad = await rig.run('repro', '--rev', 'no-such-rev');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--rev no-such-rev: not a commit/);
  });
});
