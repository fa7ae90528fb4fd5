/**
 * Training and inference throughput of pipe's U-Net and classifier on our
 * TF.js backend versus the same architectures in PyTorch (Debian's
 * python3-torch, installed here when missing; never a project dependency),
 * same shapes, same thread count. Our side is the step `pipe run` runs: the
 * models, losses, optimizer and step of train-seg/train-cls (see
 * train-throughput-models.ts).
 *
 *   node dist/bench/train-throughput.js [--backend wasm] [--threads N] [--steps 5] [--rounds 2] [--stock-adam]
 *
 * `--threads` sets our wasm threads (default: env PIPE_THREADS, else the core
 * count); PyTorch gets the same number unless `--torch-threads` says otherwise.
 * `--stock-adam` times our step with `tf.train.adam` instead of the train
 * loop's fused Adam, to see what the fusion buys. The load average is printed
 * before and after: figures taken while other processes compete for the
 * cores are indicative only.
 *
 * Each round times every config in TF.js, then every config in PyTorch (rounds
 * alternate so that load from other processes hits both); the figure is the
 * median step over all rounds, in wall time and in the process's CPU time
 * (with one thread each, CPU time is the work itself and much less disturbed
 * by other processes than wall time). The last three lines are the ratios
 * (ours / PyTorch images per second, higher is better; wall, then CPU) for
 * the reference U-Net (4 levels, 16 base filters, batch 8 of 64x80)
 * and the default classifier:
 *
 *   unet train ratio: X.XX (cpu X.XX)
 *   unet infer ratio: X.XX (cpu X.XX)
 *   classifier train ratio: X.XX (cpu X.XX)
 */
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadTf } from '../stages/lib/backend.js';
import type { BackendPref } from '../stages/lib/backend.js';
import { CONFIGS, makeStep, runTorchScript } from './train-throughput-models.js';
import type { Config } from './train-throughput-models.js';

/** Per-step samples in ms: wall and CPU time, training and inference. */
interface Timing { train: number[]; infer: number[]; trainCpu: number[]; inferCpu: number[] }

const timing = (): Timing => ({ train: [], infer: [], trainCpu: [], inferCpu: [] });

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? NaN;
};

async function timeOurs(tf: Awaited<ReturnType<typeof loadTf>>['tf'], c: Config, steps: number, into: Timing, stockAdam: boolean): Promise<void> {
  const s = makeStep(tf, c, { stockAdam });
  for (const [f, wall, cpu] of [[s.train, into.train, into.trainCpu], [s.infer, into.infer, into.inferCpu]] as const) {
    f();
    for (let i = 0; i < steps; i++) {
      const t = performance.now();
      const c0 = process.cpuUsage();
      f();
      const used = process.cpuUsage(c0);
      wall.push(performance.now() - t);
      cpu.push((used.user + used.system) / 1000);
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

type TorchResult = { train_ms: number; infer_ms: number; train_cpu_ms: number; infer_cpu_ms: number };

function timeTorch(threads: number, steps: number): { torch: string; results: Record<string, TorchResult> } {
  return runTorchScript('torch_models.py', { threads, steps, warmup: 1, configs: CONFIGS });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    backend: { type: 'string', default: 'auto' }, steps: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '2' }, threads: { type: 'string' }, 'torch-threads': { type: 'string' },
    'stock-adam': { type: 'boolean', default: false },
  } });
  const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`load average before: ${load()} (${availableParallelism()} cores)`);
  const steps = Number(values.steps), rounds = Number(values.rounds);
  const ourThreads = values.threads === undefined ? undefined : Number(values.threads);
  const h = await loadTf(values.backend as BackendPref, (m) => console.log(m), { threads: ourThreads });
  const threads = Number(values['torch-threads'] ?? h.threads);
  ensureTorch(console.log);
  const ours = new Map(CONFIGS.map((c) => [c.name, timing()]));
  const theirs = new Map(CONFIGS.map((c) => [c.name, timing()]));
  let torchVersion = '?';
  for (let r = 0; r < rounds; r++) {
    for (const c of CONFIGS) await timeOurs(h.tf, c, steps, ours.get(c.name)!, values['stock-adam']);
    const t = timeTorch(threads, steps);
    torchVersion = t.torch;
    for (const c of CONFIGS) {
      const res = t.results[c.name]!, into = theirs.get(c.name)!;
      into.train.push(res.train_ms);
      into.infer.push(res.infer_ms);
      into.trainCpu.push(res.train_cpu_ms);
      into.inferCpu.push(res.infer_cpu_ms);
    }
  }
  console.log(`load average after: ${load()}`);
  console.log(`tfjs ${h.backend} (${h.threads} threads, ${values['stock-adam'] ? 'tf.train.adam' : 'fused Adam'}) vs PyTorch ${torchVersion} (${threads} threads); ms per batch, median (wall / cpu)`);
  const ratios: Record<string, Record<'train' | 'infer' | 'trainCpu' | 'inferCpu', number>> = {};
  for (const c of CONFIGS) {
    const o = ours.get(c.name)!, p = theirs.get(c.name)!;
    const m = (t: Timing) => ({ train: median(t.train), infer: median(t.infer), trainCpu: median(t.trainCpu), inferCpu: median(t.inferCpu) });
    const om = m(o), pm = m(p);
    const ms = (wall: number, cpu: number) => `${wall.toFixed(0).padStart(6)}/${cpu.toFixed(0).padEnd(5)} ms`;
    const ips = (ms: number) => ((c.batch * 1000) / ms).toFixed(1).padStart(7);
    console.log(`${c.name.padEnd(19)} batch ${String(c.batch).padStart(2)}  train: ours ${ms(om.train, om.trainCpu)} ${ips(om.train)} img/s, torch ${ms(pm.train, pm.trainCpu)} ${ips(pm.train)} img/s, ratio ${(pm.train / om.train).toFixed(2)} (cpu ${(pm.trainCpu / om.trainCpu).toFixed(2)})` +
      ` | infer: ours ${ms(om.infer, om.inferCpu)}, torch ${ms(pm.infer, pm.inferCpu)}, ratio ${(pm.infer / om.infer).toFixed(2)} (cpu ${(pm.inferCpu / om.inferCpu).toFixed(2)})`);
    ratios[c.name] = { train: pm.train / om.train, infer: pm.infer / om.infer, trainCpu: pm.trainCpu / om.trainCpu, inferCpu: pm.inferCpu / om.inferCpu };
  }
  const line = (label: string, r: Record<'train' | 'infer' | 'trainCpu' | 'inferCpu', number>, k: 'train' | 'infer') =>
    console.log(`${label} ${k} ratio: ${r[k].toFixed(2)} (cpu ${r[k === 'train' ? 'trainCpu' : 'inferCpu'].toFixed(2)})`);
  line('unet', ratios['unet-reference']!, 'train');
  line('unet', ratios['unet-reference']!, 'infer');
  line('classifier', ratios['classifier-default']!, 'train');
}

await main();
