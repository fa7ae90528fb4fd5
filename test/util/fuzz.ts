/**
 * A seeded fuzzer over pipeline.yaml and pipe.lock, shared by
 * test/fuzz.test.ts (a few hundred cases) and bench/fuzz.ts (thousands).
 *
 *   case seed --makeCase--> pipeline text, lock text, argv (mutated templates)
 *             --runCase---> exit code, output, time (in process through the
 *                           CLI's main() with in-memory streams, or the real CLI)
 *             --defectsOf-> what broke a rule
 *
 * The rules: every case ends with exit 0 or 2 (1 only when `run` ran a stage
 * that failed), within 5 s of CPU, with no stack trace; a case that fails
 * writes nothing (no .pipe/, the lock and every file unchanged); no injected
 * command runs; Object.prototype stays empty.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { main, type App } from '../../engine/cli.js';
import { builtinKinds } from '../../stages/index.js';
import { MUTATIONS, MUTATION_NAMES, Rand, SETS } from './fuzz-mutations.js';
import { repoRoot } from './paths.js';

/** Command stages: what `run` may execute. */
export const COMMAND_PIPELINE = `# fuzz template: command stages
params:
  seed: 1
  name: world
  greeting: "hello \${name}"
  list: [a, b]
  nested:
    root: data
    n: 3
stages:
  gen:
    description: writes a greeting
    cmd: printf '%s\\n' \${greeting} \${seed} \${list} > gen.txt
    params:
      k: \${seed}
      m: {x: [1, 2], y: "\${nested.root}/y"}
    deps: [in.txt]
    outs: [gen.txt]
  count:
    cmd:
      - wc -c < gen.txt > count.txt
      - printf '{"n":1,"s":"x"}' > m.json
    needs: [gen]
    deps: [gen.txt]
    outs: [count.txt]
    metrics: m.json
`;

/** Built-in kinds: planned and drawn, never run by the fuzzer. */
export const KIND_PIPELINE = `# fuzz template: built-in kinds
params:
  seed: 1
  data: data/synth
stages:
  synth:
    uses: synth
    params:
      out: \${data}
      subjects: 2
      images_per_subject: 2
      test_images: 2
      seed: \${seed}
  ingest:
    uses: ingest
    needs: [synth]
    params: {data: "\${data}", height: 16, width: 16}
  split:
    uses: split
    needs: [ingest]
    params:
      val_fraction: 0.5
      seed: \${seed}
`;

/** One generated case. */
export interface FuzzCase {
  readonly seed: number;
  readonly template: 'cmd' | 'kinds';
  readonly mutations: readonly string[];
  readonly pipeline: string | Buffer;
  /** undefined: no lock file. */
  readonly lock?: string | Buffer;
  readonly argv: readonly string[];
}

/** What one case did. */
export interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly threw?: string;
}

/** The application the CLI runs: the same registry bin/main.ts hands it. */
export const APP: App = { registry: builtinKinds, commands: {} };

/** Builds case `seed`: a template, 1-3 mutations of the pipeline and/or the lock, a command and --sets. */
export function makeCase(seed: number, lockText: string): FuzzCase {
  const r = new Rand(seed);
  const template = r.chance(0.7) ? 'cmd' : 'kinds';
  let pipeline: string | Buffer = template === 'cmd' ? COMMAND_PIPELINE : KIND_PIPELINE;
  let lock: string | Buffer | undefined = r.chance(0.6) ? lockText : undefined;
  const mutations: string[] = [];
  const target = lock !== undefined && r.chance(0.35) ? 'lock' : 'pipeline';
  for (let n = 1 + r.int(3); n > 0; n--) {
    const name = r.pick(MUTATION_NAMES);
    const f = MUTATIONS[name] as (t: string, r: Rand) => string | Buffer;
    mutations.push(`${target}:${name}`);
    if (target === 'lock') lock = f(String(lock), r);
    else pipeline = f(String(pipeline), r);
  }
  const commands = template === 'cmd' ? [['status'], ['dag'], ['run', '--dry-run'], ['run'], ['run', '--json'], ['status', '--json']] : [['status'], ['dag'], ['run', '--dry-run'], ['dag', '--json']];
  const argv = [...r.pick(commands)];
  for (let n = r.chance(0.3) ? 1 + r.int(2) : 0; n > 0; n--) argv.push('--set', r.pick(SETS));
  return { seed, template, mutations, pipeline, ...(lock !== undefined ? { lock } : {}), argv };
}

