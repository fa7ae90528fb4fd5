/**
 * `pipe export STAGE/ARTIFACT DIR`: writes an artifact into DIR in open
 * formats, named after the artifact (`<name>` below, without a `.json` or
 * `.csv` extension it already has):
 *
 *   tensors  <name>.safetensors as stored, <name>.<tensor>.npy for each tensor,
 *            <name>.metadata.json when it has metadata
 *   JSON     <name>.json; metrics-like JSON (a map of numbers and strings, or a
 *            list of such maps) also as <name>.csv
 *   CSV      <name>.csv as stored
 *   folder   <name>/ with its files
 *   other    <name> as stored
 *   metrics  STAGE/metrics, when the stage has no artifact of that name: its
 *            metrics from pipe.lock as metrics.json and metrics.csv
 *
 * Then every {@link ArtifactExporter} the composition root hands in may add
 * files of its own (the nerve workload writes masks as PNG images): the
 * engine knows formats, not what the tensors mean.
 */
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findArtifacts, loadArtifact, type LoadedArtifact } from './artifact-info.js';
import { EXIT, report, type CommandEnv } from './commands.js';
import { encodeNpy } from './npy.js';
import { openProject } from './project.js';

/**
 * A workload's own export of an artifact: given the artifact (decoded where
 * its format allows), writes extra files into `dir` and returns their names
 * relative to `dir`; an empty list when the artifact is not its kind. Heavy
 * modules (sharp) are imported inside `export`, only when needed.
 */
export interface ArtifactExporter {
  /** What it writes, e.g. "masks as PNG". */
  readonly describe: string;
  export(artifact: LoadedArtifact, dir: string): Promise<readonly string[]>;
}

/** Runs `pipe export`; resolves to the exit code. */
export async function cmdExport(env: CommandEnv, args: readonly string[], exporters: readonly ArtifactExporter[]): Promise<number> {
  const [spec, dir] = args;
  if (args.length !== 2 || spec === undefined || dir === undefined || !spec.includes('/')) {
    return report(env, { reason: 'usage', message: '`pipe export` takes STAGE/ARTIFACT and a folder: pipe export gate/masks out/' });
  }
  const opened = await openProject(env.file, env.overrides, env.registry);
  if (!opened.ok) return report(env, opened.error);
  const p = opened.value;
  const [stage, name] = [spec.slice(0, spec.indexOf('/')), spec.slice(spec.indexOf('/') + 1)];
  const entry = Object.hasOwn(p.env.lock, stage) ? p.env.lock[stage] : undefined;
  let files: string[];
  if (name === 'metrics' && entry && !Object.hasOwn(entry.outputs, 'metrics')) {
    await mkdir(dir, { recursive: true });
    files = await writeJsonAndCsv(dir, 'metrics', entry.metrics);
  } else {
    const found = findArtifacts(p, spec);
    if (!found.ok) return report(env, found.error);
    const loaded = await loadArtifact(p, found.value[0]!);
    if (!loaded.ok) return report(env, loaded.error);
    await mkdir(dir, { recursive: true });
    files = await exportArtifact(p.env.store, loaded.value, dir);
    for (const e of exporters) files.push(...(await e.export(loaded.value, dir)));
  }
  if (env.json) env.stdout.write(JSON.stringify({ ok: true, dir, files }, null, 2) + '\n');
  else env.stdout.write(files.map((f) => `${join(dir, f)}\n`).join(''));
  return EXIT.ok;
}

/** File-name-safe form of an artifact or tensor name. */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** Writes the open-format files of one artifact into `dir`; returns their names. */
async function exportArtifact(store: { restore(ref: LoadedArtifact['ref'], dest: string): Promise<void> }, a: LoadedArtifact, dir: string): Promise<string[]> {
  const base = safeName(a.name).replace(/\.(json|csv|safetensors)$/, '');
  switch (a.format) {
    case 'tensors': {
      const files = [`${base}.safetensors`];
      await copyOut(a.path, join(dir, files[0]!));
      for (const [name, t] of Object.entries(a.tensors?.tensors ?? {})) {
        const f = `${base}.${safeName(name)}.npy`;
        await writeFile(join(dir, f), encodeNpy(t));
        files.push(f);
      }
      const meta = a.tensors?.metadata ?? {};
      if (Object.keys(meta).length > 0) {
        await writeFile(join(dir, `${base}.metadata.json`), JSON.stringify(meta, null, 2) + '\n');
        files.push(`${base}.metadata.json`);
      }
      return files;
    }
    case 'json':
      return writeJsonAndCsv(dir, base, a.json);
    case 'csv':
      await copyOut(a.path, join(dir, `${base}.csv`));
      return [`${base}.csv`];
    case 'dir':
      await store.restore(a.ref, join(dir, base));
      return (a.files ?? []).map((f) => `${base}/${f.path}`);
    case 'file':
      await copyOut(a.path, join(dir, base));
      return [base];
  }
}

/** Copies a cache object out as an ordinary writable file (objects are read-only, and copyFile keeps the mode). */
async function copyOut(src: string, dest: string): Promise<void> {
  await copyFile(src, dest);
  await chmod(dest, 0o644);
}

type Scalar = string | number | boolean | null;
const isScalar = (v: unknown): v is Scalar => v === null || ['string', 'number', 'boolean'].includes(typeof v);
const isFlatMap = (v: unknown): v is Record<string, Scalar> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every(isScalar);

/** `<base>.json`, plus `<base>.csv` when the value is a table: a flat map (name,value rows) or a list of flat maps. */
async function writeJsonAndCsv(dir: string, base: string, value: unknown): Promise<string[]> {
  await writeFile(join(dir, `${base}.json`), JSON.stringify(value, null, 2) + '\n');
  let rows: Scalar[][] | undefined;
  if (isFlatMap(value) && Object.keys(value).length > 0) {
    rows = [['name', 'value'], ...Object.entries(value).map(([k, v]) => [k, v])];
  } else if (Array.isArray(value) && value.length > 0 && value.every(isFlatMap)) {
    const cols = [...new Set(value.flatMap((r) => Object.keys(r)))];
    rows = [cols, ...value.map((r) => cols.map((c) => r[c] ?? null))];
  }
  if (!rows) return [`${base}.json`];
  await writeFile(join(dir, `${base}.csv`), rows.map((r) => r.map(csvCell).join(',')).join('\n') + '\n');
  return [`${base}.json`, `${base}.csv`];
}

function csvCell(v: Scalar): string {
  const s = v === null ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
