/**
 * `pipe exp list | show | diff | apply | remove`, and the DVC spellings
 * `pipe metrics show` and `pipe params diff`. Experiments are read from
 * `.pipe/exps/` (see store.ts); "workspace" names the experiment in pipe.lock.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../cache/atomic.js';
import { EXIT, report, type CommandEnv } from '../commands.js';
import { LockWriter, type Lock } from '../lockfile.js';
import { ensureDotDir, openProject, type Project } from '../project.js';
import { acquireRunLock } from '../run-lock.js';
import type { ParamValue } from '../stage-api.js';
import { effectiveOf } from './run-hooks.js';
import { formatOverrides, overridesOf } from './overrides.js';
import { ExperimentStore, experimentId, flatMetrics, flatParams, type Experiment } from './store.js';
import { cell, shortTime, table } from './table.js';
import { editYaml, fileParamPath } from './yaml-edit.js';

/** Options of the experiment commands. */
export interface ExpOptions {
  readonly write: boolean;
  readonly keepLast?: number;
  readonly signal: AbortSignal;
}

/** A lock to compare, with its label. */
interface Side {
  readonly label: string;
  readonly lock: Lock;
}

function usage(env: CommandEnv, message: string): number {
  return report(env, { reason: 'usage', message });
}

/** `pipe exp SUB ...`. */
export async function cmdExp(env: CommandEnv, args: readonly string[], o: ExpOptions): Promise<number> {
  const [sub, ...rest] = args;
  const opened = await openProject(env.file, [], env.registry);
  if (!opened.ok) return report(env, opened.error);
  const p = opened.value;
  const store = new ExperimentStore(p.dotDir);
  switch (sub) {
    case 'list':
      if (rest.length) return usage(env, '`pipe exp list` takes no arguments');
      return list(env, p, store);
    case 'show': {
      if (rest.length !== 1) return usage(env, '`pipe exp show` takes one experiment (id or name)');
      const f = store.find(rest[0] as string);
      if ('error' in f) return usage(env, f.error);
      return show(env, f.exp);
    }
    case 'diff':
      return diff(env, p, store, rest, 'all');
    case 'apply': {
      if (rest.length !== 1) return usage(env, '`pipe exp apply` takes one experiment (id or name)');
      const f = store.find(rest[0] as string);
      if ('error' in f) return usage(env, f.error);
      return apply(env, p, f.exp, o);
    }
    case 'remove': {
      if (rest.length === 0) return usage(env, '`pipe exp remove` takes the experiments to remove (ids or names)');
      const found = rest.map((r) => store.find(r));
      const bad = found.find((f): f is { error: string } => 'error' in f);
      if (bad) return usage(env, bad.error);
      for (const f of found) if ('exp' in f) store.remove(f.exp.id);
      const names = found.map((f) => ('exp' in f ? `${f.exp.name} (${f.exp.id})` : ''));
      if (env.json) env.stdout.write(JSON.stringify({ ok: true, removed: found.map((f) => ('exp' in f ? f.exp.id : '')) }, null, 2) + '\n');
      else env.stdout.write(`removed ${names.join(', ')}; \`pipe gc\` frees their cached outputs\n`);
      return EXIT.ok;
    }
    default:
      return usage(env, `\`pipe exp\` takes list, show, diff, apply or remove${sub ? `, not "${sub}"` : ''}`);
  }
}

/** `pipe metrics show [ID]` and `pipe params diff [A [B]]`. */
export async function cmdDvcAlias(env: CommandEnv, which: 'metrics' | 'params', args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  const opened = await openProject(env.file, [], env.registry);
  if (!opened.ok) return report(env, opened.error);
  const p = opened.value;
  const store = new ExperimentStore(p.dotDir);
  if (which === 'params') {
    if (sub !== 'diff') return usage(env, '`pipe params` takes diff');
    return diff(env, p, store, rest, 'params');
  }
  if (sub !== 'show' || rest.length > 1) return usage(env, '`pipe metrics show [ID]`');
  const side = resolveSide(p, store, rest[0]);
  if ('error' in side) return usage(env, side.error);
  const m = flatMetrics(side.lock);
  if (env.json) env.stdout.write(JSON.stringify({ ok: true, experiment: side.label, metrics: m }, null, 2) + '\n');
  else env.stdout.write(table([['metric', side.label], ...Object.entries(m).map(([k, v]) => [k, cell(v)])]));
  return EXIT.ok;
}

