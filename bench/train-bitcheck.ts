/**
 * Are training results bit-identical to another checkout's? Trains the
 * benchmark's models (and the U-Net with the presence head and the
 * dice + BCE + presence loss) a few steps each on fixed random batches, in
 * this checkout and in `--ref DIR` (a checkout with `dist/` built and its own
 * node_modules), each in its own process, and compares a SHA-256 of every
 * weight (batch-norm statistics included) and every step's loss.
 *
 *   node dist/bench/train-bitcheck.js [--ref DIR] [--steps 3] [--threads 1]
 *
 * Prints one line per model, `equal` or `differs`, and exits 1 if any
 * differs. Without `--ref` it only prints this checkout's digests. Kernel
 * work that must not change arithmetic (stages/kernels) is checked with it
 * against the commit before the change.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** The models trained, by name: what each config builds and its loss. */
const CASES = ['unet-reference', 'unet-presence-bce', 'classifier-default', 'classifier-128'] as const;

type Digests = Record<string, string>;

/** Child side: trains every case with the modules of `root` and returns the digests. */
async function digestsOf(root: string, steps: number, threads: number): Promise<Digests> {
  const mod = async <T>(p: string): Promise<T> => (await import(pathToFileURL(path.join(root, 'dist', p)).href)) as T;
  const { loadTf } = await mod<typeof import('../stages/lib/backend.js')>('stages/lib/backend.js');
  const { buildUnet } = await mod<typeof import('../stages/models/unet.js')>('stages/models/unet.js');
  const { buildClassifier } = await mod<typeof import('../stages/models/classifier.js')>('stages/models/classifier.js');
  const losses = await mod<typeof import('../stages/models/losses.js')>('stages/models/losses.js');
  const { createTrainer } = await mod<typeof import('../stages/models/train-loop.js')>('stages/models/train-loop.js');
  const { tf } = await loadTf('wasm', undefined, { threads });
  const out: Digests = {};
  for (const name of CASES) {
    const unet = name.startsWith('unet');
    const presence = name === 'unet-presence-bce';
    const size = name === 'classifier-128' ? 128 : 64;
    const model = unet
      ? buildUnet(tf, { inputShape: [64, 80, 1], baseFilters: presence ? 8 : 16, depth: 4, seed: 1, outputPrior: 0.02, presenceHead: presence })
      : buildClassifier(tf, { inputShape: [size, size, 1], widths: [8, 16, 32], blocks: 1, seed: 1 });
    const shape = unet ? [8, 64, 80, 1] : [32, size, size, 1];
    const x = tf.randomUniform(shape, 0, 1, 'float32', 1);
    const y = tf.tidy(() => unet
      // Sparse masks (about 5 % of pixels) so that dice, BCE and presence all see both classes.
      ? tf.cast(tf.greater(tf.randomUniform(shape, 0, 1, 'float32', 2), 0.95), 'float32')
      : tf.randomUniform([32, 1], 0, 1, 'float32', 2).round());
    const loss = unet
      ? (t: typeof x, p: typeof x) => presence ? losses.segLoss(tf, t, p, { bce: 1, presence: 0.5 }) : losses.diceLoss(tf, t, p)
      : (t: typeof x, p: typeof x) => losses.focalLoss(tf, t, p, { gamma: 2, alpha: 0.75 });
    const trainer = createTrainer(tf, model, loss, 1e-3);
    const h = createHash('sha256');
    for (let i = 0; i < steps; i++) h.update(new Float64Array([trainer.step(x, y)]));
    for (const w of model.getWeights()) h.update(new Uint8Array(Float32Array.from(w.dataSync() as Float32Array).buffer));
    out[name] = h.digest('hex');
    trainer.dispose();
    model.dispose();
    tf.dispose([x, y]);
  }
  return out;
}

function runChild(root: string, steps: number, threads: number): Digests {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [self, '--child', root, '--steps', String(steps), '--threads', String(threads)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`digest run in ${root} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Digests;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    ref: { type: 'string' }, steps: { type: 'string', default: '3' }, threads: { type: 'string', default: '1' }, child: { type: 'string' },
  } });
  const steps = Number(values.steps), threads = Number(values.threads);
  if (values.child !== undefined) {
    console.log(JSON.stringify(await digestsOf(values.child, steps, threads)));
    return;
  }
  const here = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const ours = runChild(here, steps, threads);
  if (values.ref === undefined) {
    for (const name of CASES) console.log(`${name.padEnd(20)} ${ours[name]}`);
    return;
  }
  const theirs = runChild(path.resolve(values.ref), steps, threads);
  let differs = 0;
  for (const name of CASES) {
    const same = ours[name] !== undefined && ours[name] === theirs[name];
    if (!same) differs++;
    console.log(`${name.padEnd(20)} ${same ? 'equal  ' : 'differs'} ${ours[name]}${same ? '' : ` vs ${theirs[name]}`}`);
  }
  console.log(`${steps} steps each, ${threads} thread(s): ${differs === 0 ? 'all equal' : `${differs} differ`} (this checkout vs ${values.ref})`);
  process.exitCode = differs === 0 ? 0 : 1;
}

await main();
