/**
 * The cases of the fuzzer (fuzz.ts): two pipeline templates (command stages
 * that `run` may execute; built-in kinds that are only planned), each case
 * 1-3 seeded mutations (fuzz-mutations.ts) of the pipeline or the lock, a
 * command and some `--set`s. A case is a pure function of its seed.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MUTATIONS, MUTATION_NAMES, Rand, SETS } from './fuzz-mutations.js';

/** Command stages: what `run` may execute. */
export const COMMAND_PIPELINE = `# fuzz template: command stages
params:
  seed: 1
  name: world
  greeting: "hello \${name}"
  list: [a, b]
  nested:
    root: data
    n: 3
stages:
  gen:
    description: writes a greeting
    cmd: printf '%s\\n' \${greeting} \${seed} \${list} > gen.txt
    params:
      k: \${seed}
      m: {x: [1, 2], y: "\${nested.root}/y"}
    deps: [in.txt]
    outs: [gen.txt]
  count:
    cmd:
      - wc -c < gen.txt > count.txt
      - printf '{"n":1,"s":"x"}' > m.json
    needs: [gen]
    deps: [gen.txt]
    outs: [count.txt]
    metrics: m.json
`;

/** Built-in kinds: planned and drawn, never run by the fuzzer. */
export const KIND_PIPELINE = `# fuzz template: built-in kinds
params:
  seed: 1
  data: data/synth
stages:
  synth:
    uses: synth
    params:
      out: \${data}
      subjects: 2
      images_per_subject: 2
      test_images: 2
      seed: \${seed}
  ingest:
    uses: ingest
    needs: [synth]
    params: {data: "\${data}", height: 16, width: 16}
  split:
    uses: split
    needs: [ingest]
    params:
      val_fraction: 0.5
      seed: \${seed}
`;

/** One generated case. */
export interface FuzzCase {
  readonly seed: number;
  readonly template: 'cmd' | 'kinds';
  readonly mutations: readonly string[];
  readonly pipeline: string | Buffer;
  /** undefined: no lock file. */
  readonly lock?: string | Buffer;
  readonly argv: readonly string[];
}

/** Builds case `seed`: a template, 1-3 mutations of the pipeline and/or the lock, a command and --sets. */
export function makeCase(seed: number, lockText: string): FuzzCase {
  const r = new Rand(seed);
  const template = r.chance(0.7) ? 'cmd' : 'kinds';
  let pipeline: string | Buffer = template === 'cmd' ? COMMAND_PIPELINE : KIND_PIPELINE;
  let lock: string | Buffer | undefined = r.chance(0.6) ? lockText : undefined;
  const mutations: string[] = [];
  const target = lock !== undefined && r.chance(0.35) ? 'lock' : 'pipeline';
  for (let n = 1 + r.int(3); n > 0; n--) {
    const name = r.pick(MUTATION_NAMES);
    const f = MUTATIONS[name] as (t: string, r: Rand) => string | Buffer;
    mutations.push(`${target}:${name}`);
    if (target === 'lock') lock = f(String(lock), r);
    else pipeline = f(String(pipeline), r);
  }
  const commands = template === 'cmd' ? [['status'], ['dag'], ['run', '--dry-run'], ['run'], ['run', '--json'], ['status', '--json']] : [['status'], ['dag'], ['run', '--dry-run'], ['dag', '--json']];
  const argv = [...r.pick(commands)];
  for (let n = r.chance(0.3) ? 1 + r.int(2) : 0; n > 0; n--) argv.push('--set', r.pick(SETS));
  return { seed, template, mutations, pipeline, ...(lock !== undefined ? { lock } : {}), argv };
}

/** Writes the case's project into `dir` (emptied first). */
export function writeCase(c: FuzzCase, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'pipeline.yaml'), c.pipeline);
  writeFileSync(join(dir, 'in.txt'), 'input\n');
  if (c.lock !== undefined) writeFileSync(join(dir, 'pipe.lock'), c.lock);
}

/** The seed of case `i` of a run seeded `seed`. */
export function caseSeed(seed: number, i: number): number {
  return (Math.imul(seed >>> 0, 2654435761) + i * 40503 + 1) >>> 0;
}
