/**
 * A seeded fuzzer over pipeline.yaml and pipe.lock, shared by
 * test/fuzz.test.ts (a few hundred cases) and bench/fuzz.ts (thousands).
 *
 *   case seed --makeCase--> pipeline text, lock text, argv (mutated templates; fuzz-case.ts)
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
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { main, type App } from '../../engine/cli.js';
import { builtinKinds } from '../../stages/index.js';
import { caseSeed, COMMAND_PIPELINE, makeCase, writeCase, type FuzzCase } from './fuzz-case.js';
import { VICTIM } from './fuzz-mutations.js';
import { Capture, CASE_CHECK_MS, CASE_HARD_LIMIT_MS, watchCase, type Stopped } from './fuzz-watch.js';
import { repoRoot } from './paths.js';

/** What one case did. */
export interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly threw?: string;
  /** Set when the harness interrupted the case (as Ctrl-C would): see {@link CASE_CHECK_MS}. */
  readonly stopped?: Stopped;
}

/** The application the CLI runs: the same registry bin/main.ts hands it. */
export const APP: App = { registry: builtinKinds, commands: {} };

/** Runs the case in process: the CLI's main() with in-memory streams; interrupted as {@link watchCase} says. */
export async function runInProcess(c: FuzzCase, dir: string, checkMs = CASE_CHECK_MS): Promise<Outcome> {
  const stdout = new Capture();
  const stderr = new Capture();
  const io = { stdout: { write: (t: string) => stdout.write(t) }, stderr: { write: (t: string) => stderr.write(t) } };
  const interrupt = new AbortController();
  const stopped: { value?: Stopped } = {};
  const timer = watchCase(checkMs, stdout, stderr, stopped, () => interrupt.abort());
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let code: number | null = null;
  let threw: string | undefined;
  try {
    code = await main([...c.argv, '-f', join(dir, 'pipeline.yaml'), '--jobs', '1'], interrupt.signal, APP, io);
  } catch (e) {
    threw = e instanceof Error ? (e.stack ?? e.message) : String(e);
  } finally {
    clearInterval(timer);
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    code, stdout: stdout.text(), stderr: stderr.text(), cpuMs: (cpu.user + cpu.system) / 1000, wallMs: performance.now() - t0,
    ...(threw ? { threw } : {}), ...(stopped.value ? { stopped: stopped.value } : {}),
  };
}

/** Runs the case through the real CLI (bin/pipe.js) in `dir`; SIGINT as {@link watchCase} says, SIGKILL 10 s after the hard limit. */
export function runCli(c: FuzzCase, dir: string, checkMs = CASE_CHECK_MS): Promise<Outcome> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'pipe.js'), ...c.argv, '--jobs', '1'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const stdout = new Capture();
  const stderr = new Capture();
  child.stdout.setEncoding('utf8').on('data', (t: string) => stdout.write(t));
  child.stderr.setEncoding('utf8').on('data', (t: string) => stderr.write(t));
  const stopped: { value?: Stopped } = {};
  const interrupt = watchCase(checkMs, stdout, stderr, stopped, () => child.kill('SIGINT'));
  const timer = setTimeout(() => child.kill('SIGKILL'), CASE_HARD_LIMIT_MS + 10_000);
  return new Promise((res) => child.on('close', (code) => {
    clearInterval(interrupt);
    clearTimeout(timer);
    const ms = performance.now() - t0;
    res({ code, stdout: stdout.text(), stderr: stderr.text(), cpuMs: 0, wallMs: ms, ...(stopped.value ? { stopped: stopped.value } : {}) });
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
export function defectsOf(c: FuzzCase, o: Outcome, dir: string, before: Map<string, number>): string[] {
  const out: string[] = [];
  const text = `${o.stdout}\n${o.stderr}`;
  if (o.threw) out.push(`threw: ${o.threw.split('\n').slice(0, 3).join(' | ')}`);
  const ranStages = c.argv[0] === 'run' && !c.argv.includes('--dry-run');
  const endless = ranStages && o.stopped?.stagePrinting === true;
  if (o.stopped && !endless) out.push(`did not end within ${o.stopped.afterMs / 1000} s (no stage was printing)`);
  // A stage running without end was interrupted by the harness: pipe must end as an interrupted run.
  const allowed = endless ? [130] : ranStages ? [0, 1, 2] : [0, 2];
  if (!allowed.includes(o.code ?? -1)) out.push(`exit ${String(o.code)}${endless ? ' (interrupted while a stage printed without end: expected 130)' : ''}`);
  if (o.code === 1 && !/stage|FAILED|failed/.test(text)) out.push('exit 1 without a failed stage');
  if (/\n\s+at [^\n]*[(:]\d+/.test(text) || /pipe: bug:|internal error/.test(text)) out.push(`stack trace: ${text.slice(0, 300)}`);
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
  /** Cases the harness interrupted (a stage printing without end, or a defect): see {@link CASE_CHECK_MS}. */
  readonly stopped: number;
  readonly exits: Readonly<Record<string, number>>;
  readonly defects: readonly Defect[];
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
  let stopped = 0;
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
        const problems = defectsOf(c, out, dir, before);
        if (out.stopped) stopped++;
        else if (!viaCli && out.wallMs > limit) slow.push(c);
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
      if (out.cpuMs > limit && !out.stopped) defects.push({ seed: c.seed, via: 'in-process', mutations: c.mutations, argv: c.argv, problems: [`took ${Math.round(out.cpuMs)} ms of CPU (limit ${limit})`] });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    // Where a mutation points synth outside the project (the run must refuse it; remove anything it left).
    rmSync(VICTIM, { recursive: true, force: true });
  }
  return { cases: o.cases, cliCases, wallMs: performance.now() - t0, maxWallMs, rechecked: slow.length, maxRecheckCpuMs, stopped, exits, defects };
}
