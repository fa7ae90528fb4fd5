/**
 * Benchmark: Kaggle RLE encoding speed, the cost submit pays for a full test
 * set (5508 masks of 420x580). Prints ms per mask and the total.
 *
 *   node dist/bench/rle-encode.js
 */
import { readFileSync } from 'node:fs';
import { decodeRle, encodeRle } from '../stages/lib/rle.js';
import { kaggleFile } from '../test/util/paths.js';

const H = 420;
const W = 580;
const rows = readFileSync(kaggleFile('train_masks.csv'), 'utf8').split('\n').slice(1).filter(Boolean);
const masks = rows.slice(0, 5508).map((r) => decodeRle(r.split(',')[2] ?? '', H, W));
const t0 = performance.now();
let chars = 0;
for (const m of masks) chars += encodeRle(m, H, W).length;
const ms = performance.now() - t0;
process.stdout.write(`encoded ${masks.length} masks (${chars} chars of RLE) in ${ms.toFixed(0)} ms: ${(ms / masks.length).toFixed(3)} ms/mask\n`);
