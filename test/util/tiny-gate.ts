/**
 * A tiny project around the real `gate` stage, fast enough for CLI tests: a
 * module stage written into the rig (`fake.mjs`) stands in for ingest and
 * infer, a command stage hands its predictions to gate as a declared
 * artifact, and a second command stage reads gate's artifacts through
 * PIPE_INPUT_* variables. Two validation images at 420x580 (1_1: a nerve
 * over the left half, found; 1_2: none, a false positive the classifier
 * rejects) and one test image.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

const tensorsUrl = pathToFileURL(join(repoRoot, 'dist', 'cache', 'tensors.js')).href;

/** The fake upstream stage: artifacts `dataset` (ingest's format) and `pred_src` (infer's). */
export const FAKE_STAGE = `import { writeTensors } from '${tensorsUrl}';
import { join } from 'node:path';
const h = 8, w = 10, OH = 420, OW = 580;
export default {
  description: 'stands in for ingest and infer',
  artifacts: () => ['dataset', 'pred_src'],
  async run(ctx) {
    const small = new Uint8Array(2 * h * w);
    const prob = new Float32Array(2 * h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w / 2; x++) { small[y * w + x] = 1; prob[y * w + x] = 0.95; prob[h * w + y * w + x] = 0.9; }
    await writeTensors(join(ctx.outDir, 'dataset'), {
      train_images: { dtype: 'uint8', shape: [2, h, w], data: new Uint8Array(2 * h * w) },
      train_masks: { dtype: 'uint8', shape: [2, h, w], data: small },
      test_images: { dtype: 'uint8', shape: [1, h, w], data: new Uint8Array(h * w) },
    }, { train_ids: '["1_1","1_2"]', test_ids: '["1"]', height: String(h), width: String(w), orig_height: String(OH), orig_width: String(OW), train_rle: JSON.stringify(['1 ' + (OH * OW) / 2, '']) });
    await writeTensors(join(ctx.outDir, 'pred_src'), {
      val_prob: { dtype: 'float32', shape: [2, h, w], data: prob },
      test_prob: { dtype: 'float32', shape: [1, h, w], data: prob.slice(0, h * w) },
      val_cls: { dtype: 'float32', shape: [2], data: Float32Array.from([0.9, 0.2]) },
      test_cls: { dtype: 'float32', shape: [1], data: Float32Array.from([0.8]) },
    }, { val_ids: '["1_1","1_2"]', test_ids: '["1"]' });
  },
};
`;

/** The reporting command: copies what it read through the environment into report.json. */
export const REPORT_SCRIPT = `import { readFileSync, writeFileSync } from 'node:fs';
const env = process.env;
writeFileSync('report.json', JSON.stringify({
  inputs: JSON.parse(env.PIPE_INPUTS),
  pred: readFileSync(env.PIPE_INPUT_GATE_VAL_PRED_CSV, 'utf8'),
  truth: readFileSync(env.PIPE_INPUT_GATE_VAL_TRUTH_CSV, 'utf8'),
  masks: JSON.parse(readFileSync(env.PIPE_INPUT_GATE_MASKS, 'utf8')),
  outDir: env.PIPE_OUT_DIR ?? null,
}));
`;

/** pipeline.yaml of the tiny project. */
export const TINY_GATE_PIPELINE = `stages:
  fake:
    uses: ./fake.mjs
  copy:
    cmd: cp "$PIPE_INPUT_FAKE_PRED_SRC" "$PIPE_ARTIFACT_PREDICTIONS" && echo "out $PIPE_OUT_DIR"
    needs: [fake]
    artifacts: [predictions]
  gate:
    uses: gate
    needs: [fake, copy]
    params: {min_pixels: 5}
  report:
    cmd: node report.mjs
    needs: [gate]
    deps: [report.mjs]
    outs: [report.json]
`;

/** The files of the tiny project. */
export const TINY_GATE_FILES: Record<string, string> = {
  'pipeline.yaml': TINY_GATE_PIPELINE,
  'fake.mjs': FAKE_STAGE,
  'report.mjs': REPORT_SCRIPT,
};

/** Kaggle RLE (pixels numbered down the columns) of the left half of a 420x580 image: 1_1's true mask. */
export const LEFT_HALF_RLE = '1 121800';
