import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ExperimentStore, freshName, nameOf } from '../engine/exp/store.js';

describe('experiment names', () => {
  // nameOf reads the first six digits modulo 1,024 names: these three ids share "amber-otter".
  const a = '00000001', b = '00040002', c = '00040099';

  test('a name already used by another id gets the id digits; an unused one stays plain', () => {
    assert.equal(nameOf(a), nameOf(b));
    assert.equal(nameOf(a), nameOf(c));
    assert.equal(freshName(a, []), nameOf(a));
    assert.equal(freshName(a, [a]), nameOf(a), 'its own id is no collision');
    assert.equal(freshName(b, [a]), `${nameOf(b)}-0004`);
    assert.equal(freshName(c, [a, b]), `${nameOf(c)}-${c}`, 'the short form taken too: the whole id');
  });

  const dir = mkdtempSync(join(tmpdir(), 'pipe-exp-names-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a name two recorded experiments share is refused with both ids, never one picked', () => {
    const exps = join(dir, 'exps');
    mkdirSync(exps, { recursive: true });
    const put = (id: string, name: string, at: string): void => writeFileSync(join(exps, `${id}.json`), JSON.stringify({
      id, name, kind: 'run', created_at: at, updated_at: at, pipeline: 'pipeline.yaml', overrides: {}, lock: { stages: {} },
    }));
    put(a, 'quiet-gecko', '2026-11-27T08:12:00.000Z');
    put(b, 'quiet-gecko', '2026-11-27T08:13:00.000Z');
    put(c, 'brisk-otter', '2026-11-27T08:14:00.000Z');
    const store = new ExperimentStore(dir);
    const r = store.find('quiet-gecko');
    assert.ok('error' in r, 'ambiguous name refused');
    assert.match(r.error, new RegExp(`${a}.*${b}`));
    const byId = store.find(b);
    assert.ok('exp' in byId && byId.exp.id === b, 'the id still finds it');
    const one = store.find('brisk-otter');
    assert.ok('exp' in one && one.exp.id === c);
    const prefix = store.find('0004');
    assert.ok('error' in prefix, 'a prefix of two ids is refused');
  });
});