function resolveSide(p: Project, store: ExperimentStore, ref: string | undefined): Side | { error: string } {
  if (ref === undefined || ref === 'workspace') {
    const exp = store.get(experimentId(p.lock));
    return { label: exp ? exp.name : 'workspace', lock: p.lock };
  }
  const f = store.find(ref);
  return 'error' in f ? f : { label: f.exp.name, lock: f.exp.lock };
}

function list(env: CommandEnv, p: Project, store: ExperimentStore): number {
  const all = store.list();
  const current = experimentId(p.lock);
  // Metric columns: those that differ between experiments (at most 3), else the first two.
  const metrics = all.map((e) => flatMetrics(e.lock));
  const names = [...new Set(metrics.flatMap((m) => Object.keys(m)))];
  const varying = names.filter((n) => new Set(metrics.map((m) => JSON.stringify(m[n]))).size > 1);
  const cols = (varying.length ? varying : names).slice(0, varying.length ? 3 : 2);
  if (env.json) {
    env.stdout.write(JSON.stringify({
      ok: true, workspace: current || null,
      experiments: all.map((e, i) => ({ id: e.id, name: e.name, kind: e.kind, updated_at: e.updated_at, ...(e.commit ? { commit: e.commit } : {}), ...(e.sweep ? { sweep: e.sweep } : {}), overrides: e.overrides, metrics: metrics[i] })),
    }, null, 2) + '\n');
    return EXIT.ok;
  }
  if (all.length === 0) {
    env.stdout.write('no experiments yet: every `pipe run`, `pipe repro` and sweep point records one\n');
    return EXIT.ok;
  }
  const rows = all.map((e, i) => [
    e.id === current ? '*' : ' ', e.name, e.id, e.kind, shortTime(e.updated_at), formatOverrides(e.overrides) || '-', ...cols.map((c) => cell(metrics[i]?.[c])),
  ]);
  env.stdout.write(table([[' ', 'name', 'id', 'kind', 'when', 'overrides', ...cols], ...rows]));
  if (current && all.some((e) => e.id === current)) env.stdout.write('* the experiment in the workspace (pipe.lock)\n');
  return EXIT.ok;
}

function show(env: CommandEnv, e: Experiment): number {
  const metrics = flatMetrics(e.lock);
  const params = flatParams(e.lock);
  if (env.json) {
    env.stdout.write(JSON.stringify({ ok: true, experiment: { ...e, metrics, params } }, null, 2) + '\n');
    return EXIT.ok;
  }
  const head: string[][] = [['experiment', `${e.name} (${e.id})`], ['kind', e.kind + (e.sweep ? ` (sweep ${e.sweep})` : '')], ['made', shortTime(e.created_at) + (e.updated_at !== e.created_at ? ` (again ${shortTime(e.updated_at)})` : '')],
    ['pipeline', e.pipeline], ['commit', e.commit ?? '-'], ['overrides', formatOverrides(e.overrides) || 'none']];
  env.stdout.write(table(head));
  env.stdout.write('\nmetrics\n' + table(Object.entries(metrics).map(([k, v]) => ['  ' + k, cell(v)])));
  env.stdout.write('\nparams\n' + table(Object.entries(params).map(([k, v]) => ['  ' + k, cell(v)])));
  return EXIT.ok;
}

/** Params the pipeline file resolves to now, as a side called "pipeline.yaml". */
function fileSide(p: Project, file: string): Side {
  const stages = Object.fromEntries([...p.graph.stages].map(([n, s]) => [n, { params: s.config.params, metrics: {} }]));
  return { label: file, lock: { version: 1, stages: stages as unknown as Lock['stages'] } };
}

