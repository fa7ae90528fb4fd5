import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorKind, rocCurve, worstCases, type ValImage } from '../stages/report/analyse.js';
import { edges, sampleRuns, tileSize } from '../stages/report/images.js';
import { esc, metricNum } from '../stages/report/html.js';
import { renderSvg } from '../stages/report/charts.js';
import { rocSpec } from '../stages/report/specs.js';

describe('report numbers', () => {
  test('ROC: one point per distinct score, from (0,0) to (1,1), and the trapezoid AUC', () => {
    const { roc, auc } = rocCurve([0.9, 0.8, 0.8, 0.3], [true, true, false, false]);
    assert.deepEqual(roc.map((p) => [p.fpr, p.tpr]), [[0, 0], [0, 0.5], [0.5, 1], [1, 1]]);
    assert.equal(auc, 0.875);
    assert.equal(rocCurve([0.2, 0.9], [false, true]).auc, 1);
    assert.equal(rocCurve([0.9, 0.2], [false, true]).auc, 0);
  });

  const img = (id: string, truth: number, gated: number, dice: number): ValImage => ({
    id, index: 0, k: 0, cls: 0.5, dice, diceUnet: dice, unet: [],
    truth: truth ? [{ start: 0, length: truth }] : [], gated: gated ? [{ start: 0, length: gated }] : [],
  });

  test('worst cases: lowest Dice first, ties by wrong pixels; perfect images are not cases', () => {
    const images = [img('a', 0, 0, 1), img('b', 0, 50, 0), img('c', 200, 0, 0), img('d', 100, 80, 0.4), img('e', 100, 100, 0.9)];
    assert.deepEqual(worstCases(images, 3).map((v) => v.id), ['c', 'b', 'd']);
    assert.deepEqual(worstCases(images, 9).map((v) => v.id), ['c', 'b', 'd', 'e']);
    assert.deepEqual(images.map(errorKind), ['good', 'false positive', 'missed nerve', 'poor overlap', 'good']);
  });
});

describe('report drawing', () => {
  test('runs at the original size are sampled to the tile, and an outline is the edge on both sides', () => {
    const s = tileSize(2, 2, 4, 4, 2); // 4x4 original shown as 2x2
    // Column-major runs: columns 2 and 3 fully set (pixels 8..15).
    assert.deepEqual([...sampleRuns([{ start: 8, length: 8 }], s)], [0, 1, 0, 1]);
    const mask = Uint8Array.from([0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]); // 3x4
    assert.deepEqual([...edges(mask, 3, 4)], [0, 1, 1, 0, 1, 1, 1, 1, 0, 1, 1, 0]);
  });

  test('numbers from the lock carry their kind, metric and exact value; text is escaped', () => {
    assert.equal(metricNum('gate', 'val_dice', 0.56341), '<span class="num" data-kind="gate" data-metric="val_dice" data-value="0.56341">0.563</span>');
    assert.equal(esc('<a href="x">&\'</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;');
  });

  test('a Vega-Lite spec renders headlessly to an SVG with marks', async () => {
    const svg = await renderSvg(rocSpec([{ threshold: 1, fpr: 0, tpr: 0 }, { threshold: 0.5, fpr: 0.5, tpr: 1 }], { threshold: 0.5, fpr: 0.5, tpr: 1 }, 0.75));
    assert.match(svg, /^<svg[^>]*class="marks"/);
    assert.match(svg, /Classifier ROC \(AUC 0\.750\)/);
    assert.match(svg, /class="mark-line role-mark/);
    assert.match(svg, /class="mark-symbol role-mark/);
  });
});
