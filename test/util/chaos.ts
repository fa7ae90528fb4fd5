/**
 * The chaos trial shared by bench/chaos.ts (hundreds of kills, by hand) and
 * test/chaos.test.ts (a dozen, in `npm test`): start `pipe run` with one param
 * value, kill it with a random signal at a random moment, then run with
 * another value and check what a user would trust:
 *
 *   recovery-exit     the next run exits 0
 *   killed-exit       a SIGINT/SIGHUP'd run exits 130 (0 if it had finished; killed by
 *                     the signal only if no stage had started)
 *   lock-parses       pipe.lock parses and has every stage
 *   lock-matches      its output digests are those of a clean run with the same params
 *   status-fresh      `pipe status` finds the files on disk as the lock says
 *   outputs-equal     the workspace outputs are byte-equal to a clean run's
 *   no-orphans        no process is left working in the project
 *   no-debris         no temp file or folder is left (work folders, cache temps,
 *                     `.tmp` siblings, lock claims)
 *   verify-clean      `pipe verify` is clean (when this pipe has it)
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { treeEntries } from './tree.js';
import { parse } from 'yaml';
import { makeRng } from '../../stages/lib/prng.js';
import type { ChaosPipeline } from './chaos-pipelines.js';
import { Rig, type CliResult } from './rig.js';

/** Counts of one check. */
export interface CheckCount {
  pass: number;
  fail: number;
}

/** What a chaos session saw. */
export interface ChaosReport {
  kills: number;
  bySignal: Record<string, number>;
  checks: Record<string, CheckCount>;
  defects: string[];
}

const SIGNALS = ['SIGKILL', 'SIGHUP', 'SIGINT'] as const;

/** Path -> bytes (as a hex digest-free string compare: the content itself) for the outputs of a project. */
function snapshot(dir: string, outputs: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const o of outputs) {
    const abs = join(dir, o);
    let st;
    try {
      st = statSync(abs);
    } catch {
      m.set(o, '<missing>');
      continue;
    }
    if (st.isDirectory()) for (const f of treeEntries(abs).map((e) => e.rel)) m.set(join(o, f), statSync(join(abs, f)).isDirectory() ? '<dir>' : readFileSync(join(abs, f), 'latin1'));
    else m.set(o, readFileSync(abs, 'latin1'));
  }
  return m;
}

/** Stage -> output digests of a pipe.lock (what must be equal to a clean run's). */
function lockOutputs(text: string): Record<string, unknown> {
  const doc = parse(text) as { stages: Record<string, { outputs: Record<string, { digest: string }> }> };
  return Object.fromEntries(Object.entries(doc.stages).map(([s, e]) => [s, Object.fromEntries(Object.entries(e.outputs).map(([k, v]) => [k, v.digest]))]));
}

