/** The tiny two-stage pipeline of the experiment tests (test/fixtures/exp). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';
import { Rig } from './rig.js';

/** pipeline.yaml of the experiment rig: comments and layout a --write must keep. */
export const EXP_PIPELINE = `# the experiment rig
params:
  seed: 1            # global
stages:
  train:
    uses: ./train.mjs
    params:
      lr: 0.5        # learning rate
  gate:
    uses: ./gate.mjs
    needs: [train]
    params: {threshold: 0.3, min_pixels: 10}   # flow style on purpose
`;

/** A rig holding the experiment pipeline and its two stage modules. */
export function expRig(): Rig {
  const fixture = (f: string): string => readFileSync(join(repoRoot, 'test', 'fixtures', 'exp', f), 'utf8');
  return new Rig({ 'pipeline.yaml': EXP_PIPELINE, 'train.mjs': fixture('train.mjs'), 'gate.mjs': fixture('gate.mjs') });
}
