import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './util/paths.js';
import { treeEntries } from './util/tree.js';

const IMPORT = /(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g;

/** Every relative import of every .ts file under `dir`, as [file, resolved target folder]. */
function imports(dir: string): [string, string][] {
  const out: [string, string][] = [];
  for (const e of treeEntries(join(repoRoot, dir))) {
    if (e.dir || !e.abs.endsWith('.ts')) continue;
    for (const m of readFileSync(e.abs, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] as string;
      if (!spec.startsWith('.')) continue;
      const target = relative(repoRoot, join(dirname(e.abs), spec)).split('/')[0] as string;
      out.push([relative(repoRoot, e.abs), target]);
    }
  }
  return out;
}

test('the engine and the cache never import stages/ (bin/main.ts is the composition root)', () => {
  const bad = [...imports('engine'), ...imports('cache')].filter(([, t]) => t === 'stages');
  assert.deepEqual(bad, []);
  // The check itself sees imports: bin/main.ts does import stages/.
  assert.ok(imports('bin').some(([, t]) => t === 'stages'));
});

test('the cache knows nothing about the engine', () => {
  assert.deepEqual(imports('cache').filter(([, t]) => t === 'engine'), []);
});
