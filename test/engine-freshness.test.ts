import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { Rig, statuses } from './util/rig.js';
import { moduleStagesPipeline } from './util/module-stages.js';

// Two branches: module stages a -> b, command stages c -> d.
const PIPELINE = moduleStagesPipeline(2, `  c:
    cmd: echo c >> runs.log && mkdir -p out && cp data/in.txt out/c.txt
    deps: [data/in.txt]
    outs: [out/c.txt]
  d:
    cmd: echo d >> runs.log && cat out/c.txt out/c.txt > out/d.txt
    needs: [c]
    outs: [out/d.txt]
`);

const MODS = {
  'mods/lib.mjs': 'export const scale = 10;\n',
  'mods/a.mjs': `import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { scale } from './lib.mjs';
export default {
  description: 'test stage a',
  artifacts: () => ['num'],
  async run(ctx) {
    appendFileSync(join(ctx.root, 'runs.log'), 'a\\n');
    ctx.progress({ done: 1, total: 1, unit: 'steps' });
    ctx.metric('value', scale * ctx.params.x);
    writeFileSync(join(ctx.outDir, 'num'), String(scale * ctx.params.x));
  },
};
`,
  'mods/b.mjs': `import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default {
  description: 'test stage b',
  artifacts: () => ['double'],
  async run(ctx) {
    appendFileSync(join(ctx.root, 'runs.log'), 'b\\n');
    writeFileSync(join(ctx.outDir, 'double'), String(2 * Number(readFileSync(ctx.inputs.num, 'utf8'))));
  },
};
`,
};

describe('freshness: only stale stages run', () => {
  const rig = new Rig({ 'pipeline.yaml': PIPELINE, 'data/in.txt': 'hello\n', ...MODS });
  after(() => rig.cleanup());
  /** Runs `pipe run ARGS --json`, returns statuses and the stages that really ran (from runs.log). */
  const run = async (...args: string[]): Promise<{ status: Record<string, string>; ran: string[]; code: number | null; doc: any }> => {
    const before = rig.lines('runs.log').length;
    const r = await rig.json('run', ...args);
    return { status: statuses(r.doc), ran: rig.lines('runs.log').slice(before).sort(), code: r.code, doc: r.doc };
  };

  before(async () => {
    const r = await run();
    assert.equal(r.code, 0, JSON.stringify(r.doc));
    assert.deepEqual(r.ran, ['a', 'b', 'c', 'd']);
  });

  test('a second run runs nothing', async () => {
    const r = await run();
    assert.deepEqual(r.ran, []);
    assert.deepEqual(r.status, { a: 'fresh', b: 'fresh', c: 'fresh', d: 'fresh' });
  });

  test('a param change reruns exactly the downstream stages', async () => {
    const r = await run('--set', 'n=3');
    assert.deepEqual(r.ran, ['a', 'b']);
    assert.deepEqual(r.status, { a: 'ran', b: 'ran', c: 'fresh', d: 'fresh' });
    assert.equal(r.doc.stages[0].metrics.value, 30);
  });

  test('returning to an old param value restores without running', async () => {
    const r = await run();
    assert.deepEqual(r.ran, []);
    assert.deepEqual(r.status, { a: 'restored', b: 'restored', c: 'fresh', d: 'fresh' });
    const lock = parse(rig.read('pipe.lock'));
    assert.equal(lock.stages.a.params.x, 2);
    assert.equal(lock.stages.a.metrics.value, 20);
  });

  test('a file dep edit reruns its dependents only, and status says why', async () => {
    rig.write({ 'data/in.txt': 'changed\n' });
    const st = await rig.json('status');
    const why = Object.fromEntries(st.doc.stages.map((s: any) => [s.stage, [s.state, s.why.join('; ')]]));
    assert.deepEqual(why.c, ['stale', 'deps changed: data/in.txt']);
    assert.deepEqual(why.d, ['stale', 'needs "c", which will run']);
    assert.deepEqual(why.a, ['fresh', '']);
    const r = await run();
    assert.deepEqual(r.ran, ['c', 'd']);
    assert.equal(rig.read('out/d.txt'), 'changed\nchanged\n');
  });

  test('--dry-run runs nothing and writes no lock', async () => {
    const lockBefore = rig.read('pipe.lock');
    const r = await rig.json('run', '--dry-run', '--set', 'n=4');
    assert.equal(r.code, 0);
    assert.deepEqual(r.doc.stages.map((s: any) => [s.stage, s.action]), [['a', 'run'], ['b', 'blocked'], ['c', 'fresh'], ['d', 'fresh']]);
    assert.equal(rig.read('pipe.lock'), lockBefore);
    assert.deepEqual(rig.lines('runs.log').slice(-2), ['c', 'd']);
  });

  test('a code change of one stage reruns it and its downstream only', async () => {
    rig.write({ 'mods/lib.mjs': 'export const scale = 11;\n' });
    let r = await run();
    assert.deepEqual(r.ran, ['a', 'b']);
    assert.match(r.doc.stages[0].why.join(), /code changed/);
    rig.write({ 'mods/b.mjs': MODS['mods/b.mjs'].replace('2 *', '3 *') });
    r = await run();
    assert.deepEqual(r.ran, ['b']);
    assert.deepEqual(r.status, { a: 'fresh', b: 'ran', c: 'fresh', d: 'fresh' });
  });

  test('a deleted cache object is detected and the stage reruns', async () => {
    const lock = parse(rig.read('pipe.lock'));
    const digest: string = lock.stages.c.outputs['out/c.txt'].digest;
    const hex = digest.slice('sha256:'.length);
    rmSync(join(rig.dir, '.pipe', 'cache', 'objects', hex.slice(0, 2), hex.slice(2)), { force: true });
    const st = await rig.json('status');
    assert.match(st.doc.stages.find((s: any) => s.stage === 'c').why.join(), /missing from the cache/);
    const r = await run();
    assert.deepEqual(r.ran, ['c']); // same bytes again, so d's key is unchanged
    assert.equal(r.status.d, 'fresh');
  });

  test('a deleted workspace output is restored from the cache', async () => {
    rmSync(join(rig.dir, 'out', 'd.txt'));
    const r = await run();
    assert.deepEqual(r.ran, []);
    assert.equal(r.status.d, 'restored');
    assert.equal(rig.read('out/d.txt'), 'changed\nchanged\n');
  });

  test('--force reruns the stage and its downstream', async () => {
    const r = await run('c', '--force');
    assert.deepEqual(r.ran, ['c', 'd']);
    assert.deepEqual(Object.keys(r.status).sort(), ['c', 'd']);
  });
});
