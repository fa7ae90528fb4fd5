/**
 * The report's render memo (stages/report/memo.ts, .pipe/render/): charts and
 * tiles drawn before are reused by digest, the page's bytes are the same with
 * a cold and a warm memo, a changed input draws anew, a corrupt entry is
 * drawn again (never trusted), each render prunes what it no longer uses, a
 * page whose charts and tiles are all there loads neither vega nor sharp, and
 * `pipe gc` clears the memo.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ChartThread } from '../stages/report/chart-thread.js';
import { memoSvg, renderSvg } from '../stages/report/charts.js';
import { memoTile, renderTile, tileSize } from '../stages/report/images.js';
import { memoKey, RenderMemo } from '../stages/report/memo.js';
import { repoRoot } from './util/paths.js';
import { Rig } from './util/rig.js';

const objectsOf = (dir: string): string[] => (existsSync(join(dir, 'objects')) ? readdirSync(join(dir, 'objects')).sort() : []);

/** Flips one byte of an entry's payload (after its digest line). */
function corrupt(path: string): void {
  const b = readFileSync(path);
  const i = b.length - 2;
  b[i] = b[i]! ^ 0x20;
  writeFileSync(path, b);
}

describe('the render memo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pipe-memo-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('keys are length-prefixed: different parts, different keys', () => {
    assert.notEqual(memoKey(['ab', 'c']), memoKey(['a', 'bc']));
    assert.notEqual(memoKey(['a']), memoKey([Buffer.from('a'), '']));
    assert.equal(memoKey(['a', Buffer.from([1, 2])]), memoKey(['a', new Uint8Array([1, 2])]));
  });

  test('a second get is a hit with the same bytes; a corrupt or truncated entry is rendered again and replaced', async () => {
    const memo = new RenderMemo(join(dir, 'a'), 'u');
    let calls = 0;
    const render = async (): Promise<Buffer> => Buffer.from(`payload ${++calls}`);
    const key = memoKey(['x']);
    assert.equal((await memo.get(key, 'jpg', render)).toString(), 'payload 1');
    assert.equal((await memo.get(key, 'jpg', render)).toString(), 'payload 1');
    assert.deepEqual(memo.stats, { hits: 1, misses: 1, corrupt: 0 });
    const path = join(dir, 'a', 'objects', `${key}.jpg`);
    corrupt(path);
    assert.equal((await memo.get(key, 'jpg', render)).toString(), 'payload 2', 'the corrupt entry is not returned');
    assert.deepEqual(memo.stats, { hits: 1, misses: 2, corrupt: 1 });
    assert.equal((await memo.get(key, 'jpg', render)).toString(), 'payload 2', 'the replaced entry is read back');
    writeFileSync(path, readFileSync(path).subarray(0, 70));
    assert.equal((await memo.get(key, 'jpg', render)).toString(), 'payload 3');
    writeFileSync(path, 'not an entry');
    assert.equal((await memo.get(key, 'jpg', render)).toString(), 'payload 4');
    assert.deepEqual(memo.stats, { hits: 2, misses: 4, corrupt: 3 });
  });

  test('finish keeps what the latest render of each user used and removes the rest', async () => {
    const d = join(dir, 'b');
    const put = async (memo: RenderMemo, ...names: string[]): Promise<void> => {
      for (const n of names) await memo.get(memoKey([n]), 'svg', async () => Buffer.from(n));
      await memo.finish();
    };
    await put(new RenderMemo(d, 'stage-report'), 'k1', 'k2');
    await put(new RenderMemo(d, 'pipe-report'), 'k2', 'k3');
    assert.equal(objectsOf(d).length, 3);
    await put(new RenderMemo(d, 'stage-report'), 'k1');
    assert.deepEqual(objectsOf(d), [memoKey(['k1']), memoKey(['k2']), memoKey(['k3'])].map((k) => `${k}.svg`).sort(), 'k2 is still the other user\'s');
    await put(new RenderMemo(d, 'pipe-report'), 'k4');
    assert.deepEqual(objectsOf(d), [memoKey(['k1']), memoKey(['k4'])].map((k) => `${k}.svg`).sort());
  });

  test('a chart through the memo is the chart without it; a changed spec is another chart', async () => {
    const memo = new RenderMemo(join(dir, 'c'), 'u');
    const spec = (y: number): Record<string, unknown> => ({ mark: 'bar', data: { values: [{ x: 'a', y }, { x: 'b', y: 2 }] }, encoding: { x: { field: 'x', type: 'nominal' }, y: { field: 'y', type: 'quantitative' } } });
    const plain = await renderSvg(spec(1));
    assert.equal(await memoSvg(memo, spec(1)), plain);
    assert.equal(await memoSvg(memo, spec(1)), plain);
    const other = await memoSvg(memo, spec(3));
    assert.notEqual(other, plain);
    assert.equal(other, await renderSvg(spec(3)));
    assert.deepEqual(memo.stats, { hits: 1, misses: 2, corrupt: 0 });
  });

  test('a chart drawn on the chart thread is the chart drawn here; a spec vega-lite rejects rejects there too', async () => {
    const thread = new ChartThread();
    try {
      const spec = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', mark: 'point', data: { values: [{ a: 1, b: 2 }] }, encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' } } };
      const { renderSvg: here } = await import('../engine/charts.js');
      assert.equal(await thread.render(spec), await here(spec));
      await assert.rejects(thread.render({ mark: 'no-such-mark', data: { values: [] } }), (e: Error) => e.message.length > 0);
      assert.match(await thread.render(spec), /^<svg/, 'the thread still draws after a rejected spec');
    } finally {
      await thread.close();
    }
  });

  test('a tile through the memo is the tile without it; other outlines are another tile', async () => {
    const memo = new RenderMemo(join(dir, 'd'), 'u');
    const s = tileSize(8, 10, 42, 58, 40);
    const grey = new Uint8Array(80).map((_, i) => (i * 37) % 256);
    const truth = [{ runs: [{ start: 900, length: 20 }, { start: 942, length: 20 }], colour: [86, 180, 233] as const }];
    const plain = await renderTile(grey, s, truth);
    assert.deepEqual(await memoTile(memo, grey, s, truth), plain);
    assert.deepEqual(await memoTile(memo, grey, s, truth), plain);
    const moved = [{ runs: [{ start: 1200, length: 20 }], colour: [86, 180, 233] as const }];
    assert.notDeepEqual(await memoTile(memo, grey, s, moved), plain);
    assert.deepEqual(memo.stats, { hits: 1, misses: 2, corrupt: 0 });
  });
});