/** Writes the case's project into `dir` (emptied first). */
export function writeCase(c: FuzzCase, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'pipeline.yaml'), c.pipeline);
  writeFileSync(join(dir, 'in.txt'), 'input\n');
  if (c.lock !== undefined) writeFileSync(join(dir, 'pipe.lock'), c.lock);
}

/** Runs the case in process: the CLI's main() with in-memory streams. */
export async function runInProcess(c: FuzzCase, dir: string): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (t: string) => void (stdout += t) }, stderr: { write: (t: string) => void (stderr += t) } };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let code: number | null = null;
  let threw: string | undefined;
  try {
    code = await main([...c.argv, '-f', join(dir, 'pipeline.yaml'), '--jobs', '1'], new AbortController().signal, APP, io);
  } catch (e) {
    threw = e instanceof Error ? (e.stack ?? e.message) : String(e);
  }
  const cpu = process.cpuUsage(cpu0);
  return { code, stdout, stderr, cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - t0, ...(threw ? { threw } : {}) };
}

/** Runs the case through the real CLI (bin/pipe.js) in `dir`. */
export function runCli(c: FuzzCase, dir: string): Promise<Outcome> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'pipe.js'), ...c.argv, '--jobs', '1'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((res) => child.on('close', (code) => {
    clearTimeout(timer);
    const ms = performance.now() - t0;
    res({ code, stdout, stderr, cpuMs: 0, wallMs: ms });
  }));
}

/** Every file under `dir` with its size, except the case's own inputs. */
export function snapshot(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(d, e.name), p);
      else out.set(p, statSync(join(d, e.name)).size);
    }
  };
  walk(dir, '');
  return out;
}

