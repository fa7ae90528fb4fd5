import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineSpec, renderChart } from '../engine/charts.js';

test('a Vega-Lite line spec renders to an SVG with its axis titles and to a PNG', async () => {
  const spec = lineSpec('val_dice by gate.min_pixels', 'gate.min_pixels', 'val_dice', [
    { x: 0, y: 0.41, series: 'threshold 0.3' }, { x: 100, y: 0.55, series: 'threshold 0.3' },
    { x: 0, y: 0.44, series: 'threshold 0.5' }, { x: 100, y: 0.52, series: 'threshold 0.5' },
  ]);
  const chart = await renderChart(spec);
  assert.match(chart.svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(chart.svg, />gate\.min_pixels</);
  assert.match(chart.svg, />threshold 0\.5</);
  // PNG signature, and a non-trivial image (more than a blank page).
  assert.deepEqual([...chart.png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.ok(chart.png.length > 2000, `png of ${chart.png.length} bytes`);
});

test('a spec Vega-Lite cannot compile is rejected', async () => {
  await assert.rejects(renderChart({ mark: 'no-such-mark', data: { values: [] } }));
});
