/**
 * A stage's params against its kind's contract ({@link StageKind.params}),
 * checked when the pipeline loads, before anything plans or runs:
 *
 *   stage params (interpolated, stage --set applied)
 *     --the kind's JSON Schema (precompiled for built-ins, else ajv)-->
 *       valid:   the params with the declared defaults filled in; these go
 *                into the stage key and pipe.lock, so stating a default and
 *                omitting it are the same stage
 *       invalid: one Diagnostic per problem, at the param in pipeline.yaml
 *                or naming the --set that caused it; unknown names get a
 *                did-you-mean
 *
 * What is checked: the stage's own `params:` block and the `--set
 * STAGE.NAME=VALUE` overrides aimed at it. Global params reach a stage only
 * through `${name}`, so a global param is never "unknown" to a kind. A stage
 * whose kind declares nothing (a cmd stage, a user module without `params`)
 * keeps its params as written.
 */
import { createRequire } from 'node:module';
import { canonicalJson, hashBytes } from '../cache/digest.js';
import type { PipelineConfig, StageConfig } from './config.js';
import type { Diagnostic } from './diagnostic.js';
import { closest } from './did-you-mean.js';
import { fail, ok, type Result } from './result.js';
import { pointerKeys, typeOf, valueAt, type AjvError, type Validate } from './schema.js';
import type { ParamsSchema, ParamValue, StageKind } from './stage-api.js';

/**
 * The export name of a declaration's validator in the precompiled module
 * (dist/engine/params-validate.cjs, written by `npm run build`): a hash of
 * its canonical JSON, so an edited declaration never meets a stale validator.
 */
export function validatorName(schema: ParamsSchema): string {
  return `params_${hashBytes(canonicalJson(schema)).slice(7, 39)}`;
}

/** Options every params validator is compiled with (the build uses them too). */
export const AJV_OPTIONS = { allErrors: true, useDefaults: true, strict: false } as const;

const require = createRequire(import.meta.url);
const validators = new WeakMap<ParamsSchema, Validate>();
let precompiled: Readonly<Record<string, Validate>> | undefined;
let ajv: { compile(schema: object): Validate } | undefined;

/** The validator of a declaration: precompiled if the build saw it, else compiled now (loading ajv alone costs 0.2 s or more). */
function validatorFor(schema: ParamsSchema): Validate {
  let v = validators.get(schema);
  if (v) return v;
  if (precompiled === undefined) {
    try {
      precompiled = require('./params-validate.cjs') as Record<string, Validate>;
    } catch {
      precompiled = {};
    }
  }
  v = precompiled[validatorName(schema)];
  if (!v) {
    const Ajv = require('ajv') as new (opts: object) => { compile(schema: object): Validate };
    ajv ??= new Ajv(AJV_OPTIONS);
    v = ajv.compile(structuredClone(schema));
  }
  validators.set(schema, v);
  return v;
}

/**
 * `stage` with its params checked against `kind` and the defaults filled in,
 * or every problem found. `uses` names the kind in messages.
 */
