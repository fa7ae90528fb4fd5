/**
 * Our wasm kernels against the pure-JS `cpu` backend: gradients of conv2d and
 * conv2dTranspose (and the transposed convolution's own output) for every
 * kernel size, stride and padding the models use, to 1e-4 relative.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTf } from '../stages/lib/backend.js';
import type { TfHandle } from '../stages/lib/backend.js';

type Tensor = import('@tensorflow/tfjs').Tensor;

type Tf = TfHandle['tf'];
type Arrays = Float32Array[];

/** Deterministic pseudo-random floats in [-1, 1). */
function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

interface Case {
  name: string;
  transpose: boolean;
  k: [number, number];
  s: number;
  pad: 'same' | 'valid';
  /** Batch, input and output channels other than N, CI, CO (the filter gradient's other paths). */
  dims?: { n: number; ci: number; co: number };
}

const N = 2, H = 12, W = 13, CI = 3, CO = 4;

/** [x, w, r] -> [output, dL/dx, dL/dw] with L = sum(op(x, w) * r), on the active backend. */
function compute(tf: Tf, c: Case, seed: number): Arrays {
  return tf.tidy(() => {
    const [kh, kw] = c.k;
    if (!c.transpose) {
      const { n, ci, co } = c.dims ?? { n: N, ci: CI, co: CO };
      const x = tf.tensor4d(rand(n * H * W * ci, seed), [n, H, W, ci]);
      const w = tf.tensor4d(rand(kh * kw * ci * co, seed + 1), [kh, kw, ci, co]);
      const y = tf.conv2d(x, w, c.s, c.pad);
      const r = tf.tensor(rand(y.size, seed + 2), y.shape);
      const g = tf.grads((a, b) => tf.sum(tf.mul(tf.conv2d(a as typeof x, b as typeof w, c.s, c.pad), r)));
      return [y, ...g([x, w] as never)].map((t) => t.dataSync() as Float32Array);
    }
    // conv2dTranspose of a small input to [N, H, W, CI] (w: [kh, kw, out=CI, in=CO]).
    const ih = c.pad === 'same' ? Math.ceil(H / c.s) : Math.ceil((H - kh + 1) / c.s);
    const iw = c.pad === 'same' ? Math.ceil(W / c.s) : Math.ceil((W - kw + 1) / c.s);
    const x = tf.tensor4d(rand(N * ih * iw * CO, seed), [N, ih, iw, CO]);
    const w = tf.tensor4d(rand(kh * kw * CI * CO, seed + 1), [kh, kw, CI, CO]);
    const shape: [number, number, number, number] = [N, H, W, CI];
    const r = tf.tensor(rand(N * H * W * CI, seed + 2), shape);
    const f = (a: typeof x, b: typeof w) => tf.conv2dTranspose(a, b, shape, c.s, c.pad);
    const g = tf.grads((a, b) => tf.sum(tf.mul(f(a as typeof x, b as typeof w), r)));
    return [f(x, w), ...g([x, w] as never)].map((t) => t.dataSync() as Float32Array);
  });
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let diff = 0, scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

const kernels: [number, number][] = [[1, 1], [3, 3], [1, 3], [3, 1], [1, 5], [5, 1], [1, 10], [10, 1], [2, 2]];
const cases: Case[] = [];
for (const k of kernels) {
  for (const s of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) cases.push({ name: `conv ${k[0]}x${k[1]} /${s} ${pad}`, transpose: false, k, s, pad });
  }
}
cases.push({ name: 'conv 1x1 /1 same, more channels in than out', transpose: false, k: [1, 1], s: 1, pad: 'same', dims: { n: N, ci: CO, co: CI } });
cases.push({ name: 'conv 1x1 /1 same, 12 channels in, 3 out', transpose: false, k: [1, 1], s: 1, pad: 'same', dims: { n: N, ci: 12, co: 3 } });
cases.push({ name: 'conv 3x3 /1 same, 5 channels in, 3 out', transpose: false, k: [3, 3], s: 1, pad: 'same', dims: { n: N, ci: 5, co: 3 } });
for (const co of [2, 4]) {
  for (const k of [[1, 5], [3, 3]] as [number, number][]) {
    cases.push({ name: `conv ${k[0]}x${k[1]} /1 same, batch 8, ${co} channels`, transpose: false, k, s: 1, pad: 'same', dims: { n: 8, ci: co, co } });
  }
}
for (const k of [[2, 2], [3, 3], [1, 3], [1, 1]] as [number, number][]) {
  for (const s of [1, 2]) {
    for (const pad of ['same', 'valid'] as const) cases.push({ name: `convT ${k[0]}x${k[1]} /${s} ${pad}`, transpose: true, k, s, pad });
  }
}

