/**
 * `pipe report [--out DIR] [--open] [--exp ID]`: the report page of the
 * workspace's lock, built from the artifacts it names in the cache, with the
 * pipeline's state and the recorded experiments added to what the `report`
 * stage shows. Writes `DIR/index.html` (default `report/`), one
 * self-contained file, and nothing else.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ExtraCommandEnv } from '../../engine/cli.js';
import { EXIT, report as reportFailure } from '../../engine/commands.js';
import { selectStages } from '../../engine/executor.js';
import type { LockEntry } from '../../engine/lockfile.js';
import { planStages } from '../../engine/plan.js';
import { heldHeader } from '../../engine/exp/status.js';
import { openForStatus, stageState } from '../../engine/status.js';
import { memoNote, REPORT_DEFAULTS } from '../report.js';
import { esc } from './html.js';
import { pipelineSection, type StageRow } from './pipeline-section.js';

function usage(env: ExtraCommandEnv, message: string): number {
  return reportFailure(env, { reason: 'usage', message });
}

const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);

/** Runs `pipe report` (see stages/commands.ts for its flags). */
export async function runReport(args: readonly string[], env: ExtraCommandEnv): Promise<number> {
  const t0 = performance.now();
  if (args.length > 0) return usage(env, '`pipe report` takes no arguments (flags: --out DIR, --open, --exp ID)');
  const outDir = typeof env.options.out === 'string' ? env.options.out : 'report';
  if (outDir === '') return usage(env, '--out expects a folder');
  const human = env.json ? env.stderr : env.stdout;
  // The project as `pipe status` sees it: a lock made with --set overrides is planned with them.
  const opened = await openForStatus(env.file, env.overrides, env.registry);
  if (!opened.ok) return reportFailure(env, opened.error);
  const { project: p, held } = opened.value;
  const { experimentsSection, loadExperiments } = await import('./experiments-section.js');
  const { RenderMemo } = await import('./memo.js');
  const exps = loadExperiments(p.dotDir);
  let lock: Readonly<Record<string, LockEntry>> = p.env.lock;
  let source = basename(p.lockPath);
  if (typeof env.options.exp === 'string') {
    const { ExperimentStore } = await import('../../engine/exp/store.js');
    const f = new ExperimentStore(p.dotDir).find(env.options.exp);
    if ('error' in f) return usage(env, f.error);
    lock = f.exp.lock.stages;
    source = `experiment ${f.exp.name} (${f.exp.id})`;
  }
  // Charts and tiles drawn before come from the memo; an experiment's page keeps its own list, so it does not prune the workspace's.
  const memo = new RenderMemo(p.layout.render, typeof env.options.exp === 'string' ? 'pipe-report-exp' : 'pipe-report');
  if (Object.keys(lock).length === 0) return usage(env, `${source} records no run yet: run \`pipe run\` first`);

  // The pipeline's state now, as `pipe status` says it, and the cache state of what the lock names.
  const plan = await planStages(p.graph, p.env, selectStages(p.graph, []), new Set());
  const rows: StageRow[] = [];
  for (const s of plan) {
    const g = p.graph.stages.get(s.stage);
    const entry = lock[s.stage];
    const cached = entry ? (await Promise.all(Object.values(entry.outputs).map((r) => p.env.store.has(r)))).every(Boolean) : undefined;
    rows.push({
      stage: s.stage, kind: g?.runner.type === 'module' ? g.runner.uses : 'cmd', needs: g?.needs ?? [], state: stageState(s.action), why: s.why,
      ...(entry ? { entry } : {}), ...(cached === undefined ? {} : { cached }),
    });
  }

  // The artifacts the page reads, from the lock's outputs, when they are in the cache.
  const { buildReport, REPORT_ARTIFACTS } = await import('./build.js');
  const sources: Record<string, string> = {};
  const missing: string[] = [];
  let gate: LockEntry | undefined;
  for (const entry of Object.values(lock)) {
    for (const name of REPORT_ARTIFACTS) {
      const ref = entry.outputs[name];
      if (ref === undefined) continue;
      if (name === 'masks') gate = entry;
      if (await p.env.store.has(ref)) sources[name] = await p.env.store.view(ref);
      else missing.push(name);
    }
  }
  if (missing.length) human.write(`report: not in the cache (run \`pipe run\` to restore them): ${missing.join(', ')}\n`);
  const reportEntry = Object.values(lock).find((e) => e.kind === 'report');
  const rp = reportEntry?.params ?? {};
  let last = 0;
  const built = await buildReport({
    sources,
    fallbackThresholds: { threshold: num(gate?.params.threshold, 0.3), clsThreshold: num(gate?.params.cls_threshold, 0.5) },
    samples: num(rp.samples, REPORT_DEFAULTS.samples), worst: num(rp.worst, REPORT_DEFAULTS.worst), seed: num(rp.seed, REPORT_DEFAULTS.seed),
    title: `pipe report: ${basename(p.root)}`,
    subtitle: `${source} of <code>${relative(process.cwd(), env.file) || env.file}</code>` +
      (held ? ` · ${esc(heldHeader(held))} (states as planned with them)` : '') +
      ` · built ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    before: [pipelineSection(rows, relative(p.root, resolve(env.file)), basename(p.lockPath))],
    after: [await experimentsSection(exps, memo)],
    progress: (done, total) => {
      // A line at each quarter: enough to see it move without flooding a log.
      const q = Math.floor((4 * done) / total);
      if (q > last) {
        last = q;
        human.write(`report: ${done}/${total} charts and images\n`);
      }
    },
    memo,
  });
  await memo.finish();
  const dir = resolve(outDir);
  const file = join(dir, 'index.html');
  await mkdir(dir, { recursive: true });
  await writeFile(file, built.html);
  const seconds = (performance.now() - t0) / 1000;
  const shown = relative(process.cwd(), file) || file;
  human.write(`wrote ${shown}: ${built.charts} charts, ${built.images} images (${memoNote(memo.stats)}), ${(built.html.length / 1e6).toFixed(2)} MB in ${seconds.toFixed(1)} s\n`);
  if (env.json) {
    env.stdout.write(JSON.stringify({
      ok: true, path: file, charts: built.charts, images: built.images, bytes: built.html.length, duration_ms: Math.round(seconds * 1000),
      ...(built.val ? { val_dice: built.val.valDice, val_dice_unet: built.val.valDiceUnet, empty_baseline: built.val.emptyBaseline } : {}),
    }, null, 2) + '\n');
  }
  if (env.options.open === true) openInBrowser(file, human);
  return EXIT.ok;
}

/** Opens `file` with the desktop's opener; says where the page is when there is none. */
function openInBrowser(file: string, out: { write(t: string): void }): void {
  const url = pathToFileURL(file).href;
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  const child = spawn(cmd, args as string[], { detached: true, stdio: 'ignore' });
  child.on('error', () => out.write(`report: cannot start ${cmd}; open ${url} in a browser\n`));
  child.unref();
}
