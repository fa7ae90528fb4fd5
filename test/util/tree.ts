/** Walking a folder in tests: one walker for every test that lists what is on disk. */
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/** One entry below a walked folder. */
export interface TreeEntry {
  /** Its path relative to the walked folder. */
  readonly rel: string;
  readonly abs: string;
  /** A folder (not a symlink to one: links are not followed). */
  readonly dir: boolean;
  /** A regular file. */
  readonly file: boolean;
}

/**
 * Every entry below `root`, depth first in readdir order (a folder before
 * what it holds); `skip` (by relative path and name) leaves an entry out and,
 * for a folder, everything below it. A missing or unreadable folder holds
 * nothing.
 */
export function treeEntries(root: string, skip: (rel: string, name: string) => boolean = () => false): TreeEntry[] {
  const out: TreeEntry[] = [];
  const rec = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const abs = join(dir, e.name);
      const rel = relative(root, abs);
      if (skip(rel, e.name)) continue;
      out.push({ rel, abs, dir: e.isDirectory(), file: e.isFile() });
      if (e.isDirectory()) rec(abs);
    }
  };
  rec(root);
  return out;
}
