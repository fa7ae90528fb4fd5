/**
 * Loggers turn engine events into text for people. In --json mode the text
 * goes to stderr and stdout carries only the final JSON document.
 */
import type { EngineEvent } from './events.js';
import type { StageResult } from './executor.js';

/** Where text goes. */
export interface Out {
  write(text: string): void;
}

/** "1m05s", "12.3s", "340ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${r}s` : `${m}m${r}s`;
}

/** A text logger: one line per event, progress with percentage and ETA. */
export function textLogger(out: Out): (e: EngineEvent) => void {
  return (e) => {
    switch (e.type) {
      case 'stage-start':
        out.write(`${e.action === 'run' ? 'run' : 'restore'} ${e.stage}${e.why.length ? `: ${e.why.join('; ')}` : ''}\n`);
        break;
      case 'stage-output':
        out.write(`[${e.stage}] ${e.line}\n`);
        break;
      case 'stage-progress': {
        const { done, total, unit, note } = e.progress;
        const pct = total > 0 ? Math.floor((100 * done) / total) : 0;
        const eta = done > 0 && done < total ? `, ETA ${formatDuration((e.elapsedMs / done) * (total - done))}` : '';
        out.write(`[${e.stage}] ${done}/${total} ${unit ?? ''} (${pct}%${eta})${note ? ` ${note}` : ''}\n`.replace(/ +\(/, ' ('));
        break;
      }
      case 'stage-end': {
        const metrics = e.metrics && Object.keys(e.metrics).length
          ? `  ${Object.entries(e.metrics).map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`).join(' ')}`
          : '';
        const line = e.status === 'fresh' ? `fresh ${e.stage}`
          : e.status === 'ran' ? `done ${e.stage}: ran in ${formatDuration(e.durationMs)}${metrics}`
          : e.status === 'restored' ? `done ${e.stage}: restored from the cache${metrics}`
          : e.status === 'failed' ? `FAILED ${e.stage}: ${e.message ?? ''}`
          : `skipped ${e.stage}: ${e.message ?? ''}`;
        out.write(`${line}\n`);
        break;
      }
      case 'note':
        out.write(`${e.level === 'warn' ? 'warning: ' : ''}${e.stage ? `[${e.stage}] ` : ''}${e.message}\n`);
        break;
    }
  };
}

/** "3 ran, 1 restored, 4 fresh, 1 failed, 2 skipped in 12.3s" (zero counts left out, but ran). */
export function summary(results: readonly StageResult[], ms: number): string {
  const count = (s: StageResult['status']): number => results.filter((r) => r.status === s).length;
  const parts = [`${count('ran')} ran`];
  for (const s of ['restored', 'fresh', 'failed', 'skipped'] as const) if (count(s)) parts.push(`${count(s)} ${s}`);
  return `${parts.join(', ')} in ${formatDuration(ms)}`;
}
