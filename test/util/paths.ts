/** Paths tests need, independent of where the compiled test file lives. */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(from: string): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'engine'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no project root above ${from}`);
    dir = up;
  }
}

/** The repository root (the folder holding package.json). */
export const repoRoot: string = findRoot(dirname(fileURLToPath(import.meta.url)));

/** The real Kaggle reference files: `../shared/data/kaggle-uns` beside the checkout. */
export const kaggleData: string = resolve(repoRoot, '..', 'shared', 'data', 'kaggle-uns');
