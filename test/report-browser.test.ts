import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext } from 'playwright-core';
import { parse } from 'yaml';
import { metricDigits } from '../stages/report/html.js';
import { repoRoot } from './util/paths.js';
import { Rig, statuses } from './util/rig.js';
import { tinyNervePipeline } from './util/tiny-nerve.js';

// The tiny pipeline of e2e-pipeline.test.ts, ending with the report stage.
const PIPELINE = tinyNervePipeline({ tail: ['report'] });

/** The flags the issue asks for: no network, no first-run work, a fresh profile. */
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

/** What the page showed: problems while loading, and what it holds. */
interface Seen {
  readonly errors: string[];
  readonly failed: string[];
  readonly images: { alt: string; width: number }[];
  readonly charts: { title: string; marks: number }[];
  readonly numbers: { kind: string; metric: string; value: number; text: string }[];
  readonly sections: string[];
}

async function look(ctx: BrowserContext, file: string, shot: string): Promise<Seen> {
  const page = await ctx.newPage();
  const errors: string[] = [];
  const failed: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('requestfailed', (r) => failed.push(`${r.url().slice(0, 80)}: ${r.failure()?.errorText ?? ''}`));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  const seen = await page.evaluate(async () => {
    const imgs = [...document.querySelectorAll('img')];
    await Promise.all(imgs.map((i) => i.decode().catch(() => undefined)));
    return {
      images: imgs.map((i) => ({ alt: i.alt, width: i.naturalWidth })),
      charts: [...document.querySelectorAll('figure.chart svg')].map((svg) => ({
        title: svg.querySelector('.role-title text')?.textContent ?? '',
        // Drawn marks: a mark's path with geometry, or a mark's text.
        marks: svg.querySelectorAll('.role-mark path[d]:not([d=""]), .role-mark text').length,
      })),
      numbers: [...document.querySelectorAll<HTMLElement>('[data-kind][data-metric]')].map((e) => ({
        kind: e.dataset.kind ?? '', metric: e.dataset.metric ?? '', value: Number(e.dataset.value), text: e.textContent ?? '',
      })),
      sections: [...document.querySelectorAll('section h2')].map((h) => h.textContent ?? ''),
    };
  });
  await page.screenshot({ path: shot, fullPage: true });
  await page.close();
  return { errors, failed, ...seen };
}

describe('the report page in a real browser (headless chromium)', () => {
  const rig = new Rig({ 'pipeline.yaml': PIPELINE });
  const profile = mkdtempSync(join(tmpdir(), 'pipe-chromium-'));
  const shots = join(repoRoot, 'dist', 'test-output');
  let ctx: BrowserContext;
  let lock: any;
  let cliDoc: any;

  before(async () => {
    const r = await rig.json('run');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statuses(r.doc).report, 'ran');
    lock = parse(rig.read('pipe.lock'));
    const sweep = await rig.json('sweep', 'gate.min_pixels=0,10,50');
    assert.equal(sweep.code, 0, sweep.stderr);
    const c = await rig.json('report');
    assert.equal(c.code, 0, c.stderr);
    cliDoc = c.doc;
    mkdirSync(shots, { recursive: true });
    ctx = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } });
  });
  after(async () => {
    await ctx?.close();
    rmSync(profile, { recursive: true, force: true });
    rig.cleanup();
  });

  /** Every marked number equals the lock's metric of the stage of that kind, and shows it rounded. */
  function checkNumbers(seen: Seen, least: number): void {
    assert.ok(seen.numbers.length >= least, `at least ${least} numbers from the lock, saw ${seen.numbers.length}`);
    for (const n of seen.numbers) {
      const entry = Object.values<any>(lock.stages).find((e) => e.kind === n.kind);
      assert.ok(entry, `a stage of kind ${n.kind} in the lock`);
      const want = entry.metrics[n.metric];
      assert.equal(typeof want, 'number', `${n.kind}.${n.metric} in the lock`);
      assert.ok(Math.abs(n.value - want) <= 1e-12 * Math.max(1, Math.abs(want)), `${n.kind}.${n.metric}: page ${n.value}, lock ${want}`);
      assert.equal(n.text, want.toFixed(metricDigits(n.metric, want)), `${n.kind}.${n.metric} as shown`);
    }
  }

  function checkPage(seen: Seen, what: string): void {
    assert.deepEqual(seen.errors, [], `${what}: no console error`);
    assert.deepEqual(seen.failed, [], `${what}: no failed request`);
    assert.ok(seen.images.length > 0, `${what}: has images`);
    for (const i of seen.images) assert.ok(i.width > 0, `${what}: image "${i.alt}" decodes`);
    assert.ok(seen.charts.length >= 9, `${what}: at least 9 charts, saw ${seen.charts.length}`);
    for (const c of seen.charts) assert.ok(c.marks > 0, `${what}: chart "${c.title}" has drawn marks`);
  }

  test('the stage\'s report.html: loads cleanly, images decode, charts drawn, numbers equal the lock', async () => {
    const seen = await look(ctx, join(rig.dir, 'report.html'), join(shots, 'report-stage.png'));
    checkPage(seen, 'report.html');
    assert.deepEqual(seen.sections, ['Data', 'Models', 'Metrics']);
    // gate: val_dice, val_dice_unet, presence precision and recall; ingest and split counts.
    checkNumbers(seen, 8);
    assert.equal(lock.stages.report.metrics.images, seen.images.length);
    assert.equal(lock.stages.report.metrics.charts, seen.charts.length);
  });

  test('`pipe report`: the same page with the pipeline and experiments; full-page screenshot saved', async () => {
    const shot = join(shots, 'report-cli.png');
    const seen = await look(ctx, join(rig.dir, 'report', 'index.html'), shot);
    checkPage(seen, 'report/index.html');
    assert.deepEqual(seen.sections, ['Pipeline', 'Data', 'Models', 'Metrics', 'Experiments']);
    // The sweep's points are experiments, and its metric is drawn against the swept param.
    assert.ok(seen.charts.some((c) => c.title === 'gate.val_dice against gate.min_pixels'), seen.charts.map((c) => c.title).join(', '));
    checkNumbers(seen, 20); // the pipeline table shows every stage's numeric metrics too
    assert.equal(cliDoc.val_dice, lock.stages.gate.metrics.val_dice);
    assert.equal(cliDoc.val_dice_unet, lock.stages.gate.metrics.val_dice_unet);
    assert.ok(statSync(shot).size > 10_000, 'a screenshot was written');
  });

  test('the report stage is cached like any other: a second run restores nothing and runs nothing', async () => {
    const r = await rig.json('run');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(new Set(Object.values(statuses(r.doc))), new Set(['fresh']));
  });
});
