/**
 * Build step for the built-in kinds' params contracts (run by `npm run build`
 * after engine/build.ts): hands the stage registry to engine/params-schema.ts.
 *
 *   node dist/bin/build-params.js            writes dist/engine/params-validate.cjs
 *   node dist/bin/build-params.js --schema   also rewrites pipeline.schema.json
 *                                            (`npm run schema`; commit the result)
 *
 * test/params-schema.test.ts fails when the committed pipeline.schema.json
 * no longer matches the kinds' declarations.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { builtinParams, editorSchema, precompiledValidators } from '../engine/params-schema.js';
import { builtinKinds } from '../stages/index.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const kinds = await builtinParams(builtinKinds);
writeFileSync(here('../engine/params-validate.cjs'), await precompiledValidators(kinds));
if (process.argv.includes('--schema')) {
  const file = here('../../pipeline.schema.json');
  const schema = editorSchema(JSON.parse(readFileSync(file, 'utf8')) as object, kinds);
  writeFileSync(file, JSON.stringify(schema, null, 2) + '\n');
  process.stdout.write(`pipeline.schema.json: params of ${kinds.length} kinds\n`);
}
