/**
 * Loading stage modules: the one place where the engine (graph.ts, in the
 * main process) and the worker (worker.ts, in the stage's process) import a
 * stage kind's module.
 *
 * A module may be JavaScript or TypeScript (`.ts`, `.mts`). TypeScript is
 * loaded by stripping its types with a module loader hook: the first `.ts`
 * module registers this file's own {@link resolve} and {@link load} exports
 * with `module.register` (Node runs them in a loader thread); plain `.js`
 * pipelines never pay for it. Types are stripped with esbuild's `transform`,
 * or TypeScript's `transpileModule` when esbuild is not installed.
 *
 *   import(./stage.ts) --resolve--> ./helper.js written in a .ts file, only
 *                     |             ./helper.ts exists: resolves to helper.ts
 *                     --load-----> .ts/.mts: source -> esbuild (types stripped,
 *                                  inline source map) -> ES module
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { StageKind } from './stage-api.js';

/** File names whose modules are TypeScript. */
const TS_FILE = /\.m?ts$/;

let hooksRegistered = false;

async function registerTsHooks(): Promise<void> {
  if (hooksRegistered) return;
  hooksRegistered = true;
  const { register } = await import('node:module');
  // By name, not import.meta.url: the CLI bundle (dist/engine/pipe-cli.js) inlines this module.
  register(new URL('./load-module.js', import.meta.url));
}

/** Imports the module at the absolute path `path` (JavaScript or TypeScript). */
export async function importModule(path: string): Promise<unknown> {
  if (TS_FILE.test(path)) await registerTsHooks();
  return import(pathToFileURL(path).href);
}

const kinds = new Map<string, StageKind>();

/**
 * The stage kind that the module at `path` exports by default, loaded once
 * per process. Throws an Error whose message says what is wrong with the
 * module (the caller names the stage and the file).
 */
export async function loadStageKind(path: string): Promise<StageKind> {
  let kind = kinds.get(path);
  if (!kind) {
    const mod = (await importModule(path)) as { default?: Partial<StageKind> };
    const k = mod.default;
    if (!k || typeof k.run !== 'function' || typeof k.artifacts !== 'function') {
      throw new Error('its default export is not a stage kind (expected defineStage({ artifacts, run, ... }))');
    }
    kind = k as StageKind;
    kinds.set(path, kind);
  }
  return kind;
}

// ---- Loader hooks (run in Node's loader thread once registered) ----

type Resolved = { url: string; format?: string | null; shortCircuit?: boolean };
type NextResolve = (specifier: string, context: { parentURL?: string }) => Promise<Resolved>;
type Loaded = { format: string; source?: string | ArrayBuffer | Uint8Array | null; shortCircuit?: boolean };
type NextLoad = (url: string, context: { format?: string | null }) => Promise<Loaded>;

/**
 * Resolve hook: a relative `./x.js` imported by a TypeScript module resolves
 * to `./x.ts` when only that exists (TypeScript's NodeNext convention).
 */
export async function resolve(specifier: string, context: { parentURL?: string }, next: NextResolve): Promise<Resolved> {
  const parent = context.parentURL;
  if (parent && TS_FILE.test(parent) && /^\.\.?\//.test(specifier) && /\.m?js$/.test(specifier)) {
    const url = new URL(specifier, parent);
    if (!existsSync(fileURLToPath(url))) {
      const ts = new URL(specifier.replace(/js$/, 'ts'), parent);
      if (existsSync(fileURLToPath(ts))) return { url: ts.href, format: 'module', shortCircuit: true };
    }
  }
  return next(specifier, context);
}

/** Load hook: a `.ts`/`.mts` file is loaded as an ES module with its types stripped. */
export async function load(url: string, context: { format?: string | null }, next: NextLoad): Promise<Loaded> {
  if (!url.startsWith('file:') || !TS_FILE.test(new URL(url).pathname)) return next(url, context);
  const path = fileURLToPath(url);
  const source = await stripTypes(await readFile(path, 'utf8'), path);
  return { format: 'module', source, shortCircuit: true };
}

type Esbuild = { transform(code: string, o: object): Promise<{ code: string }> };
type Typescript = {
  transpileModule(code: string, o: object): { outputText: string };
  ModuleKind: { ESNext: number };
  ScriptTarget: { ES2022: number };
};

/**
 * TypeScript source -> JavaScript (ES module, inline source map), types
 * removed; `path` names the file in errors and the source map. `via` picks
 * the tool: esbuild when installed, else TypeScript (`'typescript'` forces it).
 */
export async function stripTypes(code: string, path: string, via: 'auto' | 'typescript' = 'auto'): Promise<string> {
  let esbuild: Esbuild | undefined;
  if (via === 'auto') {
    try {
      esbuild = (await import('esbuild' as string)) as Esbuild;
    } catch { /* fall back to TypeScript */ }
  }
  if (esbuild) {
    const out = await esbuild.transform(code, { loader: 'ts', format: 'esm', target: 'node20', sourcemap: 'inline', sourcefile: path });
    return out.code;
  }
  let ts: Typescript;
  try {
    ts = ((await import('typescript' as string)) as { default: Typescript }).default;
  } catch {
    throw new Error(`cannot load ${path}: a TypeScript stage module needs esbuild or typescript installed (npm install esbuild)`);
  }
  return ts.transpileModule(code, {
    fileName: path,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true, verbatimModuleSyntax: false },
  }).outputText;
}
