/**
 * The experiments section of `pipe report`: the recorded experiments as a
 * table (the params that differ between them, and their metrics) and, for
 * each sweep, its metric against each swept param.
 *
 * Experiments are the JSON records `pipe run` and `pipe sweep` keep in
 * `.pipe/exps/<id>.json` ({id, name, kind, updated_at, sweep?, overrides,
 * lock}); a record that is not of that shape is skipped, and with none the
 * section says so.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lock } from '../../engine/lockfile.js';
import type { ParamValue } from '../../engine/stage-api.js';
import { renderSvg } from './charts.js';
import { chart, esc, fmt, table, type Section } from './html.js';
import { sweepSpec } from './specs.js';

/** What the report reads of a recorded experiment. */
export interface ExperimentRecord {
  readonly id: string;
  readonly name: string;
  readonly kind: string;
  readonly updated_at: string;
  readonly sweep?: string;
  readonly overrides: Readonly<Record<string, ParamValue>>;
  readonly lock: Lock;
}

/** The project's recorded experiments, oldest first; none when there are none. */
export function loadExperiments(dotDir: string): ExperimentRecord[] {
  const dir = join(dotDir, 'exps');
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  const out: ExperimentRecord[] = [];
  for (const n of names) {
    try {
      const e = JSON.parse(readFileSync(join(dir, n), 'utf8')) as Partial<ExperimentRecord>;
      if (typeof e.id === 'string' && typeof e.name === 'string' && typeof e.lock?.stages === 'object' && e.lock.stages !== null) {
        out.push({ kind: 'run', updated_at: '', overrides: {}, ...e } as ExperimentRecord);
      }
    } catch { /* not a record: skipped */ }
  }
  return out.sort((a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : 0));
}

/** stage.param -> value over the lock's entries. */
function flatParams(lock: Lock): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [s, e] of Object.entries(lock.stages)) for (const [k, v] of Object.entries(e.params)) out[`${s}.${k}`] = JSON.stringify(v);
  return out;
}

/** stage.metric -> number over the lock's entries. */
function flatMetrics(lock: Lock): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [s, e] of Object.entries(lock.stages)) for (const [k, v] of Object.entries(e.metrics)) if (typeof v === 'number') out[`${s}.${k}`] = v;
  return out;
}

/** The metrics shown: the gate's first, then the others a few at most. */
const METRICS = /\.(val_dice|val_dice_unet|presence_precision|presence_recall|val_acc|test_dice)$/;

/** The section (renders one chart per swept param of each sweep). */
export async function experimentsSection(exps: readonly ExperimentRecord[]): Promise<Section> {
  if (exps.length === 0) {
    return { id: 'experiments', title: 'Experiments', body: '<p class="note">No experiments recorded yet: each <code>pipe run</code> and sweep point is recorded as one, and listed here.</p>' };
  }
  const params = exps.map((e) => flatParams(e.lock));
  const metrics = exps.map((e) => flatMetrics(e.lock));
  const keys = [...new Set(params.flatMap((p) => Object.keys(p)))].sort();
  const differ = keys.filter((k) => new Set(params.map((p) => p[k] ?? '–')).size > 1);
  const mkeys = [...new Set(metrics.flatMap((m) => Object.keys(m)))].filter((k) => METRICS.test(k)).sort();
  const rows = exps.map((e, i) => [
    `<b>${esc(e.name)}</b> <span class="params">${esc(e.id)}</span>`, esc(e.kind), esc(e.updated_at.slice(0, 16).replace('T', ' ')),
    ...differ.map((k) => esc(params[i]![k] ?? '–')),
    ...mkeys.map((k) => (metrics[i]![k] === undefined ? '–' : `<span class="r">${esc(fmt(metrics[i]![k]!))}</span>`)),
  ]);
  const head = ['experiment', 'kind', 'updated (UTC)', ...differ.map(esc), ...mkeys.map(esc)];
  const charts: string[] = [];
  for (const sweep of [...new Set(exps.flatMap((e) => (e.sweep ? [e.sweep] : [])))]) {
    const points = exps.filter((e) => e.sweep === sweep);
    const swept = [...new Set(points.flatMap((e) => Object.keys(e.overrides)))].filter((k) => points.every((e) => typeof e.overrides[k] === 'number'));
    const metric = mkeys.find((k) => k.endsWith('.val_dice')) ?? mkeys[0];
    if (metric === undefined) continue;
    for (const x of swept) {
      const by = swept.find((k) => k !== x);
      const values = points.flatMap((e) => {
        const m = flatMetrics(e.lock)[metric];
        return m === undefined ? [] : [{ [x]: e.overrides[x] as number, [metric]: m, ...(by ? { [by]: String(e.overrides[by]) } : {}) }];
      }).sort((a, b) => (a[x] as number) - (b[x] as number));
      charts.push(chart(await renderSvg(sweepSpec(values, x, metric, by))));
    }
  }
  return {
    id: 'experiments', title: 'Experiments',
    body: `<p class="note">${exps.length} recorded experiments, oldest first: the params that differ between them and their metrics.</p>` +
      `<div class="scroll">${table(head, rows)}</div>` + (charts.length ? `<h3>Sweeps</h3><div class="charts">${charts.join('')}</div>` : ''),
  };
}