test('wasm conv gradients equal the cpu backend to 1e-4 relative, with no leaks', async () => {
  const { tf } = await loadTf('cpu');
  const expected = cases.map((c, i) => compute(tf, c, 100 * i));
  await loadTf('wasm');
  assert.equal(tf.getBackend(), 'wasm');
  const tensors = tf.memory().numTensors;
  const dataIds = tf.engine().backend.numDataIds();
  const failures: string[] = [];
  cases.forEach((c, i) => {
    const got = compute(tf, c, 100 * i);
    ['output', 'dx', 'dw'].forEach((what, j) => {
      const rel = maxRelDiff(got[j]!, expected[i]![j]!);
      if (!(rel <= 1e-4)) failures.push(`${c.name} ${what}: relative difference ${rel.toExponential(2)}`);
    });
  });
  assert.deepEqual(failures, []);
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(tf.engine().backend.numDataIds(), dataIds);
});

test('1x1 filter gradients of three convs on one input (its transpose reused) equal cpu, with no leaks', async () => {
  const { tf } = await loadTf('cpu');
  const run = (): Float32Array[] => tf.tidy(() => {
    const x = tf.tensor4d(rand(N * H * W * 12, 7), [N, H, W, 12]);
    const r = tf.tensor4d(rand(N * H * W * 3, 8), [N, H, W, 3]);
    const ws = [0, 1, 2].map((i) => tf.tensor4d(rand(12 * 3, 20 + i), [1, 1, 12, 3]));
    const loss = (a: Tensor, b: Tensor, c: Tensor) =>
      tf.sum(tf.mul(tf.addN([a, b, c].map((w) => tf.conv2d(x, w as typeof x, 1, 'same'))), r));
    return tf.grads(loss as (...w: Tensor[]) => Tensor)(ws).map((t) => t.dataSync() as Float32Array);
  });
  const expected = run();
  await loadTf('wasm');
  const tensors = tf.memory().numTensors;
  const dataIds = tf.engine().backend.numDataIds();
  const got = run();
  got.forEach((g, i) => assert.ok(maxRelDiff(g, expected[i]!) <= 1e-4, `dw${i}`));
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(tf.engine().backend.numDataIds(), dataIds);
});

/**
 * `compute` on the cpu backend, then on wasm: asserts every array of wasm's
 * equals cpu's to `tolerance` relative and that wasm's run left no tensor
 * behind. Returns wasm's arrays and the data-id count from before its run.
 */
async function wasmAgainstCpu(compute: (tf: Tf) => Arrays, tolerance: number): Promise<{ tf: Tf; got: Arrays; dataIds: number }> {
  const { tf } = await loadTf('cpu');
  const expected = compute(tf);
  await loadTf('wasm');
  const tensors = tf.memory().numTensors;
  const dataIds = tf.engine().backend.numDataIds();
  const got = compute(tf);
  const failures = got.map((g, i) => [i, maxRelDiff(g, expected[i]!)] as const).filter(([, d]) => !(d <= tolerance));
  assert.deepEqual(failures, []);
  assert.equal(tf.memory().numTensors, tensors);
  return { tf, got, dataIds };
}

