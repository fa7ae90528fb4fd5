/**
 * The nerve pipeline's shape with tiny sizes (a few dozen 32x40 images, a
 * U-Net of 4 filters, an epoch or two on the wasm backend), for the tests and
 * benches that run the ML stages end to end. One builder, so each caller
 * states only where its pipeline differs:
 *
 *   synth -> ingest -> split -> train-seg ---------------------------> infer -> gate -> submit | report | score
 *                                          \--> iso-mask -> train-cls ---/
 */

/** A param value as written in the flow map (strings are written as is: `${data}` stays a reference). */
type Value = string | number | readonly number[];

/** Per-stage params: each replaces the default's value (key order stays the default's); undefined removes it. */
type StageParams = Readonly<Record<string, Value | undefined>>;

/** The stages after gate a pipeline can end with. */
export type TinyTail = 'submit' | 'report' | 'score';

/** How a caller's tiny pipeline differs from the defaults. */
export interface TinyNerveOptions {
  /** The global `seed` param (default 3); stage seeds are `${seed}` unless given. */
  readonly seed?: number;
  /** Param changes by stage name. */
  readonly params?: Readonly<Record<string, StageParams>>;
  /** The stages after gate, in order (default: submit). */
  readonly tail?: readonly TinyTail[];
}

const SEED = '${seed}';
const DATA = '${data}';

/** Every stage: its kind is its name; needs and default params (in file order). */
const STAGES: readonly (readonly [string, readonly string[], Readonly<Record<string, Value>> | undefined])[] = [
  ['synth', [], { out: DATA, subjects: 4, images_per_subject: 6, test_images: 6, seed: SEED }],
  ['ingest', ['synth'], { data: DATA, height: 32, width: 40 }],
  ['split', ['ingest'], { val_fraction: 0.25, seed: SEED }],
  ['train-seg', ['ingest', 'split'], { backend: 'wasm', base_filters: 4, depth: 2, epochs: 2, batch_size: 8, seed: SEED }],
  ['iso-mask', ['ingest', 'split', 'train-seg'], { crop_size: 32, negatives_train: 2, negatives_val: 1, shift: 8, predicted: 'true', backend: 'wasm', seed: SEED }],
  ['train-cls', ['iso-mask'], { backend: 'wasm', widths: [4, 8], epochs: 2, batch_size: 8, seed: SEED }],
  ['infer', ['ingest', 'split', 'train-seg', 'train-cls'], { backend: 'wasm' }],
  ['gate', ['infer', 'ingest', 'split'], { threshold: 0.3, min_pixels: 10 }],
];

const TAILS: Readonly<Record<TinyTail, readonly [readonly string[], Readonly<Record<string, Value>> | undefined]>> = {
  submit: [['gate'], undefined],
  report: [['ingest', 'split', 'train-seg', 'train-cls', 'infer', 'gate'], { samples: 4, worst: 4 }],
  score: [['gate', 'infer', 'ingest'], { truth: `${DATA}-truth/test_masks.csv` }],
};

/** `{a: 1, b: [4, 8]}`, as the tests write their params. */
function flow(params: Readonly<Record<string, Value>>): string {
  return `{${Object.entries(params).map(([k, v]) => `${k}: ${Array.isArray(v) ? `[${v.join(', ')}]` : String(v)}`).join(', ')}}`;
}

/** The pipeline.yaml text of a tiny nerve pipeline. */
export function tinyNervePipeline(o: TinyNerveOptions = {}): string {
  const stages = [...STAGES, ...(o.tail ?? ['submit']).map((t) => [t, ...TAILS[t]] as const)];
  const lines = ['params:', `  seed: ${o.seed ?? 3}`, '  data: data/synth', 'stages:'];
  for (const [name, needs, defaults] of stages) {
    lines.push(`  ${name}:`, `    uses: ${name}`);
    if (needs.length) lines.push(`    needs: [${needs.join(', ')}]`);
    if (defaults === undefined) continue;
    const params: Record<string, Value> = {};
    for (const [k, v] of Object.entries({ ...defaults, ...o.params?.[name] })) if (v !== undefined) params[k] = v;
    lines.push(`    params: ${flow(params)}`);
  }
  return `${lines.join('\n')}\n`;
}
