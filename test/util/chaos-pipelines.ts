/**
 * The pipelines the chaos trial (chaos.ts) kills: command stages with
 * many-file and slow outs, and the tiny nerve pipeline.
 */
import { tinyNervePipeline } from './tiny-nerve.js';

/** A pipeline to torture: its files, the `--set` values to alternate, and how long a run takes. */
export interface ChaosPipeline {
  readonly name: string;
  readonly files: Record<string, string>;
  /** Each element is one param point: a list of `--set` arguments. */
  readonly points: readonly (readonly string[])[];
  /** Kill moments are drawn uniformly from [0, killWindowMs]. */
  readonly killWindowMs: number;
  /** Workspace paths (files or folders) to compare with a clean run. */
  readonly outputs: readonly string[];
}

/**
 * Command stages: a folder out of many files, a slow stage that writes its
 * out bit by bit, a folder dep on the many-file out, a stage that
 * backgrounds a writer.
 */
export const COMMAND_PIPELINE: ChaosPipeline = {
  name: 'commands',
  files: {
    'pipeline.yaml': `params:
  n: 1
stages:
  gen:
    cmd: mkdir -p data && for i in $(seq 1 100); do echo "$i $PIPE_PARAM_N" > data/f$i.txt; done
    params: {n: \${n}}
    outs: [data]
  slow:
    cmd: for i in 1 2 3 4 5 6; do echo "$i $PIPE_PARAM_N" >> slow.txt; sleep 0.1; done
    params: {n: \${n}}
    outs: [slow.txt]
  sum:
    cmd: cat data/*.txt slow.txt | sort | md5sum > sum.txt && sleep 0.2
    deps: [data, slow.txt]
    outs: [sum.txt]
  wide:
    cmd: mkdir -p wide/a wide/b && for i in $(seq 1 40); do cat sum.txt > wide/a/$i.txt; echo $i > wide/b/$i.txt; done
    needs: [sum]
    outs: [wide]
  tail:
    cmd: (sleep 0.2; echo bg) > bg.txt & ls -R wide | md5sum > tail.txt; wait
    needs: [wide]
    outs: [tail.txt, bg.txt]
`,
  },
  points: [['--set', 'n=1'], ['--set', 'n=2'], ['--set', 'n=3']],
  killWindowMs: 3000,
  outputs: ['data', 'slow.txt', 'sum.txt', 'wide', 'tail.txt', 'bg.txt'],
};

/** The tiny nerve pipeline (test/util/tiny-nerve.ts), fewer images. */
export const ML_PIPELINE: ChaosPipeline = {
  name: 'ml',
  files: {
    // Synth, split and iso-mask seeded apart from the global seed, so only training changes with it.
    'pipeline.yaml': tinyNervePipeline({ params: { synth: { images_per_subject: 4, test_images: 4, seed: 1 }, split: { seed: 1 }, 'iso-mask': { seed: 1 } } }),
  },
  points: [['--set', 'seed=3'], ['--set', 'seed=4', '--set', 'gate.min_pixels=20'], ['--set', 'seed=5']],
  killWindowMs: 25_000,
  outputs: ['submission.csv', 'data/synth'],
};