/** Max-pool gradients, copies (concat, split, tile) and a fused 1x3/2 'same' conv. */
function computeOthers(tf: Tf): Arrays {
  return tf.tidy(() => {
    const x = tf.tensor4d(rand(N * H * W * CI, 7), [N, H, W, CI]);
    const x1 = tf.tensor4d(rand(N * H * W, 8), [N, H, W, 1]);
    // Many ties (ReLU zeros and equal rounded values) in interior and border windows of the 3x3/1 and 2x2/2 fast paths.
    const xt = tf.relu(tf.round(tf.mul(x, 2))) as typeof x;
    const outs: Array<import('@tensorflow/tfjs').Tensor> = [];
    const pools = [[x, 3, 1, 'same'], [x, 2, 2, 'valid'], [x1, 3, 1, 'same'], [x, 3, 2, 'same'], [xt, 3, 1, 'same'], [xt, 3, 1, 'valid'], [xt, 2, 2, 'valid']] as const;
    for (const [t, k, s, pad] of pools) {
      const r = tf.tensor(rand(tf.maxPool(t, k, s, pad).size, 9), tf.maxPool(t, k, s, pad).shape);
      outs.push(tf.grad((a) => tf.sum(tf.mul(tf.maxPool(a as typeof x, k, s, pad), r)))(t));
    }
    // Ties: a constant input must send each window's gradient to one position.
    outs.push(tf.grad((a) => tf.sum(tf.maxPool(a as typeof x, 3, 1, 'same')))(tf.onesLike(x)));
    outs.push(tf.concat([x, x1, x], 3), tf.concat([x, x], 1));
    outs.push(...tf.split(x, [1, 2], 3), ...tf.split(x, [5, 7], 1));
    // 4- and 8-channel runs (the unrolled copies of the inception towers).
    const x16 = tf.tensor4d(rand(N * H * W * 16, 12), [N, H, W, 16]);
    const [a4, b4, c8] = tf.split(x16, [4, 4, 8], 3) as [typeof x, typeof x, typeof x];
    outs.push(a4, b4, c8, tf.concat([a4, b4, c8, a4], 3));
    // 2-channel runs (the default U-Net's first level).
    const [p2, q2] = tf.split(b4, [2, 2], 3) as [typeof x, typeof x];
    outs.push(p2, q2, tf.concat([p2, q2, p2], 3));
    outs.push(tf.tile(tf.tensor4d(rand(CI, 10), [1, 1, 1, CI]), [N, H, W, 1]), tf.tile(x, [1, 2, 1, 3]));
    outs.push(tf.clone(x));
    const w = tf.tensor4d(rand(3 * CI * CO, 11), [1, 3, CI, CO]);
    outs.push(tf.fused.conv2d({ x, filter: w, strides: 2, pad: 'same', bias: tf.ones([CO]), activation: 'relu' }));
    return outs.map((t) => t.dataSync() as Float32Array);
  });
}

test('wasm max-pool gradient, concat, split, tile, identity and fused conv equal cpu', async () => {
  await wasmAgainstCpu(computeOthers, 1e-6);
});

/**
 * Training-mode batch norm as tfjs-layers runs it (moments, then batchNorm),
 * on 4-D and 2-D inputs (stock TF.js cannot
 * differentiate batchNorm without a scale: it saves the missing input): output and the gradients of
 * x, gamma and beta, plus the Mean and Square gradients on their own.
 */
function computeBatchNorm(tf: Tf): Arrays {
  return tf.tidy(() => {
    const outs: Array<import('@tensorflow/tfjs').Tensor> = [];
    // [4,16,16,32] is above channel-kernels' MIN_ELEMENTS, so the per-channel kernels run too.
    for (const shape of [[N, H, W, CO], [N, 7, 5, 16], [6, 5], [4, 16, 16, 32]] as const) {
      const n = shape.reduce((a, b) => a * b, 1), c = shape[shape.length - 1]!;
      const x = tf.tensor(rand(n, 20 + c).map((v) => 3 * v + 1), [...shape]);
      const gamma = tf.tensor1d(rand(c, 21)), beta = tf.tensor1d(rand(c, 22));
      const r = tf.tensor(rand(n, 23), [...shape]);
      const axes = shape.map((_, i) => i).slice(0, -1);
      const f = (a: typeof x, g: typeof x, b: typeof x) => {
        const { mean, variance } = tf.moments(a, axes);
        return tf.sum(tf.mul(tf.batchNorm(a, mean, variance, b, g, 1e-3), r));
      };
      outs.push(f(x, gamma, beta), ...tf.grads(f as never)([x, gamma, beta] as never));
      outs.push(tf.grad((a) => tf.sum(tf.mul(tf.mean(a as typeof x, axes), gamma)))(x));
      outs.push(tf.grad((a) => tf.sum(tf.mul(tf.square(a as typeof x), r)))(x));
    }
    return outs.map((t) => t.dataSync() as Float32Array);
  });
}