/** The rules a case's outcome broke (empty: none). */
export function defectsOf(c: FuzzCase, o: Outcome, dir: string, before: Map<string, number>, cpuLimitMs: number): string[] {
  const out: string[] = [];
  const text = `${o.stdout}\n${o.stderr}`;
  if (o.threw) out.push(`threw: ${o.threw.split('\n').slice(0, 3).join(' | ')}`);
  const ranStages = c.argv[0] === 'run' && !c.argv.includes('--dry-run');
  const allowed = ranStages ? [0, 1, 2] : [0, 2];
  if (!allowed.includes(o.code ?? -1)) out.push(`exit ${String(o.code)}`);
  if (o.code === 1 && !/stage|FAILED|failed/.test(text)) out.push('exit 1 without a failed stage');
  if (/\n\s+at [^\n]*[(:]\d+/.test(text) || /pipe: bug:|internal error/.test(text)) out.push(`stack trace: ${text.slice(0, 300)}`);
  if (o.cpuMs > cpuLimitMs) out.push(`took ${Math.round(o.cpuMs)} ms of CPU (limit ${cpuLimitMs})`);
  const after = snapshot(dir);
  if ((after.has('pwned') || after.has('pwned2')) && !commandsSay(c.pipeline, 'pwned')) out.push('an injected command ran');
  if (o.code === 2) {
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
    if (changed.length > 0) out.push(`failed but wrote: ${changed.slice(0, 5).join(', ')}`);
    if (c.lock !== undefined && !readFileSync(join(dir, 'pipe.lock')).equals(Buffer.from(c.lock))) out.push('failed but changed pipe.lock');
  }
  // eslint-disable-next-line guard-for-in
  for (const k in {}) out.push(`Object.prototype polluted: ${k}`);
  return out;
}

/** True when a stage's own `cmd` holds `word` (then running it is no injection), or the file cannot be read as YAML. */
function commandsSay(pipeline: string | Buffer, word: string): boolean {
  try {
    const doc = parseYaml(String(pipeline), { logLevel: 'silent', maxAliasCount: 100 }) as { stages?: Record<string, { cmd?: unknown } | null> } | null;
    return JSON.stringify(Object.values(doc?.stages ?? {}).map((s) => s?.cmd)).includes(word);
  } catch {
    return true;
  }
}

/** A valid lock for the command template: made by one real (in-process) run. */
export async function templateLock(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pipe-fuzz-lock-'));
  try {
    writeCase({ seed: 0, template: 'cmd', mutations: [], pipeline: COMMAND_PIPELINE, argv: ['run'] }, dir);
    const o = await runInProcess({ seed: 0, template: 'cmd', mutations: [], pipeline: COMMAND_PIPELINE, argv: ['run'] }, dir);
    if (o.code !== 0) throw new Error(`the fuzz template does not run: ${o.stderr}`);
    return readFileSync(join(dir, 'pipe.lock'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One defective case, with what is needed to replay it. */
export interface Defect {
  readonly seed: number;
  readonly via: 'in-process' | 'cli';
  readonly mutations: readonly string[];
  readonly argv: readonly string[];
  readonly problems: readonly string[];
}

/** What a fuzz run found. */
export interface FuzzReport {
  readonly cases: number;
  readonly cliCases: number;
  readonly wallMs: number;
  /** The longest wall time of one case (cases run side by side, on a shared machine). */
  readonly maxWallMs: number;
  /** Cases over the time limit in wall time, re-run alone to measure their CPU time. */
  readonly rechecked: number;
  /** The largest CPU time among the re-run cases (0 if none). */
  readonly maxRecheckCpuMs: number;
  readonly exits: Readonly<Record<string, number>>;
  readonly defects: readonly Defect[];
}

/** The seed of case `i` of a run seeded `seed`. */
export function caseSeed(seed: number, i: number): number {
  return (Math.imul(seed >>> 0, 2654435761) + i * 40503 + 1) >>> 0;
}

/** Fuzz run options. */
export interface FuzzOptions {
  readonly cases: number;
  readonly seed: number;
  /** Every this-many-th case (and case 0) goes through the real CLI. */
  readonly cliEvery: number;
  /** Cases run side by side, each in its own folder. */
  readonly parallel: number;
  /** A case may take this long (CPU time, measured alone when its wall time exceeded it). */
  readonly limitMs?: number;
  readonly onCase?: (i: number, d: Defect | undefined) => void;
}

/** Runs `cases` cases from `seed` and checks every rule on each. */
export async function fuzz(o: FuzzOptions): Promise<FuzzReport> {
  const limit = o.limitMs ?? 5000;
  const lock = await templateLock();
  const exits: Record<string, number> = {};
  const defects: Defect[] = [];
  const slow: FuzzCase[] = [];
  let cliCases = 0;
  let maxWallMs = 0;
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    const dir = mkdtempSync(join(tmpdir(), 'pipe-fuzz-'));
    try {
      for (let i = next++; i < o.cases; i = next++) {
        const c = makeCase(caseSeed(o.seed, i), lock);
        const viaCli = i % o.cliEvery === 0;
        writeCase(c, dir);
        const before = snapshot(dir);
        const out = viaCli ? await runCli(c, dir) : await runInProcess(c, dir);
        if (viaCli) cliCases++;
        maxWallMs = Math.max(maxWallMs, out.wallMs);
        exits[String(out.code)] = (exits[String(out.code)] ?? 0) + 1;
        const problems = defectsOf(c, out, dir, before, Infinity);
        if (!viaCli && out.wallMs > limit) slow.push(c);
        const d = problems.length ? { seed: c.seed, via: viaCli ? ('cli' as const) : ('in-process' as const), mutations: c.mutations, argv: c.argv, problems } : undefined;
        if (d) defects.push(d);
        o.onCase?.(i, d);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.parallel) }, worker));
  // Wall time on a shared machine is not the case's own: re-run slow cases alone and judge their CPU time.
  let maxRecheckCpuMs = 0;
  const dir = mkdtempSync(join(tmpdir(), 'pipe-fuzz-recheck-'));
  try {
    for (const c of slow) {
      writeCase(c, dir);
      const out = await runInProcess(c, dir);
      maxRecheckCpuMs = Math.max(maxRecheckCpuMs, out.cpuMs);
      if (out.cpuMs > limit) defects.push({ seed: c.seed, via: 'in-process', mutations: c.mutations, argv: c.argv, problems: [`took ${Math.round(out.cpuMs)} ms of CPU (limit ${limit})`] });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { cases: o.cases, cliCases, wallMs: performance.now() - t0, maxWallMs, rechecked: slow.length, maxRecheckCpuMs, exits, defects };
}
