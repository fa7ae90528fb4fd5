/**
 * `${name}` references to global params. A string that is exactly one
 * reference takes the referenced value with its type (`lr: ${lr}` stays a
 * number); references inside longer strings are spliced in as text. `$${` is a
 * literal `${`. Nested maps are reached with dots: `${data.root}`.
 */
import type { ParamValue } from './stage-api.js';
import { fail, ok, type Result } from './result.js';

const WHOLE = /^\$\{\s*([A-Za-z_][\w.-]*)\s*\}$/;
const ANY = /\$?\$\{\s*([^}]*?)\s*\}/g;

/** Resolves every reference in `value` (recursively); the error says which one failed. */
export function interpolate(value: ParamValue, params: Readonly<Record<string, ParamValue>>): Result<ParamValue, string> {
  if (typeof value === 'string') return interpolateString(value, params);
  if (Array.isArray(value)) {
    const out: ParamValue[] = [];
    for (const v of value as readonly ParamValue[]) {
      const r = interpolate(v, params);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return ok(out);
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, ParamValue> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = interpolate(v, params);
      if (!r.ok) return r;
      out[k] = r.value;
    }
    return ok(out);
  }
  return ok(value);
}

function lookup(name: string, params: Readonly<Record<string, ParamValue>>): ParamValue | undefined {
  let cur: ParamValue | undefined = params as ParamValue;
  for (const part of name.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, ParamValue>)[part];
  }
  return cur;
}

function interpolateString(s: string, params: Readonly<Record<string, ParamValue>>): Result<ParamValue, string> {
  const whole = WHOLE.exec(s);
  if (whole) {
    const v = lookup(whole[1] as string, params);
    return v === undefined ? fail(unresolved(whole[1] as string, params)) : ok(v);
  }
  let error: string | undefined;
  const out = s.replace(ANY, (m, name: string) => {
    if (m.startsWith('$$')) return m.slice(1);
    const v = lookup(name, params);
    if (v === undefined) {
      error ??= unresolved(name, params);
      return m;
    }
    if (v !== null && typeof v === 'object') {
      error ??= `\${${name}} is a ${Array.isArray(v) ? 'list' : 'map'} and cannot be part of a string`;
      return m;
    }
    return String(v);
  });
  return error === undefined ? ok(out) : fail(error);
}

function unresolved(name: string, params: Readonly<Record<string, ParamValue>>): string {
  const known = Object.keys(params);
  return `unresolved \${${name}}: no such param` + (known.length ? ` (global params: ${known.join(', ')})` : ' (there is no global params block)');
}
