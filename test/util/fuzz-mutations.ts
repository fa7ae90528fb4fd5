/**
 * Seeded mutations of pipeline.yaml and pipe.lock text for the fuzzer
 * (test/util/fuzz.ts): each takes the text and a random source and returns
 * new text (or bytes). Together they cover what a careless editor, a bad
 * merge or a hostile file produce: lost and doubled lines, flipped bytes,
 * wrong types, huge and special numbers, prototype names, aliases, deep
 * nesting, huge files and binary junk.
 */

/** A seeded random source (mulberry32): the same seed gives the same case. */
export class Rand {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Values that are wrong, special or hostile somewhere in a pipeline. */
export const SPECIAL_VALUES = [
  '.inf', '-.inf', '.nan', '.NaN', '1e400', '-1e400', '1e-400', '9007199254740993', '0x1F', '0o17', '-0', '1_000',
  'null', '~', 'true', 'no', 'yes', "''", '""', '[]', '{}', '[1, [2, [3]]]', '{a: {b: {c: 1}}}', '!!binary aGVsbG8=',
  '!!str 1', '!!int x', '!!float .inf', '!!js/function "x"', '2001-12-14t21:59:43.10-05:00', '"${seed}"', '${seed}',
  '"${nested}"', '"${list}"', '"${raw:name}"', '"${}"', '"${ unknown }"', '"$${seed}"', '"${seed"', '"x; touch pwned"',
  '"$(touch pwned)"', '"`touch pwned`"', "'it''s'", '../..', '/tmp', '.', '.pipe', '.git', 'pipeline.yaml', 'pipe.lock',
  '"\\u0000"', '"\\ud800"', '|\n  block\n  text', '>-\n  folded', '*undefined_alias', '&a [*a]', '!!set {a, b}', '!!omap [a: 1]',
] as const;

/** Names that reach an object's prototype, or collide with its methods. */
export const PROTO_NAMES = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'isPrototypeOf'] as const;

/** Where a fuzzed `--set` points synth outside the project (the run must refuse it). */
export const VICTIM = '/tmp/pipe-fuzz-victim';

/** `--set` arguments a user (or an attacker) might type. */
export const SETS = [
  'seed=2', 'seed=.inf', 'seed=1e400', 'seed=.nan', 'seed=', 'seed=[1, 2]', 'seed={a: 1}', 'seed=*a', 'seed=&a [*a]',
  'name=x; touch pwned', 'name=$(touch pwned)', "name=a'b", 'name=two words', 'greeting=${seed}', 'greeting=${greeting}',
  'nested.root=../..', "nested.root=''", 'nested.root=.pipe', 'nested.__proto__.x=1', 'gen.__proto__.y=1',
  'gen.constructor.prototype.z=1', '__proto__.x=1', 'gen.k=[1, [2]]', 'nope=1', '=1', 'gen.=1', 'seed=!!binary AAAA',
  'synth.out=..', `synth.out=${VICTIM}`, 'data=../victim', 'toString=1', 'gen.toString=1',
] as const;

type Mutation = (text: string, r: Rand) => string | Buffer;

const lines = (t: string): string[] => t.split('\n');

function replaceLine(t: string, r: Rand, f: (line: string) => string): string {
  const ls = lines(t);
  const i = r.int(ls.length);
  ls[i] = f(ls[i] ?? '');
  return ls.join('\n');
}

