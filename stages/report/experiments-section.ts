/**
 * The experiments section of `pipe report`: the recorded experiments (the
 * engine's store, .pipe/exps) as a table of the params that differ between
 * them and their metrics, and for each sweep its metric against each swept
 * param. With none recorded, the section says so.
 */
import { ExperimentStore, flatMetrics as flatAll, flatParams as flatAllParams, type Experiment } from '../../engine/exp/store.js';
import type { Lock } from '../../engine/lockfile.js';
import type { ParamValue } from '../../engine/stage-api.js';
import { chartThread } from './chart-thread.js';
import { memoSvg, type VlSpec } from './charts.js';
import { chart, esc, fmt, table, type Section } from './html.js';
import type { RenderMemo } from './memo.js';
import { sweepSpec } from './specs.js';

/** The project's recorded experiments, oldest first. */
export function loadExperiments(dotDir: string): Experiment[] {
  return new ExperimentStore(dotDir).list();
}

/** stage.param -> value as text. */
function asText(params: Readonly<Record<string, ParamValue>>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, JSON.stringify(v)]));
}

/** stage.metric -> number, over the lock's entries. */
function flatMetrics(lock: Lock): Record<string, number> {
  return Object.fromEntries(Object.entries(flatAll(lock)).filter((e): e is [string, number] => typeof e[1] === 'number'));
}

/** The metrics shown: the gate's first, then the others a few at most. */
const METRICS = /\.(val_dice|val_dice_unet|presence_precision|presence_recall|val_acc|test_dice)$/;

/** The section (renders one chart per swept param of each sweep, through `memo`). */
export async function experimentsSection(exps: readonly Experiment[], memo: RenderMemo): Promise<Section> {
  if (exps.length === 0) {
    return { id: 'experiments', title: 'Experiments', body: '<p class="note">No experiments recorded yet: each <code>pipe run</code> and sweep point is recorded as one, and listed here.</p>' };
  }
  // Each experiment's params and metrics, flattened once (a workspace holds hundreds).
  const raw = exps.map((e) => flatAllParams(e.lock));
  const params = raw.map(asText);
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
  const specs: VlSpec[] = [];
  for (const sweep of [...new Set(exps.flatMap((e) => (e.sweep ? [e.sweep] : [])))]) {
    const points = exps.flatMap((e, i) => (e.sweep === sweep ? [i] : []));
    // A point's value of a swept param: its override, or (when it repeats the pipeline file, so no override) the lock's param.
    const valueOf = (i: number, k: string): ParamValue | undefined => exps[i]!.overrides[k] ?? raw[i]![k];
    const swept = [...new Set(points.flatMap((i) => Object.keys(exps[i]!.overrides)))].filter((k) => points.every((i) => typeof valueOf(i, k) === 'number'));
    const metric = mkeys.find((k) => k.endsWith('.val_dice')) ?? mkeys[0];
    if (metric === undefined) continue;
    for (const x of swept) {
      const by = swept.find((k) => k !== x);
      const values = points.flatMap((i) => {
        const m = metrics[i]![metric];
        return m === undefined ? [] : [{ x: valueOf(i, x) as number, y: m, ...(by ? { by: String(valueOf(i, by)) } : {}) }];
      }).sort((a, b) => a.x - b.x);
      specs.push(sweepSpec(values, x, metric, by));
    }
  }
  // All at once: those the memo lacks are drawn one after the other on the chart thread, whose vega the page's charts then reuse.
  const charts = (await Promise.all(specs.map((spec) => memoSvg(memo, spec, (full) => chartThread.render(full))))).map(chart);
  return {
    id: 'experiments', title: 'Experiments',
    body: `<p class="note">${exps.length} recorded experiment${exps.length === 1 ? '' : 's'}, oldest first: the params that differ between them and their metrics.</p>` +
      `<div class="scroll">${table(head, rows, 'exps')}</div>` + (charts.length ? `<h3>Sweeps</h3><div class="charts">${charts.join('')}</div>` : ''),
  };
}
