/**
 * `node --import <this file>`: records every module the process loads into
 * the file named by PIPE_TRACE_IMPORTS, one per line, so tests and
 * benchmarks can check that a command never loads TensorFlow.js, sharp or
 * vega: ES modules by their resolved URL (loader hooks), and CommonJS
 * `require` calls, which those hooks never see (vega is required), by the
 * file they resolve to (or the request, when it does not resolve).
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

register('./trace-imports-hooks.js', import.meta.url);

type Load = (request: string, parent: unknown, isMain: boolean) => unknown;
interface CjsLoader { _load: Load; _resolveFilename(request: string, parent: unknown, isMain: boolean): string }
const Module = createRequire(import.meta.url)('node:module') as CjsLoader;
const load = Module._load;
Module._load = function (this: unknown, request: string, parent: unknown, isMain: boolean): unknown {
  const into = process.env['PIPE_TRACE_IMPORTS'];
  if (into) {
    let name = request;
    try {
      name = Module._resolveFilename(request, parent, isMain);
    } catch {
      /* not resolvable: record the request as written */
    }
    appendFileSync(into, `${name}\n`);
  }
  return load.call(this, request, parent, isMain);
};
