/**
 * A small pipeline for the remote-cache and Slurm tests: command stages (a
 * workspace out, an artifact, a folder artifact) and a tiny module stage, so a
 * push/pull moves file objects, folder manifests and run records.
 */
import { parse } from 'yaml';
import { Rig } from './rig.js';

/** A module stage: writes one artifact from its input and params, reports a metric. */
export const TINY_MODULE = `import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
export default {
  artifacts: () => ['sum.json'],
  async run(ctx) {
    const words = (await readFile(join(ctx.inputs['words'], 'a.txt'), 'utf8')).trim();
    ctx.log('module stage ran');
    await writeFile(join(ctx.outDir, 'sum.json'), JSON.stringify({ words, k: ctx.params.k }));
    ctx.metric('k', ctx.params.k);
  },
};
`;

/** pipeline.yaml of the rig, with `head` (e.g. a remote: block) first. */
export function tinyPipeline(head = '', extra = ''): string {
  return `${head}stages:
  hello:
    cmd: echo hello from "$PIPE_STAGE" > hello.txt && echo hello-ran >> runs.log
    outs: [hello.txt]
  words:
    cmd: mkdir -p "$PIPE_ARTIFACT_WORDS" && echo alpha > "$PIPE_ARTIFACT_WORDS/a.txt" && echo beta > "$PIPE_ARTIFACT_WORDS/b.txt" && echo words-ran >> runs.log
    artifacts: [words]
  sum:
    uses: ./sum.mjs
    needs: [words]
    params: { k: 3 }
  join:
    cmd: cat hello.txt "$PIPE_INPUT_WORDS_WORDS/b.txt" > joined.txt && echo join-ran >> runs.log
    deps: [hello.txt]
    needs: [words]
    outs: [joined.txt]
${extra}`;
}

/** A rig holding the tiny pipeline. */
export function tinyRig(head = '', extra = ''): Rig {
  return new Rig({ 'pipeline.yaml': tinyPipeline(head, extra), 'sum.mjs': TINY_MODULE });
}

/** A fresh clone of `a`: its pipeline file, lock and sources, no `.pipe/` and no outputs. */
export function cloneOf(a: Rig): Rig {
  return new Rig({ 'pipeline.yaml': a.read('pipeline.yaml'), 'pipe.lock': a.read('pipe.lock'), 'sum.mjs': a.read('sum.mjs') });
}

/** Each stage's output digests, as the rig's pipe.lock records them. */
export function lockDigests(r: Rig): Record<string, string[]> {
  const lock = parse(r.read('pipe.lock')) as { stages: Record<string, { outputs: Record<string, { digest: string }> }> };
  return Object.fromEntries(Object.entries(lock.stages).map(([s, e]) => [s, Object.values(e.outputs).map((o) => o.digest)]));
}
