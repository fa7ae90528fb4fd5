/**
 * `pipe show STAGE[/ARTIFACT]`: what a stage's artifacts hold, as pipe.lock
 * recorded them: tensor files list each tensor's name, dtype and shape and
 * the metadata keys; JSON its top-level keys with their sizes; CSV its header
 * and row count; folders their files. With `--json`, one document
 * `{ok, artifacts: [ArtifactSummary]}`.
 */
import { findArtifacts, formatBytes, loadArtifact, summarize, type ArtifactSummary } from './artifact-info.js';
import { EXIT, report, type CommandEnv } from './commands.js';
import { openProject } from './project.js';

/** Runs `pipe show`; resolves to the exit code. */
export async function cmdShow(env: CommandEnv, specs: readonly string[]): Promise<number> {
  if (specs.length !== 1) return report(env, { reason: 'usage', message: '`pipe show` takes one STAGE or STAGE/ARTIFACT' });
  const p = await openProject(env.file, env.overrides, env.registry);
  if (!p.ok) return report(env, p.error);
  const found = findArtifacts(p.value, specs[0] as string);
  if (!found.ok) return report(env, found.error);
  const summaries: ArtifactSummary[] = [];
  for (const a of found.value) {
    const loaded = await loadArtifact(p.value, a);
    if (!loaded.ok) return report(env, loaded.error);
    summaries.push(summarize(loaded.value));
  }
  if (env.json) env.stdout.write(JSON.stringify({ ok: true, artifacts: summaries }, null, 2) + '\n');
  else env.stdout.write(summaries.map(formatSummary).join(''));
  return EXIT.ok;
}

/** The text `pipe show` prints for one artifact. */
export function formatSummary(s: ArtifactSummary): string {
  const lines = [`${s.stage}/${s.name}  ${s.format}  ${formatBytes(s.size)}  ${s.digest.slice(0, 19)}`];
  const table = (rows: string[][]): void => {
    const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
    for (const r of rows) lines.push(`  ${r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i] ?? 0) : c)).join('  ')}`.trimEnd());
  };
  switch (s.format) {
    case 'tensors':
      table((s.tensors ?? []).map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`]));
      if (s.metadata?.length) lines.push(`  metadata: ${s.metadata.join(', ')}`);
      break;
    case 'json':
      table((s.keys ?? []).map((k) => [k.key || '(value)', k.type, sizeWord(k.type, k.size)]));
      break;
    case 'csv':
      lines.push(`  header: ${(s.header ?? []).join(',')}`, `  rows: ${s.rows ?? 0}`);
      break;
    case 'dir':
      table((s.files ?? []).map((f) => [f.path, formatBytes(f.size)]));
      break;
    case 'file':
      break;
  }
  return lines.join('\n') + '\n';
}

function sizeWord(type: string, n: number): string {
  switch (type) {
    case 'array': return `${n} item${n === 1 ? '' : 's'}`;
    case 'object': return `${n} key${n === 1 ? '' : 's'}`;
    case 'string': return `${n} character${n === 1 ? '' : 's'}`;
    default: return '';
  }
}
