import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judge } from '../engine/exp/repro.js';
import { machineInfo } from '../engine/exp/machine.js';
import type { LockEntry } from '../engine/lockfile.js';

const entry = (digest: string, info: Record<string, string>, metrics: Record<string, number> = {}): LockEntry => ({
  kind: 'train-seg', key: 'sha256:k' as LockEntry['key'], code: 'sha256:c', params: {}, inputs: {}, deps: {},
  outputs: { model: { digest: digest as never, kind: 'file', size: 1 } }, metrics, info, duration_ms: 1, finished_at: '2026-01-01T00:00:00Z',
});

test('a --no-cache repro that differs on another machine names the facts that differ', () => {
  const then = entry(`sha256:${'a'.repeat(64)}`, { backend: 'wasm', threads: '1', cpu: 'Other CPU', simd: 'avx2 sse4_2', node: 'v20.1.0', 'tfjs-core': '4.22.0' }, { val_dice: 0.5 });
  const now = entry(`sha256:${'b'.repeat(64)}`, { backend: 'wasm', threads: '2', cpu: 'This CPU', simd: 'avx2 sse4_2', node: 'v20.1.0', 'tfjs-core': '4.22.0' }, { val_dice: 0.49 });
  const v = judge('train-seg', then, now, { stage: 'train-seg', status: 'ran', durationMs: 1 }, undefined);
  assert.equal(v.verdict, 'differs');
  assert.match(v.detail[0] ?? '', /^model: sha256:aaaaaaaaaaaa… in the lock, sha256:bbbbbbbbbbbb… now$/);
  assert.ok(v.detail.includes('val_dice 0.5 -> 0.49'));
  assert.match(v.detail.at(-1) ?? '', /this machine differs from the lock's: cpu "This CPU" here, "Other CPU" in the lock; threads "2" here, "1" in the lock$/);
  const same = judge('train-seg', then, entry(then.outputs['model']!.digest, now.info), { stage: 'train-seg', status: 'ran', durationMs: 1 }, then);
  assert.deepEqual([same.verdict, same.detail], ['identical', []]);
});

test('the machine facts come from this machine', () => {
  const m = machineInfo();
  assert.ok(m['cpu'] && m['arch'] && m['node'] === process.version && m['simd']);
});
