/**
 * Fingerprints ignore comments and formatting: engine/code-text.ts agrees
 * with TypeScript's parser on every module of the project, and a comment or
 * formatting edit to a built-in kind (compiled as `tsc` compiles it) or a
 * user module keeps the stage key, while a code edit changes it.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { codeText } from '../engine/code-text.js';
import { codeFingerprint, stageKey } from '../engine/fingerprint.js';
import { repoRoot } from './util/paths.js';
import { treeEntries } from './util/tree.js';

type Ts = typeof import('typescript');
const ts = createRequire(import.meta.url)('typescript') as Ts;
const NEWLINE = /[\n\r\u2028\u2029]/;

/** What codeText should give, from TypeScript's parser: its tokens, with each gap reduced as codeText does. */
function reference(text: string, fileName: string): string {
  const kind = /\.ts$/.test(fileName) ? ts.ScriptKind.TS : ts.ScriptKind.JS;
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, kind);
  const tokens: [number, number][] = [];
  const visit = (n: import('typescript').Node): void => {
    if (n.kind >= ts.SyntaxKind.FirstJSDocNode && n.kind <= ts.SyntaxKind.LastJSDocNode) return;
    const kids = n.getChildren(sf);
    if (kids.length === 0) {
      const start = n.getStart(sf);
      if (n.end > start) tokens.push([start, n.end]);
    } else kids.forEach(visit);
  };
  visit(sf);
  let out = text.startsWith('#!') ? text.slice(0, text.search(NEWLINE)) : '';
  let last = out.length;
  for (const [start, end] of tokens) {
    const trivia = text.slice(last, start);
    if (out !== '' && trivia !== '') out += NEWLINE.test(trivia) ? '\n' : ' ';
    out += text.slice(start, end);
    last = end;
  }
  return out;
}

function sources(dir: string, ext: RegExp): string[] {
  return treeEntries(dir, (_, name) => name === 'node_modules' || name === 'fixtures')
    .filter((e) => e.file && ext.test(e.abs) && !e.abs.endsWith('.d.ts')).map((e) => e.abs);
}

test('codeText agrees with TypeScript\'s parser on every module of the project, compiled and source', () => {
  const files = [
    ...sources(join(repoRoot, 'dist'), /\.(c?js)$/),
    ...['engine', 'cache', 'stages', 'bin', 'bench', 'test'].flatMap((d) => sources(join(repoRoot, d), /\.(ts|js)$/)),
  ];
  assert.ok(files.length > 150, `${files.length} files`);
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const got = codeText(text);
    const want = reference(text, f);
    if (got !== want) {
      let i = 0;
      while (got[i] === want[i]) i++;
      assert.fail(`${f}: differs at ${i}:\n  codeText:  ${JSON.stringify(got.slice(Math.max(0, i - 60), i + 60))}\n  reference: ${JSON.stringify(want.slice(Math.max(0, i - 60), i + 60))}`);
    }
  }
});

test('codeText: comments and whitespace go, strings, templates and regexes stay byte for byte', () => {
  const src = [
    '#!/usr/bin/env node',
    '/** doc */ const a = "x // not a comment", b = \'/* nor this */\';',
    'const t = `  ${a /* c */ + `${ b }`}  // kept`;   // gone',
    'const r = /[/*]\\/\\/ */g.test(a) ? 1 / 2 : (3) / 4;',
    'function f() {',
    '  return',
    '    5;',
    '}',
  ].join('\n');
  assert.equal(codeText(src), [
    '#!/usr/bin/env node',
    'const a = "x // not a comment", b = \'/* nor this */\';',
    'const t = `  ${a + `${ b }`}  // kept`;',
    'const r = /[/*]\\/\\/ */g.test(a) ? 1 / 2 : (3) / 4;',
    'function f() {',
    'return',
    '5;',
    '}',
  ].join('\n'));
});

