/**
 * Build step: compiles pipeline.schema.json with ajv into a standalone
 * validator module (dist/engine/pipeline-validate.cjs), so `pipe` does not pay
 * ajv's schema compilation (~80 ms) on every start. Run by `npm run build`;
 * engine/schema.ts falls back to compiling at run time when it is missing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Ajv = require('ajv') as new (opts: object) => { compile(s: object): unknown };
const standalone = require('ajv/dist/standalone') as { default: (ajv: unknown, fn: unknown) => string };
const schema = JSON.parse(readFileSync(new URL('../../pipeline.schema.json', import.meta.url), 'utf8')) as object;
const ajv = new Ajv({ allErrors: true, strict: false, code: { source: true } });
const code = standalone.default(ajv, ajv.compile(schema));
writeFileSync(new URL('./pipeline-validate.cjs', import.meta.url), code);
