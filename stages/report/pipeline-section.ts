/**
 * The pipeline section of `pipe report`: the DAG in topological order, each
 * stage with its state now (as `pipe status` says it), its last run's
 * duration, whether its outputs are in the cache, its params and metrics,
 * from the lock.
 */
import type { LockEntry } from '../../engine/lockfile.js';
import type { ParamValue } from '../../engine/stage-api.js';
import { esc, metricNum, table, type Section } from './html.js';

/** One stage's row. */
export interface StageRow {
  readonly stage: string;
  readonly kind: string;
  readonly needs: readonly string[];
  /** fresh | stale | restorable | error, as `pipe status` says. */
  readonly state: string;
  readonly why: readonly string[];
  /** The lock's entry: what last ran. */
  readonly entry?: LockEntry;
  /** Whether every output of the entry is in the local cache. */
  readonly cached?: boolean;
}

function paramText(v: ParamValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** The section: a table of the stages, the total time of the last runs. */
export function pipelineSection(rows: readonly StageRow[], file: string, lockName: string): Section {
  const body = rows.map((r) => {
    const e = r.entry;
    const params = e ? Object.entries(e.params).map(([k, v]) => `${esc(k)}=${esc(paramText(v))}`).join(' · ') : '';
    const metrics = e ? Object.entries(e.metrics).filter(([, v]) => typeof v === 'number')
      .map(([k, v]) => `${esc(k)} ${metricNum(r.kind, k, v as number)}`).join(' · ') : '';
    const state = r.state === 'fresh' ? 'fresh' : r.state === 'restorable' ? 'restorable' : e ? 'stale' : 'never';
    const stateText = e ? r.state : 'never run';
    return [
      `<b>${esc(r.stage)}</b>`,
      esc(r.kind),
      esc(r.needs.join(', ')),
      `<span class="state ${state}" title="${esc(r.why.join('; '))}">${esc(stateText)}</span>`,
      `<span class="r">${e ? esc(duration(e.duration_ms)) : ''}</span>`,
      e ? (r.cached ? 'in cache' : '<b>missing</b>') : '',
      `<span class="params">${params}</span>`,
      `<span class="params">${metrics}</span>`,
    ];
  });
  const total = rows.reduce((s, r) => s + (r.entry?.duration_ms ?? 0), 0);
  const stale = rows.filter((r) => r.state !== 'fresh').length;
  const summary = `${rows.length} stages from <code>${esc(file)}</code>; ${stale === 0 ? 'everything is up to date' : `${stale} would run or be restored by <code>pipe run</code>`}; ` +
    `the last runs in <code>${esc(lockName)}</code> took ${esc(duration(total))} in all. Hover a state for why.`;
  return {
    id: 'pipeline', title: 'Pipeline',
    body: `<p class="note">${summary}</p><div class="scroll">` +
      table(['stage', 'kind', 'needs', 'state', 'last run', 'outputs', 'params (as last run)', 'metrics'], body, 'dag') + '</div>',
  };
}

