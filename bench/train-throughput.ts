/**
 * Training and inference throughput of pipe's U-Net and classifier on our
 * TF.js backend versus the same architectures in PyTorch (Debian's
 * python3-torch, installed here when missing; never a project dependency),
 * same shapes, same thread count.
 *
 *   node dist/bench/train-throughput.js [--backend wasm] [--threads N] [--steps 5] [--rounds 2]
 *
 * `--threads` sets our wasm threads (default: env PIPE_THREADS, else the core
 * count); PyTorch gets the same number unless `--torch-threads` says otherwise.
 *
 * Each round times every config in TF.js, then every config in PyTorch (rounds
 * alternate so that load from other processes hits both); the figure is the
 * median step over all rounds. The last three lines are the ratios
 * (ours / PyTorch images per second, higher is better) for the issue's
 * reference U-Net (4 levels, 16 base filters, batch 8 of 64x80) and the
 * default classifier:
 *
 *   unet train ratio: X.XX
 *   unet infer ratio: X.XX
 *   classifier train ratio: X.XX
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadTf } from '../stages/lib/backend.js';
import type { BackendPref } from '../stages/lib/backend.js';
import { CONFIGS, makeStep } from './train-throughput-models.js';
import type { Config } from './train-throughput-models.js';

interface Timing { train: number[]; infer: number[] }

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? NaN;
};

async function timeOurs(tf: Awaited<ReturnType<typeof loadTf>>['tf'], c: Config, steps: number, into: Timing): Promise<void> {
  const s = makeStep(tf, c);
  for (const [f, out] of [[s.train, into.train], [s.infer, into.infer]] as const) {
    f();
    for (let i = 0; i < steps; i++) {
      const t = performance.now();
      f();
      out.push(performance.now() - t);
    }
  }
  s.dispose();
}

/** Makes sure `/usr/bin/python3 -c "import torch"` works, installing python3-torch with apt if needed. */
function ensureTorch(log: (m: string) => void): void {
  const ok = () => spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
  if (ok()) return;
  log('python3-torch missing: apt-get update && apt-get install -y python3-torch');
  const r = spawnSync('sh', ['-c', 'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch'], { stdio: 'inherit' });
  if (r.status !== 0 || !ok()) throw new Error('could not install python3-torch (run the apt-get line above as root)');
}

function timeTorch(threads: number, steps: number): { torch: string; results: Record<string, { train_ms: number; infer_ms: number }> } {
  const script = fileURLToPath(new URL('../../bench/torch_models.py', import.meta.url));
  const spec = JSON.stringify({ threads, steps, warmup: 1, configs: CONFIGS });
  const r = spawnSync('/usr/bin/python3', ['-W', 'ignore', script, spec], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`torch_models.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    backend: { type: 'string', default: 'auto' }, steps: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' }, threads: { type: 'string' }, 'torch-threads': { type: 'string' },
  } });
  const steps = Number(values.steps), rounds = Number(values.rounds);
  const ourThreads = values.threads === undefined ? undefined : Number(values.threads);
  const h = await loadTf(values.backend as BackendPref, (m) => console.log(m), { threads: ourThreads });
  const threads = Number(values['torch-threads'] ?? h.threads);
  ensureTorch(console.log);
  const ours = new Map(CONFIGS.map((c) => [c.name, { train: [], infer: [] } as Timing]));
  const theirs = new Map(CONFIGS.map((c) => [c.name, { train: [], infer: [] } as Timing]));
  let torchVersion = '?';
  for (let r = 0; r < rounds; r++) {
    for (const c of CONFIGS) await timeOurs(h.tf, c, steps, ours.get(c.name)!);
    const t = timeTorch(threads, steps);
    torchVersion = t.torch;
    for (const c of CONFIGS) {
      theirs.get(c.name)!.train.push(t.results[c.name]!.train_ms);
      theirs.get(c.name)!.infer.push(t.results[c.name]!.infer_ms);
    }
  }
  console.log(`tfjs ${h.backend} (${h.threads} threads) vs PyTorch ${torchVersion} (${threads} threads); ms per batch, median`);
  const ratios: Record<string, { train: number; infer: number }> = {};
  for (const c of CONFIGS) {
    const o = ours.get(c.name)!, p = theirs.get(c.name)!;
    const ot = median(o.train), oi = median(o.infer), pt = median(p.train), pi = median(p.infer);
    const ips = (ms: number) => ((c.batch * 1000) / ms).toFixed(1).padStart(7);
    console.log(`${c.name.padEnd(19)} batch ${String(c.batch).padStart(2)}  train: ours ${ot.toFixed(0).padStart(6)} ms ${ips(ot)} img/s, torch ${pt.toFixed(0).padStart(6)} ms ${ips(pt)} img/s, ratio ${(pt / ot).toFixed(2)}` +
      ` | infer: ours ${oi.toFixed(0).padStart(5)} ms ${ips(oi)} img/s, torch ${pi.toFixed(0).padStart(5)} ms ${ips(pi)} img/s, ratio ${(pi / oi).toFixed(2)}`);
    ratios[c.name] = { train: pt / ot, infer: pi / oi };
  }
  console.log(`unet train ratio: ${ratios['unet-reference']!.train.toFixed(2)}`);
  console.log(`unet infer ratio: ${ratios['unet-reference']!.infer.toFixed(2)}`);
  console.log(`classifier train ratio: ${ratios['classifier-default']!.train.toFixed(2)}`);
}

await main();
