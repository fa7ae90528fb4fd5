/**
 * How parse time grows with the number of params: parseConfig (the function
 * every command calls first) on a pipeline with N global params.
 *
 *   node dist/bench/parse-params.js [N...]     (default: 10000 20000 40000)
 *
 * Prints CPU time per size (best of 3, each a text parsed for the first time:
 * parseConfig keeps the last text's checked document) and the ratio to the smallest size: a
 * linear parser doubles when N doubles; a quadratic one quadruples.
 */
import { parseConfig } from '../engine/config.js';

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const ns = sizes.length ? sizes : [10_000, 20_000, 40_000];
let base: number | undefined;
for (const n of ns) {
  const lines = ['params:'];
  for (let i = 0; i < n; i++) lines.push(`  p${i}: ${i}`);
  lines.push('stages:', '  a:', '    cmd: echo ${p1}', '');
  const text = lines.join('\n');
  let best = Infinity;
  for (let k = 0; k < 3; k++) {
    // A text of its own each time: parseConfig reuses the checked document of the text it parsed last.
    const own = `${text}# ${n} ${k}\n`;
    const c0 = process.cpuUsage();
    const r = parseConfig('pipeline.yaml', own);
    const c = process.cpuUsage(c0);
    if (!r.ok) throw new Error(`bench pipeline does not parse: ${r.error[0]?.message}`);
    best = Math.min(best, (c.user + c.system) / 1000);
  }
  base ??= best / n;
  console.log(`${n} params (${(text.length / 1e6).toFixed(2)} MB): ${best.toFixed(0)} ms CPU, ${(best / n / base).toFixed(2)}x the per-param cost at ${ns[0]}`);
}
