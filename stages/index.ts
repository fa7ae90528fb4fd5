/**
 * The registry of built-in stage kinds: `uses: <name>` in pipeline.yaml -> the
 * module that implements it. Only names and paths here: the engine loads a
 * module when a pipeline uses it, and heavy libraries load only inside `run`.
 */
import { fileURLToPath } from 'node:url';
import type { KindRegistry } from '../engine/graph.js';

const KINDS = ['synth', 'ingest', 'split', 'iso-mask', 'train-seg', 'train-cls', 'infer', 'gate', 'submit', 'score', 'report'] as const;

/** Built-in kinds, resolved next to this module. */
export const builtinKinds: KindRegistry = {
  builtin(name) {
    return (KINDS as readonly string[]).includes(name) ? fileURLToPath(new URL(`./${name}.js`, import.meta.url)) : undefined;
  },
  names() {
    return KINDS;
  },
};
