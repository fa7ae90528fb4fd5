/**
 * The pipeline text's side of config.ts: hiding `${name}` references from the
 * YAML parser (inside `[ ]` or `{ }` their braces would open a flow map) and
 * putting them back, finding references in a raw value, and pointing from a
 * path of keys back to a place in the file.
 */
import { isMap, isPair, isScalar, type Document } from 'yaml';
import type { Location } from './diagnostic.js';

const REF = /\$\{((?:raw:)?[A-Za-z_][\w.-]*)\}/g;
const OPEN = '\uE000';
const CLOSE = '\uE001';
const HIDDEN = /\$\uE000([^\uE001]*)\uE001/g;

/**
 * The text with each `${name}` brace swapped for a same-length private-use
 * character, so positions stay exact; {@link unhide} restores them in the parsed data.
 */
export function hideReferences(text: string): string {
  return text.replace(REF, (_m, name: string) => `$${OPEN}${name}${CLOSE}`);
}

/** Puts back the `${name}` references hidden before parsing. */
export function unhide(v: unknown): unknown {
  if (typeof v === 'string') return v.includes(OPEN) ? v.replace(HIDDEN, (_m, name: string) => `\${${name}}`) : v;
  if (Array.isArray(v)) return v.map(unhide);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    // defineProperty: a "__proto__" key (refused later, with its place) must stay a plain key.
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, unhide(k) as string, { value: unhide(x), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

/** The names of the `${...}` references in a raw value (strings, lists and maps walked). */
export function references(v: unknown): string[] {
  if (typeof v === 'string') return v.includes('${') ? [...v.matchAll(REF)].map((m) => (m[1] as string).replace(/^raw:/, '')) : [];
  if (Array.isArray(v)) return v.flatMap(references);
  if (v !== null && typeof v === 'object') return Object.values(v).flatMap(references);
  return [];
}

/**
 * Finds the node at `path` (or its key, with `key`) and returns its location.
 * A path that stops existing part way points at the deepest node that exists.
 */
export function nodeLocation(
  doc: Document,
  path: readonly (string | number)[],
  key: boolean,
  at: (start: number, end: number) => Location,
): Location | undefined {
  let node: unknown = doc.contents;
  let keyNode: unknown;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      keyNode = pair.key;
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node && typeof seg === 'number') {
      const item = (node as { items: unknown[] }).items[seg];
      if (item === undefined) break;
      keyNode = undefined;
      node = item;
    } else {
      break;
    }
  }
  const target = key && keyNode ? keyNode : (node ?? keyNode);
  const range = (target as { range?: [number, number, number] } | undefined)?.range;
  if (!range) return undefined;
  return at(range[0], range[1]);
}
