/**
 * Declaring a stage kind's params (its contract with pipeline.yaml) and
 * reading them typed.
 *
 * A kind declares each param once, with its type, range, default and meaning:
 *
 *   export const GATE_PARAMS = declareParams({
 *     min_pixels: int('...', 100, { minimum: 0 }),
 *   });
 *   defineStage({ params: GATE_PARAMS, ... })
 *
 * The declaration is plain JSON Schema: the engine checks pipeline.yaml
 * against it at load time (engine/params-check.ts) and pipeline.schema.json
 * embeds it for editors (`npm run schema`). {@link readParams} gives the
 * kind's code the values typed; it fills defaults and checks the same rules
 * again, because tests and benchmarks call the kinds' functions directly,
 * without the engine. Cross-field rules (base_filters a multiple of 4, a
 * split that leaves both sides non-empty) stay in the kinds' code.
 */
import type { ParamSchema, ParamsSchema, ParamValue, Params } from '../../engine/stage-api.js';

/** A declared param whose value has type `T` (phantom, for {@link readParams}). */
export type Param<T> = ParamSchema & { readonly __value?: T };

/** The declared params of a kind: JSON Schema with the value types attached. */
export type Declared<P extends Record<string, Param<unknown>>> = ParamsSchema & {
  readonly additionalProperties: false;
  readonly properties: P;
};

/** Resolved values of declared params, by name. */
export type Values<P> = { readonly [K in keyof P]: P[K] extends Param<infer T> ? Exclude<T, undefined> : never };

/** JSON Schema bounds of a number. */
export interface Range {
  readonly minimum?: number;
  readonly maximum?: number;
  /** Strictly greater than this. */
  readonly exclusiveMinimum?: number;
}

/** A number param. */
export function num(description: string, dflt: number, range: Range = {}): Param<number> {
  return { type: 'number', ...range, default: dflt, description };
}

/** An integer param. */
export function int(description: string, dflt: number, range: Range = {}): Param<number> {
  return { type: 'integer', ...range, default: dflt, description };
}

/** An optional integer param: null (the default) means "not set". */
export function optInt(description: string, range: Range = {}): Param<number | null> {
  return { type: ['integer', 'null'], ...range, default: null, description };
}

/** A boolean param. */
export function bool(description: string, dflt: boolean): Param<boolean> {
  return { type: 'boolean', default: dflt, description };
}

/** A string param. */
export function str(description: string, dflt: string): Param<string> {
  return { type: 'string', default: dflt, description };
}

/** A string param that takes one of `values`. */
export function oneOf<const V extends string>(description: string, values: readonly V[], dflt: V): Param<V> {
  return { type: 'string', enum: values, default: dflt, description };
}

/** A non-empty list of positive integers, e.g. `widths: [16, 32, 64]`. */
export function intList(description: string, dflt: readonly number[]): Param<number[]> {
  return { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, default: dflt, description };
}

/** The params of a kind: these and no others. */
export function declareParams<P extends Record<string, Param<unknown>>>(properties: P): Declared<P> {
  return { type: 'object', additionalProperties: false, properties };
}

/** The `backend` param of the model stages. */
export const BACKEND = oneOf(
  'TensorFlow.js backend: auto picks the fastest available (gpu, then node, then wasm, then cpu)',
  ['auto', 'gpu', 'node', 'wasm', 'cpu'], 'auto');

/** The `threads` param of the model stages. */
export const THREADS = int(
  'compute threads of the wasm backend; 0 = its own choice (env PIPE_THREADS, else the share of cores pipe gives each stage)',
  0, { minimum: 0 });

/** `threads` as loadTf options (0 = the backend's own choice). */
export function threadsOption(threads: number): { threads?: number } {
  return threads === 0 ? {} : { threads };
}

/**
 * The values of `params` for the declaration, defaults filled in. Throws an
 * Error naming the param on an unknown key or a value the declaration rejects
 * (the engine has reported these at load time already, with their place).
 */
export function readParams<P extends Record<string, Param<unknown>>>(decl: Declared<P>, params: Params): Values<P> {
  for (const k of Object.keys(params)) {
    if (!Object.hasOwn(decl.properties, k)) throw new Error(`unknown param ${k} (known: ${Object.keys(decl.properties).join(', ')})`);
  }
  const out: Record<string, ParamValue> = {};
  for (const [name, schema] of Object.entries(decl.properties)) {
    const v = params[name] !== undefined ? params[name] : schema.default;
    if (v === undefined) throw new Error(`param ${name} is required`);
    const why = check(schema, v);
    if (why !== undefined) throw new Error(`param ${name} must be ${why}, got ${JSON.stringify(v)}`);
    out[name] = v;
  }
  return out as Values<P>;
}

/** What `v` fails to be under the keywords the builders above emit, or undefined. */
function check(s: Readonly<Record<string, unknown>>, v: ParamValue): string | undefined {
  const types = ([] as unknown[]).concat(s['type'] ?? []);
  if (v === null) return types.includes('null') ? undefined : `${types.join(' or ')}, not null`;
  const isNum = typeof v === 'number' && Number.isFinite(v);
  if (types.includes('integer') && !(isNum && Number.isInteger(v))) return 'an integer';
  if (types.includes('number') && !isNum) return 'a number';
  if (types.includes('boolean') && typeof v !== 'boolean') return 'true or false';
  if (types.includes('string') && typeof v !== 'string') return 'a string';
  if (types.includes('array')) {
    if (!Array.isArray(v)) return 'a list';
    const min = s['minItems'];
    if (typeof min === 'number' && v.length < min) return `a list of at least ${min}`;
    const items = s['items'] as Readonly<Record<string, unknown>> | undefined;
    if (items) for (const e of v as readonly ParamValue[]) if (check(items, e) !== undefined) return `a list of ${String(items['type'])}s >= ${String(items['minimum'] ?? '')}`;
  }
  const enumValues = s['enum'];
  if (Array.isArray(enumValues) && !enumValues.includes(v)) return `one of ${enumValues.join(', ')}`;
  if (typeof v === 'number') {
    const { minimum, maximum, exclusiveMinimum } = s as Range;
    if (minimum !== undefined && v < minimum) return `>= ${minimum}`;
    if (exclusiveMinimum !== undefined && v <= exclusiveMinimum) return `> ${exclusiveMinimum}`;
    if (maximum !== undefined && v > maximum) return `<= ${maximum}`;
  }
  return undefined;
}