// A pipeline without training (data charts and training tiles only): the report stage and `pipe report` run in seconds.
const PIPELINE = `params:
  seed: 3
  data: data/synth
stages:
  synth:
    uses: synth
    params: {out: \${data}, subjects: 4, images_per_subject: 6, test_images: 2, seed: \${seed}}
  ingest:
    uses: ingest
    needs: [synth]
    params: {data: \${data}, height: 32, width: 40}
  split:
    uses: split
    needs: [ingest]
    params: {val_fraction: 0.25, seed: \${seed}}
  report:
    uses: report
    needs: [ingest, split]
    params: {samples: 4, worst: 4}
`;

/** Records every module a process and its children require or import (CommonJS included, as vega is required). */
const TRACE = `const Module = require('node:module');
const { appendFileSync } = require('node:fs');
const load = Module._load;
Module._load = function (request) {
  if (process.env.PIPE_TRACE_LOADS) appendFileSync(process.env.PIPE_TRACE_LOADS, request + '\\n');
  return load.apply(this, arguments);
};
`;

describe('the report stage and pipe report with the memo', () => {
  const rig = new Rig({ 'pipeline.yaml': PIPELINE, 'trace-loads.cjs': TRACE });
  const memoDir = join(rig.dir, '.pipe', 'render');
  after(() => rig.cleanup());

  /** `pipe ARGS` with loads traced: its output and the vega and sharp modules it (or its stages) loaded. */
  function pipe(...args: string[]): { out: string; heavy: string[] } {
    const trace = join(rig.dir, 'loads.txt');
    rmSync(trace, { force: true });
    const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'pipe.js'), ...args], {
      cwd: rig.dir, encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', PIPE_TRACE_LOADS: trace, NODE_OPTIONS: `--require ${join(rig.dir, 'trace-loads.cjs')}` },
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const loads = existsSync(trace) ? readFileSync(trace, 'utf8').split('\n') : [];
    return { out: r.stdout + r.stderr, heavy: [...new Set(loads.filter((l) => /(^|\/)(vega|vega-lite|sharp)(\/|$)/.test(l)))] };
  }
  const page = (): string => rig.read('report.html');
  /** The CLI page without its one clock-dependent phrase. */
  const cliPage = (): string => rig.read('report/index.html').replace(/ · built [\d: -]+ UTC/, '');
  let cold = '';

  before(() => {
    const r = pipe('run');
    assert.match(r.out, /report\.html: 2 charts, 4 images \(drawn 6, 0 from \.pipe\/render\)/);
    assert.ok(r.heavy.includes('vega') && r.heavy.some((l) => l.includes('sharp')), 'a cold memo draws with vega and sharp');
    cold = page();
  });

  test('a warm memo gives the same bytes and loads neither vega nor sharp', () => {
    assert.ok(objectsOf(memoDir).length > 0 && objectsOf(memoDir).length <= 6);
    const r = pipe('run', 'report', '--force');
    assert.match(r.out, /\(drawn 0, 6 from \.pipe\/render\)/);
    assert.deepEqual(r.heavy, []);
    assert.equal(page(), cold);
  });

  test('a corrupt entry is drawn again and replaced; the page is the same', () => {
    const [victim] = objectsOf(memoDir).filter((f) => f.endsWith('.svg'));
    assert.ok(victim);
    const good = readFileSync(join(memoDir, 'objects', victim));
    corrupt(join(memoDir, 'objects', victim));
    const r = pipe('run', 'report', '--force');
    assert.match(r.out, /\(drawn 1, 5 from \.pipe\/render\)/);
    assert.equal(page(), cold);
    assert.deepEqual(readFileSync(join(memoDir, 'objects', victim)), good, 'the entry is rewritten');
  });

  test('with no memo at all the page is the same bytes', () => {
    rmSync(memoDir, { recursive: true, force: true });
    assert.match(pipe('run', 'report', '--force').out, /\(drawn 6, 0 from \.pipe\/render\)/);
    assert.equal(page(), cold);
  });

  test('a changed input draws the chart it changes; the stage\'s old entries are pruned', () => {
    const before = objectsOf(memoDir);
    const r = pipe('run', '--set', 'split.val_fraction=0.5');
    const m = /\(drawn (\d+), (\d+) from \.pipe\/render\)/.exec(r.out);
    assert.ok(m && Number(m[1]) >= 1, r.out);
    const svgs = (html: string): string[] => html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    assert.notDeepEqual(svgs(page())[0], svgs(cold)[0], 'the per-subject chart shows the new split');
    const used = JSON.parse(readFileSync(join(memoDir, 'used', 'stage-report.json'), 'utf8')) as string[];
    assert.deepEqual(objectsOf(memoDir), [...new Set(used)].sort(), 'only what the latest render used is kept');
    assert.ok(before.some((f) => !used.includes(f)), 'an entry of the old page was removed');
  });

  test('pipe report: a warm memo gives the same page without vega or sharp, and keeps the stage\'s entries', () => {
    pipe('run');
    const stageUsed = readFileSync(join(memoDir, 'used', 'stage-report.json'), 'utf8');
    assert.match(pipe('report').out, /wrote report\/index\.html: 2 charts, 4 images \(drawn \d+, \d+ from \.pipe\/render\)/);
    const first = cliPage();
    const r = pipe('report');
    assert.match(r.out, /\(drawn 0, 6 from \.pipe\/render\)/);
    assert.deepEqual(r.heavy, []);
    assert.equal(cliPage(), first);
    const stage = JSON.parse(stageUsed) as string[];
    assert.ok(stage.every((f) => objectsOf(memoDir).includes(f)), 'pipe report prunes none of the stage\'s entries');
  });

  test('pipe gc clears the memo', () => {
    assert.ok(existsSync(memoDir));
    pipe('gc');
    assert.equal(existsSync(memoDir), false);
  });
});