export function checkParams(config: PipelineConfig, stage: StageConfig, kind: StageKind, uses: string): Result<StageConfig, Diagnostic[]> {
  if (kind.params === undefined) return ok(stage);
  let validate: Validate;
  try {
    validate = validatorFor(kind.params);
  } catch (e) {
    return fail([{
      message: `stage "${stage.name}": kind ${uses} declares params that are not a valid JSON Schema: ${e instanceof Error ? e.message : String(e)}`,
      location: config.where(['stages', stage.name, 'uses']),
    }]);
  }
  const params = structuredClone(stage.params) as Record<string, ParamValue>;
  if (validate(params)) return ok({ ...stage, params });
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    const d = diagnostic(config, stage, kind.params, uses, e);
    const k = `${d.message}@${d.location?.line}:${d.location?.column}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(d);
    }
  }
  if (out.length === 0) out.push({ message: `params of stage "${stage.name}" do not match kind ${uses}`, location: config.where(['stages', stage.name, 'params'], true) });
  return fail(out);
}

function diagnostic(config: PipelineConfig, stage: StageConfig, schema: ParamsSchema, uses: string, e: AjvError): Diagnostic {
  const path = instancePath(stage.params, e.instancePath);
  const unknown = e.keyword === 'additionalProperties' ? String(e.params['additionalProperty']) : undefined;
  const full = unknown !== undefined ? [...path, unknown] : path;
  const param = full.length ? `"${full.join('.')}"` : 'params';
  const where = `of stage "${stage.name}" (kind ${uses})`;
  let message: string;
  if (e.keyword === 'required' && path.length === 0) {
    message = `stage "${stage.name}" (kind ${uses}) is missing required param "${String(e.params['missingProperty'])}"`;
  } else if (unknown !== undefined && path.length === 0) {
    const known = Object.keys(schema.properties);
    const hint = closest(unknown, known);
    message = `unknown param "${unknown}" ${where}; ` + (hint ? `did you mean "${hint}"?` : known.length ? `its params: ${known.join(', ')}` : 'it takes no params');
  } else {
    message = `param ${param} ${where}: ${problem(e, valueAt(stage.params, path), unknown)}`;
  }
  // A --set aimed at this param decides its value: name it rather than the file.
  const set = config.overrides.find((o) => o.path[0] === stage.name && o.path[1] === full[0]);
  if (set) return { message: `--set ${set.text}: ${message}` };
  const location = config.where(['stages', stage.name, 'params', ...full], unknown !== undefined);
  return location ? { message: message + viaGlobal(config, stage, full), location } : { message };
}

/** The ajv instance path as keys and list indexes into `data`. */
function instancePath(data: unknown, p: string): (string | number)[] {
  const out: (string | number)[] = [];
  let cur = data;
  for (const seg of pointerKeys(p)) {
    const key = Array.isArray(cur) && /^\d+$/.test(seg) ? Number(seg) : seg;
    out.push(key);
    cur = (cur as Record<string | number, unknown> | undefined)?.[key];
  }
  return out;
}

const TYPE_WORDS: Readonly<Record<string, string>> = {
  integer: 'an integer', number: 'a number', boolean: 'true or false', string: 'a string', array: 'a list', object: 'a map', null: 'null',
};

/** {@link typeOf}, with a list's items shown. */
function found(v: unknown): string {
  return Array.isArray(v) ? `the list ${JSON.stringify(v)}` : typeOf(v);
}

/** What is wrong with the value, in words. */
function problem(e: AjvError, value: unknown, unknown: string | undefined): string {
  const p = e.params;
  switch (e.keyword) {
    case 'type': {
      const types = String(p['type']).split(',').map((t) => TYPE_WORDS[t] ?? t);
      return `expected ${types.join(' or ')}, found ${found(value)}`;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${String(p['comparison'])} ${String(p['limit'])}, found ${String(value)}`;
    case 'enum': {
      const allowed = (p['allowedValues'] as unknown[] | undefined) ?? [];
      const hint = typeof value === 'string' ? closest(value, allowed.filter((a): a is string => typeof a === 'string')) : undefined;
      return `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, found ${found(value)}` + (hint ? `; did you mean "${hint}"?` : '');
    }
    case 'minItems':
      return `must have at least ${String(p['limit'])} item(s), found ${Array.isArray(value) ? value.length : 0}`;
    case 'additionalProperties':
      return `has an unknown key "${unknown ?? ''}"`;
    case 'required':
      return `is missing required key "${String(p['missingProperty'])}"`;
    default:
      return `${e.message ?? e.keyword}, found ${found(value)}`;
  }
}

/**
 * When the value came from `${name}` and `--set name=...` changed that global
 * (directly or through the globals it refers to), say so: the config knows
 * which --set texts went into each param ({@link PipelineConfig.setsAt}).
 */
function viaGlobal(config: PipelineConfig, stage: StageConfig, path: readonly (string | number)[]): string {
  if (path.length === 0) return '';
  const sets = config.setsAt(['stages', stage.name, 'params', path[0] as string | number]);
  const globals = config.overrides.filter((o) => sets.includes(o.text) && !config.stages.has(o.path[0] ?? ''));
  if (globals.length === 0) return '';
  return ` (from ${globals.map((o) => `\${${o.path.join('.')}}`).join(', ')}, set by ${globals.map((o) => `--set ${o.text}`).join(', ')})`;
}
