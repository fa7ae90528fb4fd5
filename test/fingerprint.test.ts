/** Code fingerprints: the file memo follows edits in a long-lived process. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { hashBytes } from '../cache/digest.js';
import { codeFingerprint, loadCodeMemo } from '../engine/fingerprint.js';

describe('the fingerprint memo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pipe-fp-memo-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('sees an edit in the same process, even of the same size right after the last read', () => {
    writeFileSync(join(dir, 'm.mjs'), "import { x } from './lib.mjs';\nexport default x;\n");
    writeFileSync(join(dir, 'lib.mjs'), 'export const x = 1;\n');
    const a = codeFingerprint(join(dir, 'm.mjs'));
    assert.deepEqual(a.files.map((f) => f.slice(dir.length + 1)).sort(), ['lib.mjs', 'm.mjs']);
    writeFileSync(join(dir, 'lib.mjs'), 'export const x = 2;\n');
    const b = codeFingerprint(join(dir, 'm.mjs'));
    assert.notEqual(b.digest, a.digest);
    writeFileSync(join(dir, 'lib.mjs'), 'export const x = 1;\n');
    assert.equal(codeFingerprint(join(dir, 'm.mjs')).digest, a.digest);
  });

  /** The memo's stamp of `file`, as readModule makes it. */
  const stampOf = (file: string): string => {
    const st = statSync(file, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  };
  /** Writes a memo file (kept between commands) with `files`, its mtime `offsetS` seconds from now. */
  const memo = (name: string, files: Record<string, [string, string, string[]]>, offsetS: number): string => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify({ v: 2, files }));
    const t = Date.now() / 1000 + offsetS;
    utimesSync(path, t, t);
    return path;
  };

  test('a memoised module\'s imports are resolved on each use: a new u.js beside u.ts is seen', () => {
    const m = join(dir, 'r.ts');
    writeFileSync(m, "import { u } from './u.js';\nexport default u;\n");
    writeFileSync(join(dir, 'u.ts'), 'export const u = 1;\n');
    loadCodeMemo(memo('memo-resolve.json', { [m]: [stampOf(m), hashBytes('x'), ['./u.js']] }, 60));
    assert.deepEqual(codeFingerprint(m).files.map((f) => f.slice(dir.length + 1)).sort(), ['r.ts', 'u.ts']);
    writeFileSync(join(dir, 'u.js'), 'export const u = 2;\n');
    assert.deepEqual(codeFingerprint(m).files.map((f) => f.slice(dir.length + 1)).sort(), ['r.ts', 'u.js']);
  });

  test('a memo entry for a file changed just before the memo was written (by the file system\'s clock) is not trusted', () => {
    const fake = hashBytes('not the file');
    const a = join(dir, 'racy.mjs');
    writeFileSync(a, 'export const a = 1;\n');
    loadCodeMemo(memo('memo-racy.json', { [a]: [stampOf(a), fake, []] }, 0));
    assert.notEqual(codeFingerprint(a).fileDigests.get(a), fake, 'changed within the racy window of the memo: re-read');
    const b = join(dir, 'clean.mjs');
    writeFileSync(b, 'export const b = 1;\n');
    loadCodeMemo(memo('memo-clean.json', { [b]: [stampOf(b), fake, []] }, 60));
    assert.equal(codeFingerprint(b).fileDigests.get(b), fake, 'written well before the memo: the memo serves');
  });
});