test('wasm batch-norm and mean gradients (and square) equal cpu to 1e-4 relative', async () => {
  const { tf, got } = await wasmAgainstCpu(computeBatchNorm, 1e-4);
  assert.equal(got.length, 24);
  // The fused kernels really ran (a regression to the stock gradients would pass the comparison).
  const profile = await tf.profile(() => { computeBatchNorm(tf); });
  const names = new Set(profile.kernels.map((k) => k.name));
  for (const k of ['PipeBatchNormGrad', 'PipeBroadcastRows']) assert.ok(names.has(k), `${k} not used`);
});

/** Per-channel broadcasting binary ops (both operand orders, [C] and [1,1,1,C]) and leading-axes Sum/Mean. */
function computeChannelOps(tf: Tf): Arrays {
  return tf.tidy(() => {
    const shape = [4, 16, 16, 32] as const;
    const t = tf.tensor4d(rand(4 * 16 * 16 * 32, 30), [...shape]);
    const v = tf.tensor1d(rand(32, 31).map((x) => x + 2));
    const v4 = v.reshape([1, 1, 1, 32]);
    const outs = [tf.add(t, v), tf.add(v4, t), tf.sub(t, v4), tf.sub(v, t), tf.mul(t, v), tf.mul(v4, t), tf.div(t, v), tf.div(v4, t)];
    outs.push(tf.sum(t, [0, 1, 2]), tf.sum(t, [2, 0, 1], true), tf.mean(t, [0, 1, 2]), tf.mean(t, [0, 1, 2], true));
    outs.push(tf.sum(t, [1, 2]), tf.mean(t, -1));
    return outs.map((o) => o.dataSync() as Float32Array);
  });
}

test('wasm per-channel broadcast and reductions equal cpu to 1e-4 relative', async () => {
  const { tf, got, dataIds } = await wasmAgainstCpu(computeChannelOps, 1e-4);
  assert.equal(got.length, 14);
  assert.equal(tf.engine().backend.numDataIds(), dataIds);
});

/** First- and second-order gradients through ops that save tensors (mul, relu, maxPool, conv). */
function computeSaved(tf: Tf): Arrays {
  return tf.tidy(() => {
    const x = tf.tensor4d(rand(N * H * W * CI, 40), [N, H, W, CI]);
    const w = tf.tensor4d(rand(3 * 3 * CI * CO, 41), [3, 3, CI, CO]);
    type T4 = typeof x;
    const f1 = (a: T4) => tf.sum(tf.mul(tf.relu(tf.conv2d(tf.maxPool(tf.mul(a, a) as T4, 3, 1, 'same') as T4, w, 1, 'same')), a.mean()));
    // MaxPoolGrad has no gradient in TF.js: the second-order case leaves the pool out.
    const f2 = (a: T4) => tf.sum(tf.mul(tf.relu(tf.conv2d(tf.mul(a, a) as T4, w, 1, 'same')), a.mean()));
    const g1 = tf.grad((a) => f1(a as T4));
    const g2 = tf.grad((a) => tf.sum(tf.mul(tf.grad((b) => f2(b as T4))(a), a)));
    const cube = tf.grad((a) => tf.sum(tf.grad((b) => tf.sum(tf.mul(tf.mul(b, b), b)))(a)));
    return [g1(x), g2(x), cube(x)].map((t) => t.dataSync() as Float32Array);
  });
}

