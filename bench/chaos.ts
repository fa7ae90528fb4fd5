/**
 * The chaos bench (run by hand; long): random SIGKILL/SIGHUP/SIGINT of
 * `pipe run` at random moments, each followed by a run with another param,
 * then the checks of test/util/chaos.ts. Prints every kill, every defect and
 * the count of each check.
 *
 *   node dist/bench/chaos.js [--kills 200] [--ml-kills 20] [--seed 1] [--ml-window MS]
 *
 * Kills go to the command-stage pipeline (many-file outs, slow stages) and,
 * `--ml-kills` of them, to the tiny nerve pipeline (slow: training runs).
 * `--ml-window` bounds its kill moments (default 25 s, a run that trains;
 * a shorter one kills more runs that only restore from the cache).
 */
import { parseArgs } from 'node:util';
import { Chaos, formatReport, type ChaosReport } from '../test/util/chaos.js';
import { COMMAND_PIPELINE, ML_PIPELINE } from '../test/util/chaos-pipelines.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '200' },
    'ml-kills': { type: 'string', default: '20' },
    seed: { type: 'string', default: '1' },
    'ml-window': { type: 'string', default: String(ML_PIPELINE.killWindowMs) },
  },
});
const seed = Number(values.seed);
const mlKills = Number(values['ml-kills']);
const cmdKills = Math.max(0, Number(values.kills) - mlKills);
const log = (line: string): void => void process.stdout.write(`${line}\n`);
const t0 = performance.now();
const reports: [string, ChaosReport][] = [];
const ml = { ...ML_PIPELINE, killWindowMs: Number(values['ml-window']) };
for (const [pipeline, kills] of [[COMMAND_PIPELINE, cmdKills], [ml, mlKills]] as const) {
  if (kills === 0) continue;
  log(`== ${pipeline.name}: ${kills} kills (seed ${seed})`);
  reports.push([pipeline.name, await new Chaos(pipeline, seed, log).run(kills)]);
}
log(`\n== chaos: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
for (const [name, r] of reports) log(`${name}: ${formatReport(r)}`);
const defects = reports.reduce((s, [, r]) => s + r.defects.length, 0);
log(`total: ${reports.reduce((s, [, r]) => s + r.kills, 0)} kills, ${defects} defects`);
process.exitCode = defects === 0 ? 0 : 1;