describe('a comment or formatting edit keeps the key, a code edit changes it', () => {
  // tsc emits ESM here because package.json says "type": "module"; transpileModule cannot see that.
  const cfg = ts.readConfigFile(join(repoRoot, 'tsconfig.json'), ts.sys.readFile);
  const options = { ...ts.parseJsonConfigFileContent(cfg.config, ts.sys, repoRoot).options, module: ts.ModuleKind.ES2022, declaration: false };
  const emit = (src: string, name: string): string => ts.transpileModule(src, { compilerOptions: options, fileName: name }).outputText;
  const dir = mkdtempSync(join(tmpdir(), 'pipe-fp-'));
  for (const d of ['engine', 'cache', 'stages']) cpSync(join(repoRoot, 'dist', d), join(dir, d), { recursive: true, filter: (p) => !/\.(map|d\.ts)$/.test(p) });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const sub = (s: string, from: string, to: string): string => {
    const out = s.replace(from, to);
    assert.notEqual(out, s, `the variant edits ${from}`);
    return out;
  };
  const keyOf = (code: string): string => stageKey({ kind: 'gate', code, params: { min_pixels: 100 }, inputs: {}, deps: {}, outs: ['artifact:masks'] });

  test('built-in kind gate, compiled with the project\'s compiler options', () => {
    const gateTs = readFileSync(join(repoRoot, 'stages', 'gate.ts'), 'utf8');
    const apiTs = readFileSync(join(repoRoot, 'engine', 'stage-api.ts'), 'utf8');
    const entry = join(dir, 'stages', 'gate.js');
    const fingerprintWith = (gate: string, api = apiTs): string => {
      writeFileSync(entry, emit(gate, 'stages/gate.ts'));
      writeFileSync(join(dir, 'engine', 'stage-api.js'), emit(api, 'engine/stage-api.ts'));
      return keyOf(codeFingerprint(entry).digest);
    };
    assert.equal(emit(gateTs, 'stages/gate.ts'), readFileSync(join(repoRoot, 'dist', 'stages', 'gate.js'), 'utf8'), 'the test compiles as tsc does');
    const base = fingerprintWith(gateTs);
    let g = sub(gateTs, 'Stage kind `gate`: turns probabilities', 'Stage kind `gate` (edited): turns the probabilities');
    g = sub(g, '/** Whether the gate keeps a mask', '// a new line comment\n\n\n/** Whether the gate keeps a mask');
    g = sub(g, 'if (prob[i]! >= p.countThreshold) count++;', 'if ( prob[i]!>=p.countThreshold )   count++ ;');
    assert.equal(fingerprintWith(g), base);
    let api = sub(apiTs, 'The contract between the engine and a built-in stage kind.', 'The contract (edited) between the engine and a stage kind.');
    api = sub(api, 'readonly unit?: string;', 'readonly unit?: string | undefined;');
    assert.equal(fingerprintWith(gateTs, api), base);
    assert.notEqual(fingerprintWith(sub(gateTs, 'return count > p.minPixels;', 'return count >= p.minPixels;')), base);
    assert.notEqual(fingerprintWith(gateTs, sub(apiTs, 'return kind;', 'return { ...kind };')), base);
    assert.equal(fingerprintWith(gateTs), base);
  });

  test('a user module, as written', () => {
    const mod = join(dir, 'user.mjs');
    const src = "// my stage\nexport default {\n  description: 'a  b',\n  artifacts: () => ['x'],\n  async run(ctx) { return 1 + 2; },\n};\n";
    const keyFor = (text: string): string => {
      writeFileSync(mod, text);
      return keyOf(codeFingerprint(mod).digest);
    };
    const base = keyFor(src);
    assert.equal(keyFor(sub(src, '// my stage\n', '/* my\n * stage */\n\n')), base);
    assert.equal(keyFor(sub(src, '  async run(ctx) {', '\tasync   run(ctx)   {   /* runs */')), base);
    assert.notEqual(keyFor(sub(src, "'a  b'", "'a b'")), base);
    assert.notEqual(keyFor(sub(src, '1 + 2', '1 + 3')), base);
  });
});
