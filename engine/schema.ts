/**
 * Validates raw pipeline data against pipeline.schema.json (shipped at the
 * package root so editors can autocomplete it) and turns ajv's errors into
 * diagnostics that say what was found and what was expected, at the node.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Diagnostic, Location } from './diagnostic.js';
import { shapeSchema } from './params-schema.js';

type Where = (path: readonly (string | number)[], key?: boolean) => Location | undefined;

/** One error as ajv reports it (the fields the diagnostics read). */
export interface AjvError {
  readonly instancePath: string;
  readonly schemaPath: string;
  readonly keyword: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly message?: string;
}
/** A compiled ajv validator (precompiled module export or `ajv.compile`). */
export type Validate = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

let compiled: Validate | undefined;
let schemaJson: { definitions: { stage: { properties: Record<string, unknown> } } } | undefined;

/** The schema object as shipped. */
export function pipelineSchema(): typeof schemaJson & object {
  schemaJson ??= JSON.parse(readFileSync(new URL('../../pipeline.schema.json', import.meta.url), 'utf8'));
  return schemaJson as typeof schemaJson & object;
}

function validator(): Validate {
  if (compiled) return compiled;
  const require = createRequire(import.meta.url);
  try {
    // Precompiled by `npm run build` (engine/build.ts).
    compiled = require('./pipeline-validate.cjs') as Validate;
  } catch {
    const Ajv = require('ajv') as new (opts: object) => { compile(s: object): Validate };
    compiled = new Ajv({ allErrors: true, strict: false }).compile(shapeSchema(pipelineSchema()));
  }
  return compiled;
}

/** What a found value is, in words for a message ("a map", `the string "x"`, "number 3"). */
export function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}

/** The value at a path of keys and list indexes into `data` (undefined where it stops). */
export function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let cur = data;
  for (const p of path) cur = (cur as Record<string | number, unknown> | undefined)?.[p];
  return cur;
}

/** An ajv instance path ("/a/b~1c") as its unescaped keys (["a", "b/c"]). */
export function pointerKeys(instancePath: string): string[] {
  return instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function describePath(path: readonly (string | number)[]): string {
  if (path[0] === 'stages' && path.length >= 2) {
    const rest = path.slice(2);
    return `stage "${String(path[1])}"` + (rest.length ? ` key "${rest.join('.')}"` : '');
  }
  return path.length ? `"${path.join('.')}"` : 'the top level';
}

/** Diagnostics for every shape error in `data` (empty when valid). */
export function schemaErrors(data: unknown, where: Where): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  const push = (message: string, location: Location | undefined): void => {
    const k = `${message}@${location?.line}:${location?.column}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push({ message, ...(location ? { location } : {}) });
    }
  };
  // uses/cmd exclusivity, checked by hand for a clear message.
  const stages = (data as { stages?: unknown }).stages;
  if (stages && typeof stages === 'object' && !Array.isArray(stages)) {
    for (const [name, s] of Object.entries(stages as Record<string, unknown>)) {
      if (!s || typeof s !== 'object' || Array.isArray(s)) continue;
      const has = (k: string): boolean => Object.hasOwn(s, k);
      if (has('uses') && has('cmd')) push(`stage "${name}" has both "uses" and "cmd": expected exactly one`, where(['stages', name, 'cmd'], true));
      else if (!has('uses') && !has('cmd')) push(`stage "${name}" has neither "uses" (a built-in kind) nor "cmd" (a shell command)`, where(['stages', name], true));
    }
  }
  const validate = validator();
  if (validate(data)) return out;
  for (const e of validate.errors ?? []) {
    const path = pointerKeys(e.instancePath);
    if (e.schemaPath.startsWith('#/definitions/stage/oneOf')) continue; // uses/cmd: reported above
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = String(e.params['additionalProperty']);
        const allowed = path.length === 2 && path[0] === 'stages'
          ? Object.keys(pipelineSchema().definitions.stage.properties)
          : path.length === 0 ? Object.keys((pipelineSchema() as { properties?: object }).properties ?? {}) : [];
        push(`unknown key "${key}" in ${describePath(path)}` + (allowed.length ? ` (expected one of: ${allowed.join(', ')})` : ''), where([...path, key], true));
        break;
      }
      case 'required':
        push(`${describePath(path)} is missing required key "${String(e.params['missingProperty'])}"`, where(path, true));
        break;
      case 'type':
        push(`${describePath(path)}: expected ${String(e.params['type'])}, found ${typeOf(valueAt(data, path))}`, where(path));
        break;
      case 'oneOf':
        if (path[path.length - 1] === 'cmd') push(`${describePath(path)}: expected a string or a list of strings, found ${typeOf(valueAt(data, path))}`, where(path));
        break;
      case 'pattern':
        // The stage-name pattern is reported with its propertyNames error.
        if (path[2] === 'artifacts') push(`${describePath(path)}: artifact name ${JSON.stringify(valueAt(data, path))} is not allowed: expected letters, digits, "_", "." or "-" (a file name, no "/")`, where(path.map((p) => (/^\d+$/.test(p) ? Number(p) : p))));
        break;
      case 'propertyNames': {
        const name = String(e.params['propertyName']);
        push(`stage name "${name}" is not allowed: expected letters, digits, "_" or "-", starting with a letter or "_"`, where([...path, name], true));
        break;
      }
      case 'minProperties':
        push(`${describePath(path)} is empty: expected at least one stage`, where(path, true));
        break;
      case 'minLength':
      case 'minItems':
        push(`${describePath(path)}: must not be empty`, where(path));
        break;
      case 'uniqueItems':
        push(`${describePath(path)}: lists the same ${path[2] === 'artifacts' ? 'artifact' : 'stage'} twice`, where(path));
        break;
      default:
        push(`${describePath(path)}: ${e.message ?? e.keyword}`, where(path));
    }
  }
  if (out.length === 0) out.push({ message: 'pipeline does not match pipeline.schema.json' });
  return out;
}
