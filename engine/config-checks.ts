/**
 * The checks config.ts runs between parsing pipeline.yaml and using it, each
 * linear in the size of the file so a hostile or generated file cannot make
 * pipe crash or hang:
 *
 *   parseGuards      text: nesting deep enough to exhaust the parser's stack
 *   structureErrors  YAML nodes: duplicate keys, aliases without or inside their anchor
 *   checkValues      params: numbers JSON can hold, no prototype names as keys
 *   resolveGlobals   global params that refer to each other, cycles found
 */
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import type { Diagnostic, Location } from './diagnostic.js';
import { interpolate, lookupIn, type Lookup } from './interpolate.js';
import { fail, ok, type Result } from './result.js';
import type { ParamValue } from './stage-api.js';

/** Flow collections (`[`, `{`) nested deeper than this are refused before parsing. */
export const MAX_FLOW_DEPTH = 256;
/** Lines indented further than this are refused before parsing (block nesting). */
export const MAX_INDENT = 512;
/** `${...}` references that lead through more params than this are refused. */
export const MAX_REFERENCE_DEPTH = 256;

/** Keys that would reach an object's prototype if used as names. */
export function isReservedKey(k: string): boolean {
  return k === '__proto__' || k === 'constructor' || k === 'prototype';
}

/** The first place where `text` nests too deep for the YAML parser, if any. */
export function parseGuards(text: string): { message: string; offset: number } | undefined {
  let depth = 0;
  let lineStart = 0;
  let indent = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      lineStart = i + 1;
      indent = true;
      continue;
    }
    if (indent) {
      if (c === 32) {
        if (i - lineStart >= MAX_INDENT) return { message: `a line is indented more than ${MAX_INDENT} columns: nesting this deep is not supported`, offset: i };
        continue;
      }
      indent = false;
    }
    if (c === 91 || c === 123) {
      if (++depth > MAX_FLOW_DEPTH) return { message: `[ ] and { } are nested more than ${MAX_FLOW_DEPTH} deep: nesting this deep is not supported`, offset: i };
    } else if ((c === 93 || c === 125) && depth > 0) {
      depth--;
    }
  }
  return undefined;
}

/**
 * Duplicate keys in a map (yaml's own check is quadratic in the map's size)
 * and aliases that have no anchor before them or sit inside the node they
 * name (which would make the data infinite). Walks the nodes without recursion.
 */
export function structureErrors(doc: Document, at: (start: number, end: number) => Location): Diagnostic[] {
  const out: Diagnostic[] = [];
  const place = (n: { range?: readonly number[] | null } | null | undefined): Location | undefined => {
    const r = n?.range;
    return r && r[0] !== undefined && r[1] !== undefined ? at(r[0], r[1]) : undefined;
  };
  // Depth-first with exit markers, so `open` holds exactly the ancestors of the node at hand.
  const open = new Set<unknown>();
  const stack: { node: unknown; exit: boolean }[] = [{ node: doc.contents, exit: false }];
  while (stack.length > 0 && out.length < 20) {
    const { node, exit } = stack.pop() as { node: unknown; exit: boolean };
    if (exit) {
      open.delete(node);
      continue;
    }
    if (isAlias(node)) {
      const target = node.resolve(doc);
      if (target === undefined) out.push({ message: `alias *${node.source} has no anchor &${node.source} before it`, ...loc(place(node)) });
      else if (open.has(target)) out.push({ message: `alias *${node.source} is inside the node it names: the data would be infinite`, ...loc(place(node)) });
      continue;
    }
    if (!isMap(node) && !isSeq(node)) continue;
    open.add(node);
    stack.push({ node, exit: true });
    if (isMap(node)) {
      const seen = new Map<string, unknown>();
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        if (isScalar(pair.key)) {
          const k = String(pair.key.value);
          if (seen.has(k)) out.push({ message: `duplicate key "${k}" in a map: each key may appear once`, ...loc(place(pair.key as Node)) });
          seen.set(k, pair.key);
        } else if (isAlias(pair.key) || isMap(pair.key) || isSeq(pair.key)) {
          stack.push({ node: pair.key, exit: false });
        }
        stack.push({ node: pair.value, exit: false });
      }
    } else {
      for (const item of node.items) stack.push({ node: item, exit: false });
    }
  }
  return out;
}

function loc(l: Location | undefined): { location?: Location } {
  return l ? { location: l } : {};
}

/** A bad param value found by {@link checkValues}: where (a node path) and why. */
export interface BadValue {
  readonly path: readonly (string | number)[];
  readonly key: boolean;
  readonly message: string;
}

