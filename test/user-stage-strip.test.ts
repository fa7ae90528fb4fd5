/**
 * Type stripping of TypeScript stage modules, with esbuild and with the
 * TypeScript fallback used where esbuild is not installed: both give an ES
 * module that runs and keeps the values (and drops type-only imports).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { stripTypes } from '../engine/load-module.js';

const SOURCE = `import type { Missing } from './does-not-exist.js';
enum Mode { Fast = 2 }
interface Point { readonly x: number }
export const point: Point = { x: 3 as number };
export function twice(v: number, m: Mode = Mode.Fast): number { return v * m; }
export type Unused = Missing;
`;

for (const via of ['auto', 'typescript'] as const) {
  test(`stripTypes (${via === 'auto' ? 'esbuild' : 'TypeScript fallback'}): an ES module without types or type-only imports`, async () => {
    const js = await stripTypes(SOURCE, '/project/stage.ts', via);
    assert.doesNotMatch(js, /does-not-exist|interface|: number/);
    assert.match(js, /sourceMappingURL=data:application\/json/);
    const mod = (await import(`data:text/javascript,${encodeURIComponent(js)}`)) as { point: { x: number }; twice(v: number): number };
    assert.deepEqual(mod.point, { x: 3 });
    assert.equal(mod.twice(5), 10);
  });
}
