/**
 * Benchmark: the cost of a no-op `pipe run` (everything fresh) on an 8-stage
 * pipeline whose first stage depends on a folder of 11,000 files of ~250 KB,
 * with the file-hash state warm; compared in the same run with `snakemake -n`
 * and `make -q` on the same DAG. Also checks that the no-op run never loads
 * TensorFlow.js or sharp.
 *
 *   node dist/bench/noop.js [--files 11000] [--size 250000] [--runs 10] [--dir /tmp/pipe-bench-noop]
 *
 * snakemake comes from Debian (`apt-get install snakemake`); the benchmark
 * installs it when missing and reports "n/a" if that fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../test/util/paths.js';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '11000' },
    size: { type: 'string', default: '250000' },
    runs: { type: 'string', default: '10' },
    dir: { type: 'string', default: '/tmp/pipe-bench-noop' },
  },
});
const FILES = Number(values.files);
const SIZE = Number(values.size);
const RUNS = Number(values.runs);
const dir = values.dir;

// The DAG: the reference pipeline's shape, every stage a trivial command.
//   s1 -> s2 -> s3 -> s5 -> s6 -> s7 -> s8,   s3 -> s4 -> s6
const STAGES: [string, string[]][] = [
  ['s1', []], ['s2', ['s1']], ['s3', ['s2']], ['s4', ['s3']], ['s5', ['s3']], ['s6', ['s5', 's4']], ['s7', ['s6']], ['s8', ['s7']],
];

function makeData(): void {
  const data = join(dir, 'data');
  const marker = join(dir, `.made-${FILES}-${SIZE}`);
  if (existsSync(marker)) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(data, { recursive: true });
  const buf = Buffer.alloc(SIZE);
  process.stdout.write(`generating ${FILES} files of ${SIZE} bytes in ${data} ...\n`);
  for (let i = 0; i < FILES; i++) {
    randomFillSync(buf, 0, 4096); // distinct heads, cheap to make
    writeFileSync(join(data, `${1 + (i % 47)}_${i}.tif`), buf);
  }
  writeFileSync(marker, '');
}

function writeProjects(): void {
  const yaml = ['stages:'];
  const snake = ['rule all:', '    input: "out/s8.txt"', ''];
  const make = ['all: out/s8.txt', ''];
  for (const [name, needs] of STAGES) {
    const ins = needs.map((n) => `out/${n}.txt`);
    const cmd = `mkdir -p out && echo ${name} > out/${name}.txt`;
    yaml.push(`  ${name}:`, `    cmd: ${cmd}`, `    outs: [out/${name}.txt]`);
    if (needs.length) yaml.push(`    needs: [${needs.join(', ')}]`);
    if (name === 's1') yaml.push('    deps: [data]');
    const snakeIns = name === 's1' ? ['"data"'] : ins.map((i) => `"${i}"`);
    snake.push(`rule ${name}:`, `    input: ${snakeIns.join(', ')}`, `    output: "out/${name}.txt"`, `    shell: "${cmd}"`, '');
    make.push(`out/${name}.txt: ${name === 's1' ? '$(wildcard data/*)' : ins.join(' ')}`, `\t${cmd}`, '');
  }
  writeFileSync(join(dir, 'pipeline.yaml'), yaml.join('\n') + '\n');
  writeFileSync(join(dir, 'Snakefile'), snake.join('\n'));
  writeFileSync(join(dir, 'Makefile'), make.join('\n'));
}

function time(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { ms: number; code: number | null; out: string } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: dir, env, encoding: 'utf8' });
  return { ms: performance.now() - t0, code: r.status, out: `${r.stdout}${r.stderr}` };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function bench(label: string, cmd: string, args: string[], okCodes: (number | null)[]): number {
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = time(cmd, args);
    if (!okCodes.includes(r.code)) throw new Error(`${label} exited ${r.code}:\n${r.out}`);
    ms.push(r.ms);
  }
  const m = median(ms);
  process.stdout.write(`${label.padEnd(22)} median ${m.toFixed(0).padStart(6)} ms  (min ${Math.min(...ms).toFixed(0)}, max ${Math.max(...ms).toFixed(0)}, ${RUNS} runs)\n`);
  return m;
}

function ensureSnakemake(): boolean {
  if (spawnSync('snakemake', ['--version']).status === 0) return true;
  process.stdout.write('snakemake missing: apt-get install -y snakemake ...\n');
  spawnSync('bash', ['-c', 'apt-get update -qq && apt-get install -y -qq snakemake'], { stdio: 'ignore' });
  return spawnSync('snakemake', ['--version']).status === 0;
}

makeData();
writeProjects();
const pipe = join(repoRoot, 'bin', 'pipe.js');
let t = time(process.execPath, [pipe, 'run']);
if (t.code !== 0) throw new Error(`first pipe run failed:\n${t.out}`);
process.stdout.write(`first pipe run (cold: hashes ${(FILES * SIZE / 1e9).toFixed(2)} GB): ${(t.ms / 1000).toFixed(1)} s\n`);
t = time(process.execPath, [pipe, 'run']);
process.stdout.write(`second pipe run (state written by the first): ${t.ms.toFixed(0)} ms\n`);

// The no-op run must not load TensorFlow.js or sharp.
const trace = join(dir, 'imports.txt');
rmSync(trace, { force: true });
const traced = time(process.execPath, ['--import', join(repoRoot, 'dist', 'test', 'util', 'trace-imports.js'), pipe, 'run'], { ...process.env, PIPE_TRACE_IMPORTS: trace });
const heavy = readFileSync(trace, 'utf8').split('\n').filter((u) => /@tensorflow|\/sharp\//.test(u));
process.stdout.write(`no-op run loads TensorFlow.js or sharp: ${heavy.length ? `YES (${heavy[0]})` : 'no'} (exit ${traced.code})\n`);

const node = bench('node -e 0 (baseline)', process.execPath, ['-e', '0'], [0]);
const ours = bench('pipe run (no-op)', process.execPath, [pipe, 'run'], [0]);
const make = bench('make -q', 'make', ['-q'], [0]);
let snake = NaN;
if (ensureSnakemake()) snake = bench('snakemake -n', 'snakemake', ['-n', '--cores', '1', '--quiet'], [0]);
else process.stdout.write('snakemake -n: n/a (could not install snakemake)\n');
const version = execFileSync(process.execPath, [pipe, '--version'], { cwd: dir, encoding: 'utf8' }).trim();
process.stdout.write(`\npipe ${version}, ${FILES} files, node ${process.version}\n`);
process.stdout.write(`pipe no-op: ${ours.toFixed(0)} ms (target < 300 ms; node start alone ${node.toFixed(0)} ms)\n`);
process.stdout.write(`ratio pipe / make -q: ${(ours / make).toFixed(2)}\n`);
process.stdout.write(`ratio pipe / snakemake -n: ${Number.isNaN(snake) ? 'n/a' : (ours / snake).toFixed(2)}\n`);
