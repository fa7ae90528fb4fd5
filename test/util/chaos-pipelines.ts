/**
 * The pipelines the chaos trial (chaos.ts) kills: command stages with
 * many-file and slow outs, and the tiny nerve pipeline.
 */
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

/** The nerve pipeline with tiny sizes (as test/e2e-pipeline.test.ts). */
export const ML_PIPELINE: ChaosPipeline = {
  name: 'ml',
  files: {
    'pipeline.yaml': `params:
  seed: 3
  data: data/synth
stages:
  synth:
    uses: synth
    params: {out: \${data}, subjects: 4, images_per_subject: 4, test_images: 4, seed: 1}
  ingest:
    uses: ingest
    needs: [synth]
    params: {data: \${data}, height: 32, width: 40}
  split:
    uses: split
    needs: [ingest]
    params: {val_fraction: 0.25, seed: 1}
  iso-mask:
    uses: iso-mask
    needs: [ingest, split]
    params: {crop_size: 32, negatives_train: 2, negatives_val: 1, shift: 8, seed: 1}
  train-seg:
    uses: train-seg
    needs: [ingest, split]
    params: {backend: wasm, base_filters: 4, depth: 2, epochs: 2, batch_size: 8, seed: \${seed}}
  train-cls:
    uses: train-cls
    needs: [iso-mask]
    params: {backend: wasm, widths: [4, 8], epochs: 2, batch_size: 8, seed: \${seed}}
  infer:
    uses: infer
    needs: [ingest, split, train-seg, train-cls]
    params: {backend: wasm}
  gate:
    uses: gate
    needs: [infer, ingest, split]
    params: {threshold: 0.3, min_pixels: 10}
  submit:
    uses: submit
    needs: [gate]
`,
  },
  points: [['--set', 'seed=3'], ['--set', 'seed=4', '--set', 'gate.min_pixels=20'], ['--set', 'seed=5']],
  killWindowMs: 25_000,
  outputs: ['submission.csv', 'data/synth'],
};
