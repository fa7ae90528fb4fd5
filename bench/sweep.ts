/**
 * Benchmark: the cost of sweeping the gate, the workflow pipe is built for.
 * In a project folder (--dir; default: a temp folder with a copy of the
 * repository's pipeline.yaml), after one full run (done here if the folder
 * has no lock yet, which takes minutes), it times:
 *
 *   1. one new gate value with `pipe run --set gate.threshold=V` (a fresh CLI, the
 *      usual way: every stage it makes stale runs, report and score included), and
 *      with `pipe run submit --set ...` (gate and submit only);
 *   2. the same as a one-point `pipe sweep`;
 *   3. a 100-point gate sweep, `gate.min_pixels=OFF:475+OFF:25 x gate.threshold=0.3..0.7`
 *      (OFF = --offset, default 0: use a new offset to measure new keys again),
 *
 * and prints the per-point cost and where it goes (planning, the stage's
 * process, storing outputs; set-up; table and charts), against the full
 * run's wall time, with the machine's load.
 *
 *   node dist/bench/sweep.js [--dir DIR] [--offset N] [-j N] [--full-s SECONDS]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { repoRoot } from '../test/util/paths.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/tmp/pipe-bench-sweep' },
    offset: { type: 'string', default: '0' },
    jobs: { type: 'string', short: 'j', default: '2' },
    'full-s': { type: 'string' },
  },
});
const dir = values.dir;
const off = Number(values.offset);
mkdirSync(dir, { recursive: true });
if (!existsSync(join(dir, 'pipeline.yaml'))) copyFileSync(join(repoRoot, 'pipeline.yaml'), join(dir, 'pipeline.yaml'));
const pipe = join(repoRoot, 'bin', 'pipe.js');
const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');

/**
 * Runs `pipe ARGS --json`; `cpu` is the CPU time (user + system) of pipe and
 * every process it waited for, from GNU time: on a machine shared with other
 * work it says what the command costs where wall time says how long it waited.
 */
