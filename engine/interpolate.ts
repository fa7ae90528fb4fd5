/**
 * `${name}` references to global params. A string that is exactly one
 * reference takes the referenced value with its type (`lr: ${lr}` stays a
 * number); references inside longer strings are spliced in as text. `$${` is a
 * literal `${`. Nested maps are reached with dots: `${data.root}`.
 *
 * In a command (`cmd`), a reference is shell-quoted, as zx quotes its
 * interpolations: a value arrives as one word whatever it holds (`'it'\''s'`),
 * a list as one word per item; inside '...' or "..." it is escaped for that
 * quoting instead. `${raw:name}` splices the value as written: an explicit
 * opt-in to let a param carry shell syntax.
 */
import type { ParamValue } from './stage-api.js';
import { fail, ok, type Result } from './result.js';

/** Looks a dotted param name up: its value, undefined if there is none, or an error. */
export type Lookup = (name: string) => Result<ParamValue | undefined, string>;

const WHOLE = /^\$\{\s*([A-Za-z_][\w.-]*)\s*\}$/;
const ANY = /\$?\$\{\s*([^}]*?)\s*\}/g;
const RAW = /^raw:\s*/;

/** A lookup over a plain map of already resolved params. */
export function lookupIn(params: Readonly<Record<string, ParamValue>>): Lookup {
  return (name) => {
    let cur: ParamValue | undefined = params as ParamValue;
    for (const part of name.split('.')) {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, part)) return ok(undefined);
      cur = (cur as Record<string, ParamValue>)[part];
    }
    return ok(cur);
  };
}

/** Resolves every reference in `value` (recursively); the error says which one failed. */
export function interpolate(value: ParamValue, lookup: Lookup, known: () => readonly string[]): Result<ParamValue, string> {
  if (typeof value === 'string') return interpolateString(value, lookup, known);
  if (Array.isArray(value)) {
    const out: ParamValue[] = [];
    for (const v of value as readonly ParamValue[]) {
      const r = interpolate(v, lookup, known);
      if (!r.ok) return r;
      out.push(r.value);
    }
    return ok(out);
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, ParamValue> = Object.create(null) as Record<string, ParamValue>;
    for (const [k, v] of Object.entries(value)) {
      const r = interpolate(v, lookup, known);
      if (!r.ok) return r;
      out[k] = r.value;
    }
    return ok(out);
  }
  return ok(value);
}

function interpolateString(s: string, lookup: Lookup, known: () => readonly string[]): Result<ParamValue, string> {
  const whole = WHOLE.exec(s);
  if (whole) {
    const v = lookup(whole[1] as string);
    if (!v.ok) return v;
    return v.value === undefined ? fail(unresolved(whole[1] as string, known())) : ok(v.value);
  }
  let error: string | undefined;
  const out = s.replace(ANY, (m, name: string) => {
    if (m.startsWith('$$')) return m.slice(1);
    if (RAW.test(name)) {
      error ??= `\${${name}}: the raw form only means something in a command (cmd); write \${${name.replace(RAW, '')}}`;
      return m;
    }
    const v = lookup(name);
    if (!v.ok || v.value === undefined) {
      error ??= v.ok ? unresolved(name, known()) : v.error;
      return m;
    }
    if (v.value !== null && typeof v.value === 'object') {
      error ??= `\${${name}} is a ${Array.isArray(v.value) ? 'list' : 'map'} and cannot be part of a string`;
      return m;
    }
    return String(v.value);
  });
  return error === undefined ? ok(out) : fail(error);
}

/** Shell quoting state at a point of a command line. */
type Quoting = 'none' | 'single' | 'double';

/**
 * Resolves the references in command line `cmd`, each quoted for the place it
 * stands in (see the module comment); `${raw:name}` is spliced as is.
 */
export function interpolateCommand(cmd: string, lookup: Lookup, known: () => readonly string[]): Result<string, string> {
  let out = '';
  let q: Quoting = 'none';
  let i = 0;
  while (i < cmd.length) {
    const c = cmd[i] as string;
    if (c === '$' && cmd.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (c === '$' && cmd[i + 1] === '{') {
      const end = cmd.indexOf('}', i + 2);
      if (end < 0) {
        out += cmd.slice(i);
        break;
      }
      const inner = cmd.slice(i + 2, end).trim();
      const raw = RAW.test(inner);
      const name = inner.replace(RAW, '');
      const v = lookup(name);
      if (!v.ok) return v;
      if (v.value === undefined) return fail(unresolved(name, known()));
      const words = wordsOf(name, v.value);
      if (!words.ok) return words;
      out += raw ? words.value.join(' ') : quoteFor(q, words.value);
      i = end + 1;
      continue;
    }
    out += c;
    i++;
    if (q === 'none') {
      if (c === '\\' && i < cmd.length) out += cmd[i++] as string;
      else if (c === "'") q = 'single';
      else if (c === '"') q = 'double';
    } else if (q === 'single') {
      if (c === "'") q = 'none';
    } else if (c === '\\' && i < cmd.length) {
      out += cmd[i++] as string;
    } else if (c === '"') {
      q = 'none';
    }
  }
  return ok(out);
}

function wordsOf(name: string, v: ParamValue): Result<string[], string> {
  if (v === null || typeof v !== 'object') return ok([String(v)]);
  if (Array.isArray(v)) {
    const items = v as readonly ParamValue[];
    if (items.every((x) => x === null || typeof x !== 'object')) return ok(items.map((x) => String(x)));
  }
  return fail(`\${${name}} is a ${Array.isArray(v) ? 'list of lists or maps' : 'map'} and cannot be part of a command`);
}

/** `words` as shell text for quoting state `q`: each a single word unquoted, escaped inside quotes. */
function quoteFor(q: Quoting, words: readonly string[]): string {
  switch (q) {
    case 'none':
      return words.map(shellQuote).join(' ');
    case 'single':
      return words.join(' ').replace(/'/g, "'\\''");
    case 'double':
      return words.join(' ').replace(/[\\"$`]/g, (ch) => `\\${ch}`);
  }
}

/** One shell word holding exactly `s` (POSIX sh): bare when harmless, else single-quoted with `'\''` for a quote. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_\/.,:=@%+-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, "'\\''")}'`;
}

function unresolved(name: string, known: readonly string[]): string {
  const list = known.length > 50 ? `${known.slice(0, 50).join(', ')}, ... (${known.length} in all)` : known.join(', ');
  return `unresolved \${${name}}: no such param` + (known.length ? ` (global params: ${list})` : ' (there is no global params block)');
}