test('wasm: saved tensors are shared without an Identity kernel; first- and second-order gradients equal cpu', async () => {
  const { tf, dataIds } = await wasmAgainstCpu(computeSaved, 1e-4);
  assert.equal(tf.engine().backend.numDataIds(), dataIds);
  // The engine's clone (what kernels' saveFunc calls) runs no kernel and shares the data.
  const t = tf.ones([2, 3]);
  let clone: import('@tensorflow/tfjs').Tensor | undefined;
  const engine = tf.engine() as unknown as { clone(x: typeof t): typeof t };
  const profile = await tf.profile(() => {
    tf.grad((a) => { clone = tf.keep(engine.clone(t)); return tf.sum(a); })(t).dispose();
  });
  assert.deepEqual(profile.kernels.map((k) => k.name).filter((n) => n === 'Identity'), []);
  assert.equal(clone?.dataId, t.dataId);
  tf.dispose([t, clone!]);
  assert.equal(tf.engine().backend.numDataIds(), dataIds);
});

test('wasm: a fused conv whose input needs no gradient skips it; weights bit-identical, input gradients unaffected', async () => {
  const { tf } = await loadTf('wasm');
  const { setSkipInputGrad, skippedInputGrads } = await import('../stages/kernels/skip-input-grad.js');
  const { buildClassifier } = await import('../stages/models/classifier.js');
  const { focalLoss } = await import('../stages/models/losses.js');
  const { createTrainer } = await import('../stages/models/train-loop.js');
  const tensors = tf.memory().numTensors;
  const train = (): Uint8Array[] => {
    const model = buildClassifier(tf, { inputShape: [16, 16, 1], widths: [4, 8], blocks: 1, seed: 3 });
    const x = tf.tensor4d(rand(8 * 16 * 16, 21), [8, 16, 16, 1]);
    const y = tf.tensor2d([1, 0, 0, 1, 1, 0, 1, 0], [8, 1]);
    const trainer = createTrainer(tf, model, (t, p) => focalLoss(tf, t, p, { gamma: 2, alpha: 0.75 }), 3e-3);
    for (let i = 0; i < 3; i++) trainer.step(x, y);
    const bytes = model.getWeights().map((w) => new Uint8Array(Float32Array.from(w.dataSync() as Float32Array).buffer));
    trainer.dispose();
    model.dispose();
    tf.dispose([x, y]);
    return bytes;
  };
  const s0 = skippedInputGrads();
  const fast = train();
  assert.equal(skippedInputGrads() - s0, 3, 'the stem conv\'s input gradient was skipped once per step');
  setSkipInputGrad(false);
  let slow: Uint8Array[];
  try {
    slow = train();
  } finally {
    setSkipInputGrad(true);
  }
  assert.equal(skippedInputGrads() - s0, 3, 'nothing skipped while disabled');
  assert.equal(fast.length, slow.length);
  fast.forEach((b, i) => assert.deepEqual(b, slow[i], `weight ${i} differs`));
  // A gradient with respect to the input keeps it: computed, and equal to the cpu backend's.
  const inputGrad = (t: Tf) => t.tidy(() => {
    const x = t.tensor4d(rand(2 * 9 * 8 * 2, 31), [2, 9, 8, 2]);
    const w = t.tensor4d(rand(3 * 3 * 2 * 3, 32), [3, 3, 2, 3]);
    const g = t.grads((a, b) => t.sum(t.fused.conv2d({ x: a as typeof x, filter: b as typeof w, strides: 2, pad: 'same' })));
    return g([x, w]).map((d) => d.dataSync() as Float32Array);
  });
  const s1 = skippedInputGrads();
  const got = inputGrad(tf);
  assert.equal(skippedInputGrads(), s1);
  const { tf: cpu } = await loadTf('cpu');
  const want = inputGrad(cpu);
  await loadTf('wasm');
  got.forEach((g, i) => assert.ok(maxRelDiff(g, want[i]!) <= 1e-4, `gradient ${i}`));
  assert.equal(tf.memory().numTensors, tensors);
});

/**
 * Gradients of relu, broadcasting add/sub (per-channel bias, [1,1,1,C], same
 * shape, a size-1 leading axis) and reshape, by tf.grads (our fused or
 * data-sharing gradients on wasm) and by the stock gradients' own ops
 * written out: the same bits, with the fused kernels and fewer engine calls.
 */
