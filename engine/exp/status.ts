/**
 * What `pipe status` says about the experiment the workspace holds: a lock
 * made with `--set` overrides is planned with those overrides, so the stages
 * they changed are not called stale; the header names the experiment and its
 * overrides instead.
 */
import type { Override } from '../config.js';
import { loadConfig } from '../config.js';
import type { Lock } from '../lockfile.js';
import type { ParamValue } from '../stage-api.js';
import { fileValue, formatOverrides, overridesOf } from './overrides.js';
import { ExperimentStore, experimentId, type Experiment } from './store.js';

/** " with overrides a=1, b=2", or "" for none. */
export function describeOverrides(map: Readonly<Record<string, ParamValue>>): string {
  return Object.keys(map).length ? ` with overrides ${formatOverrides(map)}` : '';
}

/** The experiment in the workspace: its lock's overrides and, if recorded, its record. */
export interface Held {
  readonly overrides: Readonly<Record<string, ParamValue>>;
  readonly asOverrides: readonly Override[];
  readonly exp?: Experiment;
}

/** What the workspace's lock was made with (undefined for an empty lock); `dotDir`: the project's `.pipe`. */
export function heldExperiment(lock: Lock, dotDir: string): Held | undefined {
  if (Object.keys(lock.stages).length === 0) return undefined;
  const overrides = lock.overrides ?? {};
  const exp = new ExperimentStore(dotDir).get(experimentId(lock));
  return { overrides, asOverrides: overridesOf(overrides), ...(exp ? { exp } : {}) };
}

/** "workspace holds experiment brisk-otter (1a2b3c4d) with overrides gate.min_pixels=200". */
export function heldHeader(h: Held): string {
  const name = h.exp ? `experiment ${h.exp.name} (${h.exp.id})` : 'a lock';
  return `workspace holds ${name}${describeOverrides(h.overrides)}`;
}

/**
 * The status header: {@link heldHeader}, then what the pipeline file says of
 * those params and how to go back to it or write them into it.
 */
export function heldLine(h: Held, file: string): string {
  const plain = loadConfig(file);
  const was = Object.keys(h.overrides).map((k) => {
    const v = plain.ok ? fileValue(plain.value, k.split('.')) : undefined;
    return `${k}: ${v === undefined ? 'unset' : JSON.stringify(v)}`;
  });
  const apply = h.exp ? `\`pipe exp apply ${h.exp.name} --write\`` : '`pipe exp apply ID --write`';
  return `${heldHeader(h)}\n` +
    `  (${file} says ${was.join(', ')}: \`pipe run\` goes back to the file, ${apply} writes them into it)\n`;
}
