/** Code fingerprints: the file memo follows edits in a long-lived process. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { codeFingerprint } from '../engine/fingerprint.js';

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
});