/** `key: value` -> `key: <special>` on a random line that has a value. */
function replaceValue(t: string, r: Rand, values: readonly string[]): string {
  const ls = lines(t);
  const candidates = ls.map((l, i) => [l, i] as const).filter(([l]) => /^\s*[^#\s][^:]*:\s*\S/.test(l) || /^\s*-\s+\S/.test(l));
  if (candidates.length === 0) return t;
  const [l, i] = r.pick(candidates);
  const m = /^(\s*(?:-\s+)?[^:]*:\s*|\s*-\s+)(.*)$/.exec(l);
  if (!m) return t;
  ls[i] = `${m[1]}${r.pick(values)}`;
  return ls.join('\n');
}

/** A random key on a random line -> a prototype name. */
function renameKey(t: string, r: Rand): string {
  return replaceLine(t, r, (l) => l.replace(/^(\s*)([A-Za-z_][\w-]*)(\s*:)/, (_m, sp: string, _k: string, c: string) => `${sp}${r.pick(PROTO_NAMES)}${c}`));
}

function nest(depth: number, flow: boolean): string {
  return flow ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `\n${Array.from({ length: depth }, (_, i) => `${' '.repeat(i + 1)}k${i}:`).join('\n')} 1`;
}

function bytesOf(t: string, r: Rand, f: (b: Buffer) => void): Buffer {
  const b = Buffer.from(t);
  if (b.length > 0) f(b);
  void r;
  return b;
}

const ALIAS_SNIPPETS = [
  'x: *nowhere',
  'x: &a [*a]',
  'x: &a {k: *a}',
  'a1: &a1 [1, 2]\nb1: *a1',
  (() => {
    const out = ['l0: &l0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) out.push(`l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]`);
    return out.join('\n');
  })(),
];

/** Every mutation, by name (the name goes into reproducer output). */
export const MUTATIONS: Readonly<Record<string, Mutation>> = {
  deleteLine: (t, r) => { const ls = lines(t); ls.splice(r.int(ls.length), 1 + r.int(3)); return ls.join('\n'); },
  duplicateLine: (t, r) => { const ls = lines(t); const i = r.int(ls.length); ls.splice(i, 0, ls[i] ?? ''); return ls.join('\n'); },
  swapLines: (t, r) => { const ls = lines(t); const i = r.int(ls.length); const j = r.int(ls.length); [ls[i], ls[j]] = [ls[j] ?? '', ls[i] ?? '']; return ls.join('\n'); },
  truncate: (t, r) => t.slice(0, r.int(t.length + 1)),
  byteFlip: (t, r) => bytesOf(t, r, (b) => { for (let n = 1 + r.int(4); n > 0; n--) b[r.int(b.length)] = r.int(256); }),
  bitFlip: (t, r) => bytesOf(t, r, (b) => { const i = r.int(b.length); b[i] = (b[i] ?? 0) ^ (1 << r.int(8)); }),
  charInsert: (t, r) => { const i = r.int(t.length + 1); return t.slice(0, i) + r.pick([':', '-', '[', ']', '{', '}', '&', '*', '!', '|', '>', '"', "'", '#', '\t', '\n', '${', '}', '%', '@', '`', '?']) + t.slice(i); },
  indent: (t, r) => replaceLine(t, r, (l) => (r.chance(0.5) ? ` ${l}` : l.replace(/^ /, r.chance(0.3) ? '\t' : ''))),
  wrongType: (t, r) => replaceValue(t, r, ['1', 'true', 'null', '[a, b]', '{a: 1}', '""', '[]', '{}', '- x']),
  specialValue: (t, r) => replaceValue(t, r, SPECIAL_VALUES),
  protoName: renameKey,
  protoValue: (t, r) => replaceValue(t, r, PROTO_NAMES.map((p) => `"\${${p}}"`)),
  alias: (t, r) => { const ls = lines(t); const i = r.int(ls.length + 1); const pad = (/^(\s*)/.exec(ls[i] ?? '')?.[1] ?? ''); ls.splice(i, 0, ...r.pick(ALIAS_SNIPPETS).split('\n').map((l) => pad + l)); return ls.join('\n'); },
  deepFlow: (t, r) => replaceValue(t, r, [nest(r.pick([10, 200, 300, 3000, 100_000]), true)]),
  deepBlock: (t, r) => `${t}\nparams2:${nest(r.pick([10, 300, 600, 1500]), false)}\n`,
  hugeParams: (t, r) => {
    const n = r.pick([1000, 20_000, 60_000]);
    const extra = Array.from({ length: n }, (_, i) => `  p${i}: ${i}`).join('\n');
    return t.replace(/^params:\n/m, `params:\n${extra}\n`);
  },
  hugeString: (t, r) => replaceValue(t, r, [`"${'x'.repeat(r.pick([100_000, 1_000_000, 5_000_000]))}"`]),
  binary: (_t, r) => { const b = Buffer.alloc(1 + r.int(4096)); for (let i = 0; i < b.length; i++) b[i] = r.int(256); return b; },
  binaryChunk: (t, r) => { const b = Buffer.from(t); const i = r.int(b.length + 1); const junk = Buffer.alloc(1 + r.int(64)); for (let k = 0; k < junk.length; k++) junk[k] = r.int(256); return Buffer.concat([b.subarray(0, i), junk, b.subarray(i)]); },
  empty: () => '',
  bom: (t) => `\uFEFF${t}`,
  crlf: (t) => t.replace(/\n/g, '\r\n'),
  reference: (t, r) => replaceValue(t, r, ['"${seed}"', '"${greeting} ${name}"', '"${nested.root}/x"', '"${list}"', '"${nested}"', '"${raw:name}"', '"${a.b.c.d}"', '"${seed}${seed}"']),
  digest: (t, r) => t.replace(/sha256:[0-9a-f]{64}/g, (d) => (r.chance(0.3) ? r.pick(['sha256:xyz', '../../etc/passwd', 'sha256:' + '0'.repeat(64), '', d.slice(0, 20)]) : d)),
  nullField: (t, r) => replaceLine(t, r, (l) => l.replace(/:\s.*$/, ': null').replace(/:$/, ': null')),
};

/** The mutation names. */
export const MUTATION_NAMES = Object.keys(MUTATIONS);
