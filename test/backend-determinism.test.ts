/**
 * Training on the chosen backend is deterministic: the same seed gives
 * bit-identical weights on a rerun (a small conv net, a few Adam steps), and
 * the wasm backend gives the same bits with 1 and 2 threads (each thread count
 * needs its own process: the wasm thread pool is fixed when the module loads).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadTf } from '../stages/lib/backend.js';
import type { BackendPref } from '../stages/lib/backend.js';
import { createAdam } from '../stages/kernels/adam.js';

async function train(seed: number, pref: BackendPref = 'auto'): Promise<Uint8Array> {
  const { tf } = await loadTf(pref);
  const init = (s: number) => tf.initializers.heNormal({ seed: s });
  // Wide enough (24x20, 16 channels) that XNNPACK splits convolutions across threads.
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [24, 20, 1], filters: 16, kernelSize: [1, 3], padding: 'same', activation: 'relu', kernelInitializer: init(seed) }),
      tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(seed + 5) }),
      tf.layers.batchNormalization(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2dTranspose({ filters: 8, kernelSize: 2, strides: 2, padding: 'same', kernelInitializer: init(seed + 1) }),
      tf.layers.conv2d({ filters: 1, kernelSize: 3, strides: 2, padding: 'same', activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }),
    ],
  });
  const x = tf.randomUniform([8, 24, 20, 1], 0, 1, 'float32', seed + 3);
  const y = tf.randomUniform([8, 12, 10, 1], 0, 1, 'float32', seed + 4).round();
  const opt = createAdam(tf, 0.01);
  for (let i = 0; i < 4; i++) {
    tf.tidy(() => {
      opt.minimize(() => tf.losses.sigmoidCrossEntropy(y, model.apply(x, { training: true }) as typeof y));
    });
  }
  const bytes: number[] = [];
  for (const w of model.getWeights()) bytes.push(...new Uint8Array((w.dataSync() as Float32Array).slice().buffer));
  opt.dispose();
  model.dispose();
  tf.dispose([x, y]);
  return Uint8Array.from(bytes);
}

// Child mode: print the weights' digest for one thread count and exit (no tests).
const CHILD = 'PIPE_DETERMINISM_CHILD';
if (process.env[CHILD] === '1') {
  const { threads } = await loadTf('wasm');
  const digest = createHash('sha256').update(await train(5, 'wasm')).digest('hex');
  console.log(JSON.stringify({ threads, digest }));
} else {
  test('same seed, same backend: bit-identical weights after training', async () => {
    const a = await train(5);
    const b = await train(5);
    const c = await train(6);
    assert.ok(a.length > 0);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  test('wasm: 1 and 2 threads give bit-identical weights', () => {
    const run = (threads: number) => {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
        env: { ...process.env, [CHILD]: '1', PIPE_THREADS: String(threads) },
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { threads: number; digest: string };
    };
    const one = run(1), two = run(2);
    assert.equal(one.threads, 1);
    assert.equal(two.threads, 2);
    assert.match(one.digest, /^[0-9a-f]{64}$/);
    assert.equal(two.digest, one.digest);
  });
}
