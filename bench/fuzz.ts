/**
 * The long fuzz run over pipeline.yaml and pipe.lock (test/util/fuzz.ts has
 * the rules; test/fuzz.test.ts runs a short version in `npm test`).
 *
 *   node dist/bench/fuzz.js [--cases N] [--seed S] [--cli-every K] [--parallel P]
 *   node dist/bench/fuzz.js --replay CASE_SEED     # one case: its files, argv and output
 *
 * Prints cases/s, exit codes, the largest CPU time of a case, the defects
 * found and the case seeds that reproduce them. Exits 1 if there are defects.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fuzz, runInProcess, templateLock } from '../test/util/fuzz.js';
import { CASE_CHECK_MS } from '../test/util/fuzz-watch.js';
import { makeCase, writeCase } from '../test/util/fuzz-case.js';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '10000' },
    seed: { type: 'string', default: '1' },
    'cli-every': { type: 'string', default: '500' },
    parallel: { type: 'string', default: '4' },
    replay: { type: 'string' },
  },
});

if (values.replay !== undefined) {
  const c = makeCase(Number(values.replay), await templateLock());
  const dir = mkdtempSync(join(tmpdir(), 'pipe-fuzz-replay-'));
  writeCase(c, dir);
  console.log(`case ${c.seed}: template ${c.template}, mutations ${c.mutations.join(' ')}`);
  console.log(`argv: pipe ${c.argv.map((a) => JSON.stringify(a)).join(' ')}`);
  console.log(`--- pipeline.yaml (first 2000 bytes)\n${String(c.pipeline).slice(0, 2000)}`);
  if (c.lock !== undefined) console.log(`--- pipe.lock (first 2000 bytes)\n${String(c.lock).slice(0, 2000)}`);
  const o = await runInProcess(c, dir);
  const stopped = o.stopped ? `, interrupted by the harness after ${o.stopped.afterMs} ms${o.stopped.stagePrinting ? ' (a stage printing without end)' : ''}` : '';
  console.log(`--- exit ${String(o.code)}, ${Math.round(o.cpuMs)} ms CPU${stopped}\n${o.stdout}${o.stderr}${o.threw ?? ''}`);
  console.log(`(files kept in ${dir})`);
} else {
  const cases = Number(values.cases);
  const seed = Number(values.seed);
  const report = await fuzz({
    cases, seed, cliEvery: Number(values['cli-every']), parallel: Number(values.parallel),
    onCase: (i, d) => {
      if (d) console.log(`DEFECT case ${d.seed} (${d.via}; ${d.mutations.join(' ')}; pipe ${d.argv.join(' ')}): ${d.problems.join('; ')}`);
      if ((i + 1) % 1000 === 0) console.error(`${i + 1} cases...`);
    },
  });
  const s = report.wallMs / 1000;
  console.log(`fuzz: ${report.cases} cases (${report.cliCases} through the real CLI) from seed ${seed} in ${s.toFixed(1)} s: ${(report.cases / s).toFixed(1)} cases/s`);
  console.log(`exit codes: ${Object.entries(report.exits).map(([k, v]) => `${k}: ${v}`).join(', ')}; longest case ${Math.round(report.maxWallMs)} ms wall ` +
    `(${values.parallel} side by side); ${report.rechecked} cases over 5 s wall re-run alone: largest CPU time ${Math.round(report.maxRecheckCpuMs)} ms; ` +
    `${report.stopped} interrupted by the harness (a stage printing without end after ${CASE_CHECK_MS / 1000} s: must exit 130)`);
  console.log(`defects: ${report.defects.length}${report.defects.length ? ` (replay: node dist/bench/fuzz.js --replay SEED; seeds: ${report.defects.map((d) => d.seed).join(' ')})` : ''}`);
  process.exitCode = report.defects.length ? 1 : 0;
}