function diff(env: CommandEnv, p: Project, store: ExperimentStore, refs: readonly string[], what: 'all' | 'params'): number {
  if (refs.length > 2) return usage(env, 'diff takes at most two experiments');
  // exp diff A: A against the workspace; params diff (no args): the workspace against the pipeline file.
  let a: Side | { error: string };
  let b: Side | { error: string };
  if (refs.length === 0) {
    if (what === 'all') return usage(env, '`pipe exp diff` takes one or two experiments (the second defaults to the workspace)');
    a = resolveSide(p, store, undefined);
    b = fileSide(p, env.file);
  } else {
    a = resolveSide(p, store, refs[0]);
    b = resolveSide(p, store, refs[1]);
  }
  if ('error' in a) return usage(env, a.error);
  if ('error' in b) return usage(env, b.error);
  const sections: [string, Record<string, ParamValue>, Record<string, ParamValue>][] = [['params', flatParams(a.lock), flatParams(b.lock)]];
  if (what === 'all') sections.push(['metrics', flatMetrics(a.lock), flatMetrics(b.lock)]);
  const doc: Record<string, Record<string, { a: ParamValue | null; b: ParamValue | null; changed: boolean }>> = {};
  const rows: string[][] = [[' ', '', a.label, b.label]];
  for (const [title, x, y] of sections) {
    doc[title] = {};
    rows.push([' ', title, '', '']);
    for (const k of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
      const changed = JSON.stringify(x[k]) !== JSON.stringify(y[k]);
      (doc[title] as Record<string, unknown>)[k] = { a: x[k] ?? null, b: y[k] ?? null, changed };
      const xv = x[k];
      const yv = y[k];
      const delta = title === 'metrics' && changed && typeof xv === 'number' && typeof yv === 'number' ? ` (${yv - xv >= 0 ? '+' : ''}${cell(yv - xv)})` : '';
      rows.push([changed ? '*' : ' ', `  ${k}`, cell(xv), cell(yv) + delta]);
    }
  }
  if (env.json) env.stdout.write(JSON.stringify({ ok: true, a: a.label, b: b.label, ...doc }, null, 2) + '\n');
  else env.stdout.write(table(rows) + '* changed\n');
  return EXIT.ok;
}

/** `pipe exp apply ID [--write]`: the experiment's outputs and lock back in the workspace. */
export async function apply(env: CommandEnv, p0: Project, e: Experiment, o: ExpOptions): Promise<number> {
  const human = env.json ? env.stderr : env.stdout;
  ensureDotDir(p0);
  const held = await acquireRunLock(p0.layout.runLock, { wait: true, signal: o.signal, onWait: (who) => human.write(`waiting: ${who}\n`) });
  if (!held.ok) return report(env, { reason: 'io', message: held.message });
  try {
    for (const [stage, entry] of Object.entries(e.lock.stages)) {
      for (const [name, ref] of Object.entries(entry.outputs)) {
        if (!(await p0.env.store.has(ref))) {
          return report(env, { reason: 'io', message: `output "${name}" of stage ${stage} of ${e.name} is no longer in the cache (collected by \`pipe gc\`?): \`pipe repro ${e.id}\` makes it again` });
        }
      }
    }
    let overrides = e.overrides;
    if (o.write && Object.keys(overrides).length) {
      const text = readFileSync(env.file, 'utf8');
      const edits = Object.entries(overrides).map(([k, value]) => ({ path: fileParamPath(k, new Set(p0.graph.order)), value }));
      const r = editYaml(text, edits);
      if ('error' in r) return report(env, { reason: 'io', message: `${env.file}: ${r.error}` });
      await writeFileAtomic(env.file, r.text);
      overrides = effectiveOf(env.file, overridesOf(overrides));
    }
    const opened = await openProject(env.file, overridesOf(overrides), env.registry);
    if (!opened.ok) return report(env, opened.error);
    const p = opened.value;
    let restored = 0;
    for (const [name, s] of p.graph.stages) {
      const entry = e.lock.stages[name];
      for (const out of entry ? s.outs : []) {
        const ref = entry?.outputs[out];
        if (ref) {
          await p.env.store.restore(ref, join(p.root, out));
          restored++;
        }
      }
    }
    await new LockWriter(p.lockPath, { ...e.lock, overrides }, p.graph.order, p.layout.lockMirror).save();
    if (env.json) env.stdout.write(JSON.stringify({ ok: true, experiment: { id: e.id, name: e.name }, restored, written: o.write, overrides }, null, 2) + '\n');
    human.write(`workspace holds ${e.name} (${e.id}) now: ${restored} output${restored === 1 ? '' : 's'} restored` +
      `${o.write ? `, params written into ${env.file}` : Object.keys(overrides).length ? ` (overrides ${formatOverrides(overrides)}; --write puts them into ${env.file})` : ''}\n`);
    return EXIT.ok;
  } finally {
    await held.lock.release();
  }
}
