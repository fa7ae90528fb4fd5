/**
 * `pipe repro [LOCK] [--rev REV] [--no-cache] [--allow-code-drift]`: re-creates
 * the experiment a lock records, with its params (not the pipeline file's),
 * and compares each stage's outputs with the lock's.
 *
 *   lock (file | experiment | git REV) --> project with the lock's params
 *     code fingerprints differ from the lock's? --> refuse, naming files (unless --allow-code-drift)
 *     execute: cached keys restored (fresh or from the run cache), the rest run (--no-cache: all run)
 *     per stage: identical | restored | differs (artifact, metrics old -> new, machine facts that differ)
 *   exit 1 when anything differs or fails.
 */
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { cpus } from 'node:os';
import { EXIT, pipeVersion, report, type CommandEnv } from '../commands.js';
import type { EngineEvent } from '../events.js';
import { execute, type StageResult } from '../executor.js';
import { codeFingerprint } from '../fingerprint.js';
import type { Graph } from '../graph.js';
import { LockWriter, type Lock, type LockEntry } from '../lockfile.js';
import { textLogger } from '../logger.js';
import { ensureDotDir, saveProjectState } from '../project.js';
import { acquireRunLock } from '../run-lock.js';
import { machineDiff, machineInfo } from './machine.js';
import { codeFilesOf, finishRun } from './run-hooks.js';
import { findSource, openAsLocked } from './source.js';
import type { Experiment } from './store.js';
import { table } from './table.js';

/** Options of `pipe repro`. */
export interface ReproOptions {
  readonly lock: string | undefined;
  readonly rev: string | undefined;
  readonly noCache: boolean;
  readonly allowCodeDrift: boolean;
  readonly jobs: number;
  readonly signal: AbortSignal;
}

/** One stage's verdict. */
export interface Verdict {
  readonly stage: string;
  readonly verdict: 'identical' | 'restored' | 'differs' | 'failed';
  readonly detail: readonly string[];
}

/** Stages whose code differs from the lock's, each with the files that changed. */
export function codeDrift(graph: Graph, lock: Lock): { stage: string; files: string[] }[] {
  const now = codeFilesOf(graph);
  const out: { stage: string; files: string[] }[] = [];
  for (const [name, e] of Object.entries(lock.stages)) {
    const s = graph.stages.get(name);
    if (!s) continue;
    const kind = s.runner.type === 'cmd' ? 'cmd' : s.runner.uses;
    if (kind !== e.kind) {
      out.push({ stage: name, files: [`kind ${e.kind} -> ${kind}`] });
      continue;
    }
    const code = s.runner.type === 'cmd' ? s.runner.cmd : codeFingerprint(s.runner.module).digest;
    if (code === e.code) continue;
    if (s.runner.type === 'cmd') {
      out.push({ stage: name, files: [`command: ${JSON.stringify(e.code)} -> ${JSON.stringify(code)}`] });
      continue;
    }
    const was = lock.code_files?.[e.code];
    const is = now[code] ?? {};
    const files = was
      ? [...new Set([...Object.keys(was), ...Object.keys(is)])].sort().filter((f) => was[f] !== is[f])
        .map((f) => (was[f] === undefined ? `${f} (new)` : is[f] === undefined ? `${f} (gone)` : f))
      : ['(the lock does not list its files)'];
    out.push({ stage: name, files });
  }
  return out;
}

/** Compares what a stage produced now with what the lock recorded. */
export function judge(stage: string, then: LockEntry, now: LockEntry | undefined, result: StageResult | undefined, before: LockEntry | undefined): Verdict {
  if (!now || !result || result.status === 'failed' || result.status === 'skipped') {
    return { stage, verdict: 'failed', detail: [result?.message ?? 'did not run'] };
  }
  const detail: string[] = [];
  for (const name of [...new Set([...Object.keys(then.outputs), ...Object.keys(now.outputs)])].sort()) {
    const a = then.outputs[name]?.digest;
    const b = now.outputs[name]?.digest;
    if (a !== b) detail.push(`${name}: ${a?.slice(0, 19) ?? 'none'}… in the lock, ${b?.slice(0, 19) ?? 'none'}… now`);
  }
  // Came from the cache: restored, or "fresh" against the lock while the workspace held another key.
  const fromCache = result.status === 'restored' || (result.status === 'fresh' && before?.key !== now.key);
  if (detail.length === 0) return { stage, verdict: fromCache ? 'restored' : 'identical', detail: [] };
  for (const k of [...new Set([...Object.keys(then.metrics), ...Object.keys(now.metrics)])].sort()) {
    if (then.metrics[k] !== now.metrics[k]) detail.push(`${k} ${String(then.metrics[k] ?? '-')} -> ${String(now.metrics[k] ?? '-')}`);
  }
  if (then.key !== now.key) detail.push('its key differs from the lock\'s (code, params or inputs changed)');
  else if (result.status === 'ran') {
    const m = machineDiff(then.info, now.info);
    detail.push(m.length ? `same key, different bytes: this machine differs from the lock's: ${m.join('; ')}` : 'same key, different bytes on the same kind of machine: the stage is not deterministic');
  }
  return { stage, verdict: 'differs', detail };
}

