/**
 * Build steps after `tsc` (run by `npm run build`):
 *
 * 1. Compiles pipeline.schema.json (without the kinds' params, see
 *    engine/params-schema.ts) with ajv into a standalone validator
 *    (dist/engine/pipeline-validate.cjs), so `pipe` does not pay ajv's schema
 *    compilation (~80 ms) on every start; engine/schema.ts falls back to
 *    compiling at run time when it is missing. The kinds' params validators
 *    are precompiled by the next step, bin/build-params.ts.
 * 2. Bundles the CLI and its light dependencies (yaml) into one file
 *    (dist/engine/pipe-cli.js, from the entry dist/bin/main.js) with esbuild, which saves ~50 ms of module
 *    loading per start. The bundle sits beside the modules it replaces, so
 *    `import.meta.url`-relative paths stay right; stage modules, the worker
 *    and lazily loaded packages stay outside it. Without esbuild (a
 *    production install) bin/pipe.js runs dist/bin/main.js instead.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { shapeSchema } from './params-schema.js';

const require = createRequire(import.meta.url);
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

const Ajv = require('ajv') as new (opts: object) => { compile(s: object): unknown };
const standalone = require('ajv/dist/standalone') as { default: (ajv: unknown, fn: unknown) => string };
const schema = shapeSchema(JSON.parse(readFileSync(here('../../pipeline.schema.json'), 'utf8')) as object);
const ajv = new Ajv({ allErrors: true, strict: false, code: { source: true } });
writeFileSync(here('./pipeline-validate.cjs'), standalone.default(ajv, ajv.compile(schema)));

type Esbuild = { build(o: object): Promise<unknown> };
let esbuild: Esbuild | undefined;
try {
  esbuild = (await import('esbuild' as string)) as Esbuild;
} catch {
  rmSync(here('./pipe-cli.js'), { force: true });
  process.stderr.write('pipe build: esbuild not installed; the CLI runs unbundled\n');
}
if (esbuild) {
  await esbuild.build({
    entryPoints: [here('../bin/main.js')],
    outfile: here('./pipe-cli.js'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'warning',
    // Loaded lazily, or located by path at run time: keep them out.
    // The bundle sits in dist/engine/ (one level below dist/, like bin/main.js), so
    // import.meta.url-relative paths and the external '../stages/*' stay right.
    // The AWS SDK (an s3:// remote only, imported lazily) is ~1.4 MB of the bundle's ~2 MB: parsed on every start if bundled.
    external: ['execa', 'p-queue', 'chokidar', 'ajv', 'vega', 'vega-lite', '@resvg/resvg-js', '@aws-sdk/*', '@smithy/*', './pipeline-validate.cjs', './params-validate.cjs', '../stages/*', './watch.js'],
    banner: { js: "import { createRequire as __pipeRequire } from 'node:module'; const require = __pipeRequire(import.meta.url);" },
  });
}