/** Non-finite numbers (`.inf`, `.nan`, `1e400`) and prototype names as keys, anywhere in `v`. */
export function checkValues(v: unknown, path: readonly (string | number)[]): BadValue[] {
  const out: BadValue[] = [];
  const open = new Set<unknown>();
  const walk = (x: unknown, p: readonly (string | number)[]): void => {
    if (out.length >= 20) return;
    if (typeof x === 'number' && !Number.isFinite(x)) {
      out.push({ path: p, key: false, message: `${String(x)} is not a number a param can hold (params are JSON: finite numbers only)` });
      return;
    }
    if (x === null || typeof x !== 'object') return;
    if (open.has(x)) {
      out.push({ path: p, key: false, message: 'a value that contains itself (a recursive alias) is not a param' });
      return;
    }
    open.add(x);
    if (Array.isArray(x)) {
      x.forEach((y, i) => walk(y, [...p, i]));
    } else {
      for (const [k, y] of Object.entries(x)) {
        if (isReservedKey(k)) out.push({ path: [...p, k], key: true, message: `"${k}" is not allowed as a param name` });
        else walk(y, [...p, k]);
      }
    }
    open.delete(x);
  };
  walk(v, path);
  return out;
}

/** Global params with their references to each other resolved. */
export interface ResolvedGlobals {
  readonly params: Record<string, ParamValue>;
  /** Top-level global -> the top-level globals its value refers to. */
  readonly refs: ReadonlyMap<string, readonly string[]>;
  /** By top-level global: why it could not be resolved. */
  readonly errors: readonly { readonly name: string; readonly message: string }[];
}

/**
 * Resolves `${...}` inside global params against the other globals (`a:
 * "hello ${b}"`), each value once (memoised), so the cost is linear in the
 * params. A global that refers to itself, directly or through others, is an
 * error naming the cycle.
 */
export function resolveGlobals(raw: Readonly<Record<string, ParamValue>>): ResolvedGlobals {
  const done = new Map<string, ParamValue>();
  const active: string[] = [];
  const refs = new Map<string, string[]>();
  const known = (): readonly string[] => Object.keys(raw);

  const resolveNode = (path: readonly string[], node: ParamValue): Result<ParamValue, string> => {
    const key = path.join('.');
    if (done.has(key)) return ok(done.get(key) as ParamValue);
    const at = active.indexOf(key);
    if (at >= 0) {
      const cycle = [...active.slice(at), key];
      return fail(cycle.length === 2 ? `param "${key}" refers to itself` : `params refer to each other in a cycle: ${cycle.join(' -> ')}`);
    }
    if (active.length >= MAX_REFERENCE_DEPTH) return fail(`params refer to each other more than ${MAX_REFERENCE_DEPTH} levels deep`);
    active.push(key);
    let r: Result<ParamValue, string>;
    if (typeof node === 'string') {
      r = interpolate(node, lookup, known);
    } else if (Array.isArray(node)) {
      const items: ParamValue[] = [];
      r = ok(items);
      for (const [i, x] of (node as readonly ParamValue[]).entries()) {
        const ri = resolveNode([...path, String(i)], x);
        if (!ri.ok) {
          r = ri;
          break;
        }
        items.push(ri.value);
      }
    } else if (node !== null && typeof node === 'object') {
      const map: Record<string, ParamValue> = {};
      r = ok(map);
      for (const [k, x] of Object.entries(node)) {
        const rk = resolveNode([...path, k], x);
        if (!rk.ok) {
          r = rk;
          break;
        }
        map[k] = rk.value;
      }
    } else {
      r = ok(node);
    }
    active.pop();
    if (r.ok) done.set(key, r.value);
    return r;
  };

  /** A dotted name: walk the raw params; a string on the way may resolve to a map, so resolve it first. */
  const lookup: Lookup = (name) => {
    const parts = name.split('.');
    const head = parts[0] as string;
    const from = active[active.length - 1]?.split('.')[0];
    if (from !== undefined && from !== head) {
      const list = refs.get(from) ?? [];
      if (!list.includes(head)) list.push(head);
      refs.set(from, list);
    }
    let node: ParamValue | undefined = raw as ParamValue;
    for (let i = 0; i < parts.length; i++) {
      if (typeof node === 'string' && i > 0) {
        const r = resolveNode(parts.slice(0, i), node);
        if (!r.ok) return r;
        return lookupIn({ v: r.value })(['v', ...parts.slice(i)].join('.'));
      }
      const part = parts[i] as string;
      if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, part)) return ok(undefined);
      node = (node as Record<string, ParamValue>)[part] as ParamValue;
    }
    return resolveNode(parts, node as ParamValue);
  };

  const params: Record<string, ParamValue> = {};
  const errors: { name: string; message: string }[] = [];
  for (const [name, v] of Object.entries(raw)) {
    const r = resolveNode([name], v);
    if (r.ok) params[name] = r.value;
    else errors.push({ name, message: r.error });
  }
  return { params, refs, errors };
}
