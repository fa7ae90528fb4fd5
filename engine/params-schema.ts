/**
 * The built-in kinds' params contracts as build outputs (run by
 * bin/build-params.ts, which hands over the registry):
 *
 * - pipeline.schema.json for editors: each kind's declared params under
 *   `definitions/params-<kind>`, applied with if/then on `uses`, each param
 *   also accepting a `${...}` string (the engine checks the value after
 *   interpolation). The engine's own shape check leaves these out
 *   ({@link shapeSchema}): engine/params-check.ts checks params with better
 *   messages, after `${...}` and `--set`.
 * - dist/engine/params-validate.cjs: the kinds' validators precompiled with
 *   ajv, so loading a pipeline does not pay ajv's load and compile (0.6 s or
 *   more for the built-in kinds, measured on a busy 2-core machine).
 */
import { pathToFileURL } from 'node:url';
import type { KindRegistry } from './graph.js';
import { AJV_OPTIONS, validatorName } from './params-check.js';
import type { ParamsSchema, StageKind } from './stage-api.js';

/** A built-in kind's name and declared params. */
export interface KindParams {
  readonly name: string;
  readonly params: ParamsSchema;
}

/** Every built-in kind that declares params, in registry order. */
export async function builtinParams(registry: KindRegistry): Promise<KindParams[]> {
  const out: KindParams[] = [];
  for (const name of registry.names()) {
    const module = registry.builtin(name);
    if (module === undefined) continue;
    const kind = ((await import(pathToFileURL(module).href)) as { default?: StageKind }).default;
    if (kind?.params) out.push({ name, params: kind.params });
  }
  return out;
}

/** The JSON shape the editor schema needs (the parts this module writes). */
interface SchemaShape {
  definitions: Record<string, unknown> & { stage: Record<string, unknown> };
}

/** `base` (pipeline.schema.json) with the kinds' params written in, replacing any from before. */
export function editorSchema(base: object, kinds: readonly KindParams[]): object {
  const schema = structuredClone(base) as SchemaShape;
  const defs = schema.definitions;
  for (const k of Object.keys(defs)) if (k.startsWith('params-')) delete defs[k];
  defs['interpolated'] = {
    type: 'string',
    pattern: '\\$\\{',
    description: 'A string with ${name} references to global params; pipe checks the value after interpolation.',
  };
  for (const k of kinds) defs[`params-${k.name}`] = editorParams(k.params);
  defs.stage['allOf'] = kinds.map((k) => ({
    if: { properties: { uses: { const: k.name } }, required: ['uses'] },
    then: { properties: { params: { $ref: `#/definitions/params-${k.name}` } } },
  }));
  return schema;
}

/** A declaration as editors see it: each param also accepts a `${...}` string. */
function editorParams(p: ParamsSchema): object {
  const properties: Record<string, object> = {};
  for (const [name, s] of Object.entries(p.properties)) {
    const { description, default: dflt, ...rule } = s;
    properties[name] = {
      description,
      ...(dflt !== undefined ? { default: dflt } : {}),
      anyOf: [rule, { $ref: '#/definitions/interpolated' }],
    };
  }
  return { ...p, description: 'Params of this stage kind (pipe checks them when it loads the pipeline).', properties };
}

/** The pipeline schema the engine checks a file's shape with: without the kinds' params. */
export function shapeSchema(schema: object): object {
  const s = structuredClone(schema) as SchemaShape;
  delete s.definitions.stage['allOf'];
  for (const k of Object.keys(s.definitions)) if (k.startsWith('params-') || k === 'interpolated') delete s.definitions[k];
  return s;
}

/** CommonJS source of the kinds' validators, one export per declaration (see validatorName). */
export async function precompiledValidators(kinds: readonly KindParams[]): Promise<string> {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const Ajv = require('ajv') as new (opts: object) => { addSchema(s: object, key: string): void };
  const standalone = require('ajv/dist/standalone') as { default: (ajv: unknown, refs: Record<string, string>) => string };
  const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
  const refs: Record<string, string> = {};
  for (const k of kinds) {
    const name = validatorName(k.params);
    if (name in refs) continue;
    ajv.addSchema(structuredClone(k.params), name);
    refs[name] = name;
  }
  return standalone.default(ajv, refs);
}
