/**
 * What a renderer is, as text for a render memo's key (memo.ts): the exact
 * version of every package its libraries load (their production dependency
 * closure, as Node resolves it from the renderer's module, optional ones
 * where installed) and a digest of its own code. Found by reading
 * package.json files, never by loading the libraries: a page whose charts
 * are all in the memo must not pay for vega's loading.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Whether `dir` has a node_modules folder, by folder (most package folders have none). */
const hasModules = new Map<string, boolean>();

/** The folder of package `name` as Node finds it from `dir` (node_modules up the tree), or undefined. */
function packageDir(name: string, dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    if (basename(d) !== 'node_modules') {
      let has = hasModules.get(d);
      if (has === undefined) hasModules.set(d, (has = existsSync(join(d, 'node_modules'))));
      const candidate = join(d, 'node_modules', name);
      if (has && existsSync(join(candidate, 'package.json'))) return candidate;
    }
    if (dirname(d) === d) return undefined;
  }
}

interface Manifest {
  readonly version?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

/**
 * `name@version` of every package in the dependency closure of `libs`
 * resolved from `fromDir`, sorted; a library that is not installed is
 * `name@missing` (its absence changes what renders too).
 */
export function libraryClosure(libs: readonly string[], fromDir: string): string[] {
  const seen = new Map<string, string>(); // package folder -> name@version
  const missing = new Set<string>();
  const queue = libs.map((name) => ({ name, from: fromDir, required: true }));
  for (let job = queue.pop(); job !== undefined; job = queue.pop()) {
    const dir = packageDir(job.name, job.from);
    if (dir === undefined) {
      if (job.required) missing.add(`${job.name}@missing`);
      continue;
    }
    if (seen.has(dir)) continue;
    const m = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
    seen.set(dir, `${job.name}@${m.version ?? '?'}`);
    for (const d of Object.keys(m.dependencies ?? {})) queue.push({ name: d, from: dir, required: true });
    // Optional and peer dependencies count where they are installed (sharp's platform binaries, a canvas).
    for (const d of Object.keys({ ...m.optionalDependencies, ...m.peerDependencies })) queue.push({ name: d, from: dir, required: false });
  }
  return [...new Set([...seen.values(), ...missing])].sort();
}

const memo = new Map<string, string>();

/**
 * The identity of a renderer whose module is `module` (a file URL), which
 * loads `libs` and whose output also depends on the code of `code` (file
 * URLs, its own module among them): libraries with versions, the platform,
 * and a digest of the code's text. Computed once per process.
 */
export function rendererId(module: string, libs: readonly string[], code: readonly string[]): string {
  const k = JSON.stringify([module, libs, code]);
  const known = memo.get(k);
  if (known !== undefined) return known;
  const h = createHash('sha256');
  for (const f of code) h.update(readFileSync(fileURLToPath(f)));
  const id = [...libraryClosure(libs, dirname(fileURLToPath(module))), `${process.platform}-${process.arch}`, `code:${h.digest('hex')}`].join(' ');
  memo.set(k, id);
  return id;
}