/** `pipe repro`. */
export async function cmdRepro(env: CommandEnv, o: ReproOptions): Promise<number> {
  const t0 = performance.now();
  const human = env.json ? env.stderr : env.stdout;
  const src = findSource(env.file, o.lock, o.rev);
  if (!src.ok) return report(env, src.error);
  const opened = await openAsLocked(env.file, src.value, env.registry);
  if (!opened.ok) return report(env, opened.error);
  const p = opened.value;
  const target = src.value.lock;
  const drift = codeDrift(p.graph, target);
  if (drift.length && !o.allowCodeDrift) {
    const message = `the code of ${drift.length} stage${drift.length === 1 ? '' : 's'} differs from ${src.value.label}: ` +
      drift.map((d) => `${d.stage} (${d.files.join(', ')})`).join('; ') + '; --allow-code-drift reproduces with the code checked out now';
    if (env.json) env.stdout.write(JSON.stringify({ ok: false, error: { reason: 'code-drift', message, stages: drift } }, null, 2) + '\n');
    env.stderr.write(`pipe repro: ${message}\n`);
    return EXIT.failed;
  }
  human.write(`reproducing ${src.value.label}${o.noCache ? ' from raw data (--no-cache: every stage runs)' : ''}\n`);
  ensureDotDir(p);
  const held = await acquireRunLock(p.layout.runLock, { wait: true, signal: o.signal, onWait: (who) => human.write(`waiting: ${who}\n`) });
  if (!held.ok) return report(env, { reason: 'io', message: held.message });
  const stages = Object.keys(target.stages).filter((n) => p.graph.stages.has(n));
  let results: StageResult[];
  let lock: LockWriter;
  let experiment: Experiment | undefined;
  try {
    await rm(p.layout.workTmp, { recursive: true, force: true });
    ensureDotDir(p);
    // The lock being reproduced is the reference: a stage whose key and objects match it is fresh.
    lock = new LockWriter(p.lockPath, target, p.graph.order, p.layout.lockMirror);
    lock.setMeta(target.overrides ?? {}, codeFilesOf(p.graph));
    const log = textLogger(human);
    results = await execute(p.graph, { ...p.env, lock: target.stages }, lock, {
      targets: stages, force: o.noCache ? new Set(stages) : new Set(), jobs: o.jobs, signal: o.signal, tmpDir: p.layout.workTmp,
      scratchDir: p.layout.scratch,
      versions: { pipe: pipeVersion(), ...machineInfo() },
      threadsPerStage: Math.max(1, Math.floor(cpus().length / o.jobs)),
      // As `pipe run`: the run lock records the stages' process groups, so a run after a killed repro reaps them.
      groups: { started: (stage, pgid) => held.lock.track(stage, pgid), ended: (pgid) => held.lock.untrack(pgid) },
      emit: (e: EngineEvent) => log(e),
    });
    await saveProjectState(p);
    if (!o.signal.aborted && results.every((r) => r.status !== 'failed')) experiment = (await finishRun(p, env.file, lock, 'repro')).exp;
  } finally {
    await held.lock.release();
  }
  const verdicts = stages.map((n) => judge(n, target.stages[n] as LockEntry, lock.stages[n], results.find((r) => r.stage === n), p.env.lock[n]));
  const bad = verdicts.filter((v) => v.verdict === 'differs' || v.verdict === 'failed');
  if (env.json) {
    env.stdout.write(JSON.stringify({ ok: bad.length === 0, lock: src.value.label, ...(experiment ? { experiment: { id: experiment.id, name: experiment.name } } : {}), duration_ms: Math.round(performance.now() - t0), stages: verdicts }, null, 2) + '\n');
  }
  human.write('\n' + table(verdicts.map((v) => [v.stage, v.verdict, v.detail.join('; ')])));
  const restored = verdicts.filter((v) => v.verdict === 'restored').length;
  human.write(bad.length === 0
    ? `reproduced: every output of ${verdicts.length} stages is identical to the lock's (${restored} restored from the cache)\n`
    : `NOT reproduced: ${bad.map((v) => `${v.stage} ${v.verdict}`).join(', ')}\n`);
  return o.signal.aborted ? EXIT.interrupted : bad.length ? EXIT.failed : EXIT.ok;
}
