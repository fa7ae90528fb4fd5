import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitBySubject } from '../stages/split.js';
import { subjectOf } from '../stages/lib/dataset.js';

const ids: string[] = [];
for (let s = 1; s <= 47; s++) for (let n = 1; n <= 5; n++) ids.push(`${s}_${n}`);

test('split never shares a subject and covers every image once', () => {
  for (const seed of [1, 2, 3]) {
    const sp = splitBySubject(ids, { val_fraction: 0.2, seed });
    const trainS = new Set(sp.train.map((i) => subjectOf(ids[i]!)));
    for (const i of sp.val) assert.ok(!trainS.has(subjectOf(ids[i]!)), `seed ${seed}: subject on both sides`);
    assert.equal(sp.train.length + sp.val.length, ids.length);
    assert.equal(new Set([...sp.train, ...sp.val]).size, ids.length);
    assert.equal(sp.val_subjects.length, 9);
  }
  assert.deepEqual(splitBySubject(ids, { seed: 5 }), splitBySubject(ids, { seed: 5 }));
  assert.notDeepEqual(splitBySubject(ids, { seed: 5 }).val_subjects, splitBySubject(ids, { seed: 6 }).val_subjects);
});

test('reference split: subjects from 38 on are validation', () => {
  const sp = splitBySubject(ids, { val_subjects_from: 38 });
  assert.deepEqual(sp.val_subjects, [38, 39, 40, 41, 42, 43, 44, 45, 46, 47]);
  assert.equal(sp.val.length, 50);
  assert.throws(() => splitBySubject(ids, { val_subjects_from: 1 }), /training empty/);
  assert.throws(() => splitBySubject(ids, { val_fraction: 0 }), /param val_fraction/);
  assert.throws(() => splitBySubject(['1_1', '1_2'], {}), /leaves/);
});
