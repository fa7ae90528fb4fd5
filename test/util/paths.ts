/** Paths tests need, independent of where the compiled test file lives. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

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

/** The real Kaggle reference files shipped as fixtures (test/fixtures/kaggle-uns). */
export const kaggleData: string = join(repoRoot, 'test', 'fixtures', 'kaggle-uns');

/**
 * The path of a Kaggle fixture file (`train/1_1.tif`, `train_masks.csv`). A
 * CSV stored gzipped is unpacked once into a temp folder named by its content
 * hash, so parallel test files share it and never see a half-written copy.
 */
export function kaggleFile(name: string): string {
  const plain = join(kaggleData, name);
  if (existsSync(plain)) return plain;
  const gz = readFileSync(`${plain}.gz`);
  const dir = join(tmpdir(), `pipe-fixture-${createHash('sha256').update(gz).digest('hex').slice(0, 16)}`);
  const out = join(dir, name);
  if (!existsSync(out)) {
    mkdirSync(dirname(out), { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, gunzipSync(gz));
    renameSync(tmp, out);
  }
  return out;
}
