/**
 * What a killed run leaves behind, removed by the next run before it plans
 * anything (under the run lock, after the dead run's stage process groups
 * were killed, so nothing can still be writing them). The cache's temps,
 * stage work folders, half-written locks and hash states are
 * `cleanStaleTemps`'s (engine/project.ts); this adds what lies elsewhere:
 *
 *   .<out>.<pid>.<rand>.tmp     a restore built beside a declared out (when the
 *                               workspace is on another filesystem than the
 *                               cache), where a folder dep would hash it
 *   .pipe/exps/.<id>.json...tmp an experiment record being written
 *
 * Only names of exactly that form whose writer is dead, and beside an out
 * only for that out's name, so a user's own `.tmp` files are never touched.
 */
import { basename, dirname, resolve } from 'node:path';
import { removeDeadTemps } from '../cache/atomic.js';
import { cleanStaleTemps, type Project } from './project.js';

/** Removes a dead run's leftovers from project `p`; resolves to how many entries went. */
export async function cleanLeftovers(p: Project): Promise<number> {
  let removed = await cleanStaleTemps(p);
  const beside = new Map<string, Set<string>>();
  for (const s of p.graph.stages.values()) {
    for (const o of s.outs) {
      const abs = resolve(p.root, o);
      const names = beside.get(dirname(abs)) ?? new Set<string>();
      names.add(basename(abs));
      beside.set(dirname(abs), names);
    }
  }
  for (const [dir, names] of beside) removed += await removeDeadTemps(dir, (target) => names.has(target));
  removed += await removeDeadTemps(p.layout.experiments);
  return removed;
}