function cli(args: string[]): { ms: number; cpu: string; doc: any } {
  const t0 = performance.now();
  const timed = existsSync('/usr/bin/time');
  const argv = [process.execPath, pipe, ...args, '--json'];
  const r = timed
    ? spawnSync('/usr/bin/time', ['-f', 'PIPE-BENCH-CPU %U %S', ...argv], { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28 })
    : spawnSync(argv[0] as string, argv.slice(1), { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`pipe ${args.join(' ')} exited ${r.status}:\n${r.stderr.slice(-2000)}`);
  const m = /PIPE-BENCH-CPU ([\d.]+) ([\d.]+)/.exec(r.stderr);
  const cpu = m ? `${(Number(m[1]) + Number(m[2])).toFixed(2)} s CPU` : 'CPU time unknown';
  return { ms, cpu, doc: JSON.parse(r.stdout) };
}

/**
 * Wall time of the run that made the lock: first start to last finish over its
 * entries (gate and submit are left out: this bench re-runs them later; or pass
 * --full-s with the time of the full run).
 */
function fullRunMs(): number {
  const lock = parse(readFileSync(join(dir, 'pipe.lock'), 'utf8')) as { stages: Record<string, { duration_ms: number; finished_at: string }> };
  const entries = Object.entries(lock.stages).filter(([n]) => n !== 'gate' && n !== 'submit').map(([, e]) => e);
  const ends = entries.map((e) => Date.parse(e.finished_at));
  const starts = entries.map((e) => Date.parse(e.finished_at) - e.duration_ms);
  return Math.max(...ends) - Math.min(...starts);
}

const out = (s: string): void => void process.stdout.write(s + '\n');
out(`load average at start: ${load()} (${dir})`);
if (!existsSync(join(dir, 'pipe.lock'))) {
  const first = cli(['run']);
  out(`full run: ${(first.ms / 1000).toFixed(1)} s`);
}
const full = values['full-s'] !== undefined ? Number(values['full-s']) * 1000 : fullRunMs();
out(`full run (${values['full-s'] !== undefined ? '--full-s' : 'from pipe.lock'}): ${(full / 1000).toFixed(1)} s`);

// 1. One new gate value, the usual way: a threshold no earlier bench used (most likely).
const v = Number((0.2 + ((Date.now() + off * 7919) % 40000) / 100000).toFixed(5));
const near = (d: number): number => Number((v + d).toFixed(5));
const acted = (doc: any): string => doc.stages.filter((s: any) => s.status !== 'fresh').map((s: any) => `${s.stage} ${s.status} ${s.duration_ms} ms`).join(', ');
const one = cli(['run', '--set', `gate.threshold=${v}`]);
out(`one new gate value, pipe run --set gate.threshold=${v}: ${one.ms.toFixed(0)} ms wall, ${one.cpu} (${acted(one.doc)})`);
const gateOnly = cli(['run', 'submit', '--set', `gate.threshold=${near(0.00001)}`]);
out(`one new gate value, gate and submit only, pipe run submit --set gate.threshold=${near(0.00001)}: ${gateOnly.ms.toFixed(0)} ms wall, ${gateOnly.cpu} (${acted(gateOnly.doc)})`);
const back = cli(['run']);
out(`back to pipeline.yaml (restored): ${back.ms.toFixed(0)} ms wall, ${back.cpu}`);

// 2. The same as a one-point sweep.
const single = cli(['sweep', `gate.threshold=${near(0.00002)}`]);
out(`one new gate value, pipe sweep gate.threshold=${near(0.00002)}: ${single.ms.toFixed(0)} ms wall, ${single.cpu} (set-up ${single.doc.setup_ms} ms, point ${single.doc.points_ms} ms, table and charts ${single.doc.files_ms} ms)`);

// 3. The 100-point sweep.
const sweep = cli(['sweep', `gate.min_pixels=${off}:${475 + off}:25`, 'gate.threshold=0.3,0.4,0.5,0.6,0.7', '-j', values.jobs]);
const pts: any[] = sweep.doc.points;
const ran = pts.filter((p) => p.ran.length > 0);
const sum = (f: (p: any) => number): number => pts.reduce((s, p) => s + f(p), 0);
const stageAvg = (stage: string, k: string): string => {
  const xs = pts.map((p) => p.timing?.[stage]?.[k]).filter((x) => typeof x === 'number' && x > 0) as number[];
  return xs.length ? `${(xs.reduce((a, b) => a + b, 0) / xs.length).toFixed(1)} ms` : '-';
};
out(`100-point sweep: ${(sweep.ms / 1000).toFixed(2)} s wall, ${sweep.cpu} = ${(100 * sweep.ms / full).toFixed(2)} % of the full run; ${ran.length} points ran something; best ${sweep.doc.metric} ${pts[0]?.[sweep.doc.metric]}`);
out(`  per point: ${(sweep.ms / pts.length).toFixed(0)} ms of wall; points phase ${sweep.doc.points_ms} ms (${(sweep.doc.points_ms / pts.length).toFixed(1)} ms a point at -j ${values.jobs})`);
out(`  set-up (start, open, every point's graph) ${sweep.doc.setup_ms} ms; table, CSV, JSON and charts ${sweep.doc.files_ms} ms; process start and exit ${(sweep.ms - sweep.doc.duration_ms - sweep.doc.files_ms).toFixed(0)} ms`);
for (const stage of [...new Set(pts.flatMap((p) => p.ran))] as string[]) {
  out(`  ${stage}: plan ${stageAvg(stage, 'plan_ms')}, waiting for and in a warm worker ${stageAvg(stage, 'run_ms')}, storing outputs ${stageAvg(stage, 'store_ms')} (averages over the points that ran it)`);
}
out(`  busy in the warm workers (not waiting for one): ${Object.entries(sweep.doc.worker_ms).map(([k, v]) => `${k} ${((v as number) / 1000).toFixed(1)} s (${((v as number) / pts.length).toFixed(0)} ms a point)`).join(', ')}`);
// Stages that feed gate (from the lock's inputs, transitively) must never run in a gate sweep.
const lock = parse(readFileSync(join(dir, 'pipe.lock'), 'utf8')) as { stages: Record<string, { inputs?: Record<string, string> }> };
const feeds = new Set<string>();
const walk = (stage: string): void => {
  for (const k of Object.keys(lock.stages[stage]?.inputs ?? {})) {
    const up = k.split('/')[0] as string;
    if (!feeds.has(up)) { feeds.add(up); walk(up); }
  }
};
walk('gate');
const count = (names: string[]): string => [...new Set(names)].map((n) => `${n} x${names.filter((m) => m === n).length}`).join(', ') || 'none';
const others: string[] = pts.flatMap((p) => p.ran).filter((s: string) => s !== 'gate' && s !== 'submit');
out(`  upstream stages (feeding gate) run by the sweep: ${count(others.filter((s) => feeds.has(s)))}; downstream stages besides submit: ${count(others.filter((s) => !feeds.has(s)))}; per-point latency sum ${(sum((p) => p.ms) / 1000).toFixed(1)} s`);
out(`load average at end: ${load()}`);