/** Processes (not zombies) whose working folder is `dir` or inside it. */
export function processesIn(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    if (Number(pid) === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      if (cwd === dir || cwd.startsWith(`${dir}/`)) found.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 120)}`);
    } catch { /* gone, or a zombie */ }
  }
  return found;
}

/** Temp debris in a project: what a later run or a folder dep could see. */
export function debris(dir: string): string[] {
  const skip = (rel: string): boolean => rel === join('.pipe', 'cache', 'objects');
  return treeEntries(dir, skip).map((e) => e.rel).filter((rel) => {
    const name = rel.split('/').pop() ?? '';
    if (rel.startsWith(join('.pipe', 'tmp') + '/') || rel.startsWith(join('.pipe', 'cache', 'tmp') + '/')) return true;
    return name.endsWith('.tmp') || name.includes('.takeover-') || name === 'run.lock';
  });
}

/** A chaos session on `pipeline`: `kills` kill-and-recover trials. */
export class Chaos {
  readonly report: ChaosReport = { kills: 0, bySignal: {}, checks: {}, defects: [] };
  private readonly rand: () => number;
  private readonly refs = new Map<number, { lock: Record<string, unknown>; outputs: Map<string, string> }>();
  private hasVerify: boolean | undefined;

  constructor(private readonly pipeline: ChaosPipeline, seed: number, private readonly log: (line: string) => void = () => undefined) {
    this.rand = makeRng(seed).next;
  }

  private check(name: string, ok: boolean, detail: () => string): void {
    const c = (this.report.checks[name] ??= { pass: 0, fail: 0 });
    if (ok) c.pass++;
    else {
      c.fail++;
      const d = `kill ${this.report.kills}: ${name}: ${detail()}`;
      this.report.defects.push(d);
      this.log(`DEFECT ${d}`);
    }
  }

  /** The clean-run reference of param point `i` (computed once, in a project of its own). */
  private async reference(i: number): Promise<{ lock: Record<string, unknown>; outputs: Map<string, string> }> {
    const have = this.refs.get(i);
    if (have) return have;
    const rig = new Rig(this.pipeline.files);
    try {
      const r = await rig.run('run', ...(this.pipeline.points[i] ?? []));
      if (r.code !== 0) throw new Error(`clean run of point ${i} failed (exit ${r.code} ${r.signal ?? ''}):\n${r.stderr}\n${r.stdout.slice(-3000)}`);
      const ref = { lock: lockOutputs(rig.read('pipe.lock')), outputs: snapshot(rig.dir, this.pipeline.outputs) };
      this.refs.set(i, ref);
      return ref;
    } finally {
      rig.cleanup();
    }
  }

  /** Runs `kills` trials in one project (created here, removed after). */
  async run(kills: number): Promise<ChaosReport> {
    const n = this.pipeline.points.length;
    for (let i = 0; i < n; i++) await this.reference(i);
    const rig = new Rig(this.pipeline.files);
    try {
      if (this.hasVerify === undefined) this.hasVerify = (await rig.run('--help')).stdout.includes('pipe verify');
      for (let k = 0; k < kills; k++) await this.trial(rig, n);
    } finally {
      rig.cleanup();
    }
    return this.report;
  }

  private async trial(rig: Rig, n: number): Promise<void> {
    const a = Math.floor(this.rand() * n);
    const b = (a + 1 + Math.floor(this.rand() * (n - 1))) % n;
    const sig = SIGNALS[Math.floor(this.rand() * SIGNALS.length)]!;
    const delay = Math.floor(this.rand() * this.pipeline.killWindowMs);
    const killed = rig.start(['run', ...(this.pipeline.points[a] ?? [])]);
    const exited = await Promise.race([killed.done.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), delay))]);
    killed.child.kill(sig);
    const kr: CliResult = await killed.done;
    this.report.kills++;
    this.report.bySignal[sig] = (this.report.bySignal[sig] ?? 0) + 1;
    this.log(`kill ${this.report.kills}: ${sig} after ${delay} ms of point ${a}${exited ? ' (had finished)' : ''}; recover with point ${b}`);
    if (sig !== 'SIGKILL') {
      // 130; 0 if it had finished; or the signal itself if it came before pipe set its handlers (nothing had started).
      const ok = kr.code === 130 || kr.code === 0 || (kr.signal === sig && !/^run /m.test(kr.stdout));
      this.check('killed-exit', ok, () => `exit ${kr.code} ${kr.signal ?? ''}\n${kr.stderr.slice(-2000)}`);
    }

    const r = await rig.run('run', ...(this.pipeline.points[b] ?? []));
    this.check('recovery-exit', r.code === 0, () => `exit ${r.code}\n${r.stderr.slice(-2000)}${r.stdout.slice(-2000)}`);
    const ref = await this.reference(b);
    let lockText = '';
    let lock: Record<string, unknown> | undefined;
    try {
      lockText = rig.read('pipe.lock');
      lock = lockOutputs(lockText);
    } catch { /* checked below */ }
    this.check('lock-parses', lock !== undefined && Object.keys(lock).length === Object.keys(ref.lock).length, () => lockText.slice(0, 500));
    this.check('lock-matches', lock !== undefined && JSON.stringify(lock) === JSON.stringify(ref.lock), () => `${JSON.stringify(lock)}\n!= ${JSON.stringify(ref.lock)}`);
    const st = await rig.run('status', ...(this.pipeline.points[b] ?? []));
    this.check('status-fresh', st.code === 0 && st.stdout.includes('everything is up to date'), () => st.stdout + st.stderr);
    const got = snapshot(rig.dir, this.pipeline.outputs);
    const diff = [...new Set([...got.keys(), ...ref.outputs.keys()])].filter((p) => got.get(p) !== ref.outputs.get(p));
    this.check('outputs-equal', diff.length === 0, () => `differ: ${diff.slice(0, 10).join(', ')}`);
    const procs = processesIn(rig.dir);
    this.check('no-orphans', procs.length === 0, () => procs.join('\n'));
    const left = debris(rig.dir);
    this.check('no-debris', left.length === 0, () => left.slice(0, 10).join(', '));
    if (this.hasVerify) {
      const v = await rig.run('verify');
      this.check('verify-clean', v.code === 0, () => v.stdout + v.stderr);
    }
  }
}

/** One line per check: "name pass/total". */
export function formatReport(r: ChaosReport): string {
  const checks = Object.entries(r.checks).map(([k, c]) => `  ${k.padEnd(15)} ${c.pass}/${c.pass + c.fail}${c.fail ? `  (${c.fail} failed)` : ''}`);
  const sigs = Object.entries(r.bySignal).map(([s, c]) => `${s} ${c}`).join(', ');
  return [`kills: ${r.kills} (${sigs}); defects: ${r.defects.length}`, ...checks].join('\n');
}