test('wasm: relu, add, sub and reshape gradients are the stock ones bit for bit, in fewer engine calls', async () => {
  const { tf } = await loadTf('wasm');
  const tensors = tf.memory().numTensors;
  const shape = [2, 6, 5, 8];
  const n = shape.reduce((a, b) => a * b, 1);
  const xv = rand(n, 41);
  // Zeros of both signs and ties in x, negative dy: signs of zero products matter.
  for (let i = 0; i < n; i += 7) xv[i] = i % 2 === 0 ? 0 : -0;
  const cases = tf.tidy(() => {
    const x = tf.tensor4d(xv, shape as [number, number, number, number]);
    const dy = tf.tensor4d(rand(n, 42), shape as [number, number, number, number]);
    const bias = tf.tensor1d(rand(8, 43)), bias4 = tf.tensor4d(rand(8, 44), [1, 1, 1, 8]);
    const lead = tf.tensor3d(rand(n / 2, 45), [6, 5, 8]);
    const pairs: [string, import('@tensorflow/tfjs').Tensor[], import('@tensorflow/tfjs').Tensor[]][] = [];
    const g = (f: (...a: import('@tensorflow/tfjs').Tensor[]) => import('@tensorflow/tfjs').Tensor, ...xs: import('@tensorflow/tfjs').Tensor[]) =>
      tf.grads((...a) => tf.sum(tf.mul(f(...a), dy)))(xs);
    pairs.push(['relu', g((a) => tf.relu(a!), x), [tf.mul(dy, tf.cast(tf.step(x), 'float32'))]]);
    pairs.push(['add bias', g((a, b) => tf.add(a!, b!), x, bias), [tf.reshape(dy, x.shape), tf.reshape(tf.sum(dy, [0, 1, 2]), [8])]]);
    pairs.push(['add bias4', g((a, b) => tf.add(a!, b!), x, bias4), [tf.reshape(dy, x.shape), tf.reshape(tf.sum(dy, [0, 1, 2]), [1, 1, 1, 8])]]);
    pairs.push(['sub bias', g((a, b) => tf.sub(a!, b!), x, bias), [tf.reshape(dy, x.shape), tf.reshape(tf.neg(tf.sum(dy, [0, 1, 2])), [8])]]);
    pairs.push(['add same', g((a, b) => tf.add(a!, b!), x, tf.relu(x)), [tf.reshape(dy, x.shape), tf.reshape(dy, x.shape)]]);
    pairs.push(['add lead', g((a, b) => tf.add(a!, b!), x.slice([0], [1]).reshape([6, 5, 8]).expandDims(0).tile([2, 1, 1, 1]), lead),
      [tf.reshape(dy, x.shape), tf.reshape(tf.sum(dy, [0]), [6, 5, 8])]]);
    pairs.push(['reshape', g((a) => tf.reshape(a!, shape), tf.reshape(x, [12, 40])), [tf.reshape(dy, [12, 40])]]);
    return pairs.map(([name, got, want]) => [name, got.map((t) => t.dataSync() as Float32Array), want.map((t) => t.dataSync() as Float32Array)] as const);
  });
  for (const [name, got, want] of cases) {
    assert.equal(got.length, want.length, name);
    got.forEach((v, i) => assert.deepEqual(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), new Uint8Array(want[i]!.buffer, want[i]!.byteOffset, want[i]!.byteLength), `${name}: gradient ${i}`));
  }
  const x = tf.randomNormal([2, 6, 5, 8], 0, 1, 'float32', 3), b = tf.randomNormal([8], 0, 1, 'float32', 4);
  const profile = await tf.profile(() => {
    tf.grads((a, c) => tf.sum(tf.relu(tf.add(a!, c!))))([x, b]).forEach((t) => t.dispose());
  });
  const names = profile.kernels.map((k) => k.name);
  assert.ok(names.includes('PipeReluGrad') && names.includes('PipeReduceTo'), names.join(' '));
  assert.ok(!names.includes('Step'), names.join(' '));
  tf.dispose([x, b]);
  assert.equal(tf.memory().numTensors, tensors);
});
