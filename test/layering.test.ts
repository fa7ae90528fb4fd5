import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from './util/paths.js';

const IMPORT = /(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g;

/** Every relative import of every .ts file under `dir`, as [file, resolved target folder]. */
function imports(dir: string): [string, string][] {
  const out: [string, string][] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        for (const m of readFileSync(p, 'utf8').matchAll(IMPORT)) {
          const spec = m[1] as string;
          if (!spec.startsWith('.')) continue;
          const target = relative(repoRoot, join(d, spec)).split('/')[0] as string;
          out.push([relative(repoRoot, p), target]);
        }
      }
    }
  };
  walk(join(repoRoot, dir));
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
