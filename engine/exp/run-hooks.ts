/**
 * What `pipe run` (and repro, and sweep points) do around the executor to
 * keep experiments: before, fill the lock's header (the overrides that make
 * it, the code files behind each fingerprint); after a successful run, record
 * the workspace's lock as an experiment.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, relative, sep } from 'node:path';
import { loadConfig, type Override } from '../config.js';
import { codeFingerprint } from '../fingerprint.js';
import type { Graph } from '../graph.js';
import { isVerbatim, type Lock, type LockWriter } from '../lockfile.js';
import type { Project } from '../project.js';
import type { ParamValue } from '../stage-api.js';
import { effectiveOverrides, lockOverrides } from './overrides.js';
import { ExperimentStore, experimentId, type Experiment, type ExperimentKind } from './store.js';

/** Code fingerprint -> {file relative to the module's folder: digest}, for every module stage. */
export function codeFilesOf(graph: Graph): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const s of graph.stages.values()) {
    if (s.runner.type !== 'module') continue;
    const fp = codeFingerprint(s.runner.module);
    if (out[fp.digest]) continue;
    const base = dirname(s.runner.module);
    const files: Record<string, string> = {};
    // As the fingerprint hashed them (code without comments), so only code edits are named.
    for (const f of fp.files) files[relative(base, f).split(sep).join('/')] = fp.fileDigests.get(f) as string;
    out[fp.digest] = files;
  }
  return out;
}

/** The `--set` overrides that change what `file` says (the others are no overrides). */
export function effectiveOf(file: string, overrides: readonly Override[]): Record<string, ParamValue> {
  if (overrides.length === 0) return {};
  const plain = loadConfig(file);
  return plain.ok ? effectiveOverrides(plain.value, overrides) : {};
}

/**
 * Sets the header of the lock a run of `selected` stages with `overrides` is
 * about to write; `p.lock` is the lock on disk (with its header).
 */
export function prepareLock(p: Project, file: string, lock: LockWriter, overrides: readonly Override[], selected: readonly string[]): void {
  const prev: Lock = p.lock;
  const now = effectiveOf(file, overrides);
  lock.setMeta(lockOverrides({ ...prev, stages: lock.stages }, now, new Set(selected), new Set(p.graph.order)), { ...prev.code_files, ...codeFilesOf(p.graph) });
}

/**
 * After a run: writes the header if it changed and records the workspace's
 * lock as an experiment. Returns the experiment and whether it is new or
 * changed (a no-op run of a recorded experiment writes nothing).
 */
export async function finishRun(
  p: Project, file: string, lock: LockWriter, kind: ExperimentKind, extra: { sweep?: string; commit?: string | null } = {},
): Promise<{ exp: Experiment; changed: boolean }> {
  let onDisk = '';
  try {
    onDisk = readFileSync(p.lockPath, 'utf8');
  } catch { /* no lock yet */ }
  // A no-op run of a lock read verbatim (its mirror vouches for the text, still the file's) has nothing to format;
  // the file is read again all the same: it may have changed during the run (a checkout, an editor).
  const verbatim = lock.unchangedFrom(p.lock) && isVerbatim(p.lock, onDisk, p.graph.order);
  if (!verbatim) await lock.settle(onDisk);
  const store = new ExperimentStore(p.dotDir);
  const current = lock.lock;
  const prev = store.get(experimentId(current));
  const overrides = current.overrides ?? {};
  // A no-op run of a recorded experiment writes nothing (and asks git nothing).
  if (prev && kind === 'run' && prev.kind === 'run' && JSON.stringify(prev.overrides) === JSON.stringify(overrides)) return { exp: prev, changed: false };
  const exp = await store.record(current, { kind, pipeline: basename(file), root: p.root, overrides, ...extra });
  return { exp, changed: true };
}
