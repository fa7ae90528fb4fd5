/**
 * Benchmark: the cost of a gate threshold sweep, the workflow pipe is built
 * for. Runs a pipeline once (default: ./pipeline.yaml in --dir, which must be
 * a project folder; by default a copy of the repository's pipeline.yaml in a
 * temp folder), then re-runs it with each value of a gate param and prints the
 * wall time of each re-run, which stages ran, and the validation Dice.
 *
 *   node dist/bench/sweep.js [--dir DIR] [--param gate.min_pixels] [--values 50,100,200,400,100]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../test/util/paths.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/tmp/pipe-bench-sweep' },
    param: { type: 'string', default: 'gate.min_pixels' },
    values: { type: 'string', default: '50,100,200,400,100' },
  },
});
const dir = values.dir;
mkdirSync(dir, { recursive: true });
if (!existsSync(join(dir, 'pipeline.yaml'))) copyFileSync(join(repoRoot, 'pipeline.yaml'), join(dir, 'pipeline.yaml'));
const pipe = join(repoRoot, 'bin', 'pipe.js');

function run(args: string[]): { ms: number; doc: { stages: { stage: string; status: string; metrics?: Record<string, number> }[] } } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [pipe, 'run', '--json', ...args], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 26 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`pipe run ${args.join(' ')} exited ${r.status}:\n${r.stderr.slice(-2000)}`);
  return { ms, doc: JSON.parse(r.stdout) };
}

const first = run([]);
process.stdout.write(`initial run: ${(first.ms / 1000).toFixed(1)} s (${first.doc.stages.filter((s) => s.status === 'ran').length} stages ran)\n`);
for (const v of values.values.split(',')) {
  const r = run(['--set', `${values.param}=${v}`]);
  const acted = r.doc.stages.filter((s) => s.status !== 'fresh').map((s) => `${s.stage}:${s.status}`).join(' ') || 'nothing';
  const dice = r.doc.stages.find((s) => s.stage === 'gate')?.metrics?.['val_dice'];
  process.stdout.write(`${values.param}=${v.padEnd(6)} ${r.ms.toFixed(0).padStart(6)} ms  val_dice ${dice === undefined ? '-' : dice.toFixed(4)}  (${acted})\n`);
}
