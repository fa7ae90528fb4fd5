/**
 * The pipeline the engine tests (freshness, verify-restore) share: module
 * stages a -> b, whose artifacts flow through the cache (the test writes
 * `mods/a.mjs` and `mods/b.mjs`), beside command stages of the caller's.
 */

/**
 * `params: {n}` and the stages a (`uses: ./mods/a.mjs`, param `x: ${n}`) and
 * b (`uses: ./mods/b.mjs`, needs a), then `commandStages`: more entries of
 * `stages:`, indented by two spaces, ending with a newline.
 */
export function moduleStagesPipeline(n: number, commandStages: string): string {
  return `params:
  n: ${n}
stages:
  a:
    uses: ./mods/a.mjs
    params:
      x: \${n}
  b:
    uses: ./mods/b.mjs
    needs: [a]
${commandStages}`;
}
