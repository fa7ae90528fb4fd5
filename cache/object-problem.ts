/**
 * The store's vocabulary: a stored artifact's reference, and why an artifact
 * cannot be used (re-exported by store.ts).
 */
import type { Digest } from './digest.js';

/** What an artifact is: one file, or a folder (stored as a manifest). */
export type ObjectKind = 'file' | 'dir';

/** A stored artifact. `size` is the file's bytes, or the total bytes of a folder's files. */
export interface StoredRef {
  readonly digest: Digest;
  readonly kind: ObjectKind;
  readonly size: number;
}

/**
 * Why an artifact cannot be used. `missing`: an object is not in the store;
 * `corrupt`: an object's content does not hash to its name (quarantine it);
 * `mismatch`: the objects are sound but the reference disagrees with them (a
 * size, or a folder whose object is no manifest): the lock or run record that
 * holds the reference is wrong.
 */
export interface ObjectProblem {
  readonly problem: 'missing' | 'corrupt' | 'mismatch';
  /** The object at fault (a folder's member, or the manifest). */
  readonly digest: Digest;
  /** The member's path when the object is a file of a folder artifact. */
  readonly member?: string;
  /** What is wrong, e.g. "its content hashes to sha256:...". */
  readonly detail: string;
}

/** One line for `p`: "object sha256:… (file a/b.txt) is corrupt: ...". */
export function describeProblem(p: ObjectProblem): string {
  const what = `cache object ${p.digest}${p.member !== undefined ? ` (file ${JSON.stringify(p.member)})` : ''}`;
  switch (p.problem) {
    case 'missing': return `${what} is missing: ${p.detail}`;
    case 'corrupt': return `${what} is corrupt: ${p.detail}`;
    case 'mismatch': return `${what} does not match its record: ${p.detail}`;
  }
}

/** Thrown by `view` and `restore` when an artifact fails its check. */
export class CacheObjectError extends Error {
  constructor(readonly detail: ObjectProblem) {
    super(describeProblem(detail));
    this.name = 'CacheObjectError';
  }
}

/** One file in `objects/`, as {@link ObjectStore.objects} lists it. */
export interface ObjectEntry {
  readonly path: string;
  /** The digest its name spells, or undefined for a file whose name is not one. */
  readonly digest: Digest | undefined;
  readonly size: number;
}
