import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import submit, { submissionCsv, rleArea } from '../stages/submit.js';

test('submission CSV: header, numeric id order, small masks empty', () => {
  const csv = submissionCsv({ '10': '5 20', '2': '1 3 10 4', '1': '', '3': '7 9' });
  assert.equal(csv, 'img,pixels\n1,\n2,\n3,\n10,5 20\n');
  assert.equal(rleArea('1 3 10 4'), 7);
  assert.throws(() => rleArea('1 2 3'), /malformed/);
});

test('submit stage writes the out file under the root', async () => {
  const root = await mkdtemp(join(tmpdir(), 'submit-'));
  try {
    await writeFile(join(root, 'masks'), JSON.stringify({ val: {}, test: { '2': '100 50', '1': '' } }));
    const metrics: Record<string, number | string> = {};
    await submit.run({ name: 'submit', params: { out: 'sub/out.csv' }, inputs: { masks: join(root, 'masks') }, outDir: root, root,
      signal: new AbortController().signal, log: () => {}, progress: () => {}, metric: (k, v) => { metrics[k] = v; }, info: () => {} });
    assert.equal(await readFile(join(root, 'sub', 'out.csv'), 'utf8'), 'img,pixels\n1,\n2,100 50\n');
    assert.equal(metrics['rows'], 2);
    assert.equal(metrics['with_nerve'], 1);
    assert.deepEqual(submit.outs?.({ out: 'x.csv' }), ['x.csv']);
    assert.deepEqual(submit.artifacts({}), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
