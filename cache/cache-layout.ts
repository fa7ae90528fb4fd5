/**
 * The folders inside a cache root, known here and nowhere else (the engine's
 * cache root is `.pipe/cache`, see engine/layout.ts).
 *
 * ```
 * <root>/objects/ab/cdef...   immutable objects named by their sha256 (mode 0444)
 * <root>/runs/<hex>.json      run records (run-cache.ts)
 * <root>/views/<hex>/         folder artifacts materialised for reading
 * <root>/tmp/                 everything being written: temp objects, views and
 *                             restores being built (`<pid>.<rand>.<what>`)
 * <root>/quarantine/          objects that did not hash to their name
 * <root>/stamps               verification stamps (stamps.ts)
 * ```
 */
import { join } from 'node:path';

/** Paths of one cache root. */
export interface CachePaths {
  readonly root: string;
  readonly objects: string;
  readonly runs: string;
  readonly views: string;
  readonly tmp: string;
  readonly quarantine: string;
  readonly stamps: string;
}

/** The paths of the cache rooted at `root`. */
export function cachePaths(root: string): CachePaths {
  return {
    root,
    objects: join(root, 'objects'),
    runs: join(root, 'runs'),
    views: join(root, 'views'),
    tmp: join(root, 'tmp'),
    quarantine: join(root, 'quarantine'),
    stamps: join(root, 'stamps'),
  };
}
