/**
 * Training on the chosen backend is deterministic: the same seed gives
 * bit-identical weights on a rerun (a tiny conv net, a few Adam steps).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf } from '../stages/backend.js';
import { createAdam } from '../stages/backend/adam.js';

async function train(seed: number): Promise<Uint8Array> {
  const { tf } = await loadTf('auto');
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [12, 10, 1], filters: 4, kernelSize: [1, 3], padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed }) }),
      tf.layers.batchNormalization(),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2dTranspose({ filters: 4, kernelSize: 2, strides: 2, padding: 'same', kernelInitializer: tf.initializers.heNormal({ seed: seed + 1 }) }),
      tf.layers.conv2d({ filters: 1, kernelSize: 3, strides: 2, padding: 'same', activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) }),
    ],
  });
  const x = tf.randomUniform([4, 12, 10, 1], 0, 1, 'float32', seed + 3);
  const y = tf.randomUniform([4, 6, 5, 1], 0, 1, 'float32', seed + 4).round();
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

test('same seed, same backend: bit-identical weights after training', async () => {
  const a = await train(5);
  const b = await train(5);
  const c = await train(6);
  assert.ok(a.length > 0);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});
