/**
 * Can bench/train-throughput's targets be reached on the wasm backend? Per
 * training step of each benchmark model, at the same thread count:
 *
 * - ours: the whole step (CPU and wall, median), and the CPU time of its
 *   convolution/matmul work inside a step (every top-level Conv2D,
 *   FusedConv2D, Conv2DBackpropInput, Conv2DBackpropFilter, BatchMatMul and
 *   _FusedMatMul call, inclusive of the transposes and copies our kernels do
 *   around XNNPACK; of that, the XNNPACK calls themselves);
 * - PyTorch (bench/torch_bound.py): the whole step, and every Conv2d,
 *   ConvTranspose2d and Linear layer of the step replayed alone on its exact
 *   shapes (forward, weight gradient, input gradient where the step needs it);
 * - GFLOP/s of both on the same nominal FLOP count, and the bound: the ratio
 *   (ours / PyTorch images/s) we would reach if everything but our
 *   convolutions cost nothing, `torch step / our conv time`, with PyTorch's
 *   step the lesser of its CPU and wall time (its CPU time can exceed its
 *   wall time: it uses more than the one thread asked).
 *
 *   node dist/bench/train-throughput-bound.js [--threads 1] [--steps 5] [--rounds 2]
 *
 * Rounds alternate ours and PyTorch. Whole steps are medians (as in
 * bench/train-throughput); conv times are the least over three profiled
 * steps per round on our side and the least of five replays per layer on
 * PyTorch's (the work alone, with as little of other processes' load in it
 * as the samples allow; this favours reaching the target). CPU time is the
 * whole process's (GC threads included). The load average is printed.
 */
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { loadTf } from '../stages/lib/backend.js';
import type { TfHandle } from '../stages/lib/backend.js';
import { CONFIGS, makeStep, runTorchScript, withWrappedKernels } from './train-throughput-models.js';
import type { Config } from './train-throughput-models.js';

type Tf = TfHandle['tf'];
type Shaped = { shape: number[] };

/** Kernels counted as convolution/matmul work; the first four of XNNPACK_KERNELS run XNNPACK directly. */
const CONV_KERNELS = ['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'BatchMatMul', '_FusedMatMul'];
const XNNPACK_KERNELS = new Set(['Conv2D', 'FusedConv2D', 'BatchMatMul', '_FusedMatMul']);

/** Our figures of one config: ms per step. */
interface Ours { stepWall: number[]; stepCpu: number[]; convCpu: number[]; xnnCpu: number[]; flop: number; calls: number }

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? NaN;
};
const cpuMs = (u: NodeJS.CpuUsage): number => (u.user + u.system) / 1000;
const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Nominal FLOP (2 per multiply-add) of one top-level conv/matmul kernel call. */
function flopOf(name: string, inputs: Record<string, Shaped>, attrs: Record<string, unknown>, out: Shaped): number {
  switch (name) {
    case 'Conv2D': case 'FusedConv2D': {
      const f = inputs['filter']!.shape; // [kh, kw, ci, co]
      return 2 * prod(out.shape) * f[0]! * f[1]! * f[2]!;
    }
    case 'Conv2DBackpropInput': {
      const f = inputs['filter']!.shape;
      return 2 * prod(inputs['dy']!.shape) * f[0]! * f[1]! * f[2]!;
    }
    case 'Conv2DBackpropFilter': {
      const f = attrs['filterShape'] as number[];
      return 2 * prod(inputs['dy']!.shape) * f[0]! * f[1]! * f[2]!;
    }
    default: { // BatchMatMul, _FusedMatMul: out [.., m, n], k from a
      const a = inputs['a']!.shape;
      const k = attrs['transposeA'] === true ? a[a.length - 2]! : a[a.length - 1]!;
      return 2 * prod(out.shape) * k;
    }
  }
}

/**
 * Runs `f` once with the conv/matmul kernels wrapped: returns the CPU ms of
 * top-level conv calls (inclusive), of XNNPACK calls, and the nominal FLOP
 * (a Conv2DBackpropInput that runs no convolution, the stem's skipped input
 * gradient, counts none).
 */
function profileConvs(tf: Tf, f: () => void): { conv: number; xnn: number; flop: number; calls: number } {
  let depth = 0, nested = 0, conv = 0, xnn = 0, flop = 0, calls = 0;
  withWrappedKernels(tf, CONV_KERNELS, (name, inner) => ((args: { inputs: Record<string, Shaped>; attrs?: Record<string, unknown> }) => {
    const top = depth === 0;
    if (top) nested = 0; else nested++;
    depth++;
    const c0 = process.cpuUsage();
    let out: Shaped;
    try {
      out = inner(args as never) as unknown as Shaped;
    } finally {
      depth--;
    }
    const ms = cpuMs(process.cpuUsage(c0));
    if (XNNPACK_KERNELS.has(name)) xnn += ms;
    if (top) {
      conv += ms;
      calls++;
      const ran = XNNPACK_KERNELS.has(name) || nested > 0;
      if (ran) flop += flopOf(name, args.inputs, args.attrs ?? {}, out);
    }
    return out;
  }) as unknown as typeof inner, f);
  return { conv, xnn, flop, calls };
}

function timeOurs(tf: Tf, c: Config, steps: number, into: Ours): void {
  const s = makeStep(tf, c);
  s.train();
  s.train();
  for (let i = 0; i < steps; i++) {
    const t = performance.now(), c0 = process.cpuUsage();
    s.train();
    into.stepCpu.push(cpuMs(process.cpuUsage(c0)));
    into.stepWall.push(performance.now() - t);
  }
  for (let i = 0; i < 3; i++) {
    const p = profileConvs(tf, s.train);
    into.convCpu.push(p.conv);
    into.xnnCpu.push(p.xnn);
    into.flop = p.flop;
    into.calls = p.calls;
  }
  s.dispose();
}

type TorchBound = { step_wall_ms: number; step_cpu_ms: number; conv_wall_ms: number; conv_cpu_ms: number; conv_flop: number; layers: number };

function timeTorch(threads: number, steps: number, configs: Config[]): { torch: string; results: Record<string, TorchBound> } {
  return runTorchScript('torch_bound.py', { threads, steps, reps: 5, configs });
}

/** The targets (ours / PyTorch images/s) by config. */
const TARGETS: Record<string, number> = { 'unet-default': 0.75, 'unet-reference': 0.75, 'classifier-default': 0.6 };

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    threads: { type: 'string', default: '1' }, steps: { type: 'string', default: '5' }, rounds: { type: 'string', default: '2' },
  } });
  const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`load average before: ${load()} (${availableParallelism()} cores)`);
  const threads = Number(values.threads), steps = Number(values.steps), rounds = Number(values.rounds);
  const h = await loadTf('wasm', undefined, { threads });
  const configs = CONFIGS.filter((c) => c.name in TARGETS);
  const ours = new Map(configs.map((c) => [c.name, { stepWall: [], stepCpu: [], convCpu: [], xnnCpu: [], flop: 0, calls: 0 } as Ours]));
  const theirs = new Map(configs.map((c) => [c.name, [] as TorchBound[]]));
  let version = '?';
  for (let r = 0; r < rounds; r++) {
    for (const c of configs) timeOurs(h.tf, c, steps, ours.get(c.name)!);
    const t = timeTorch(threads, steps, configs);
    version = t.torch;
    for (const c of configs) theirs.get(c.name)!.push(t.results[c.name]!);
  }
  console.log(`load average after: ${load()}`);
  console.log(`tfjs ${h.backend} (${h.threads} threads) vs PyTorch ${version} (${threads} threads); ms per training step, medians; CPU time unless marked wall`);
  for (const c of configs) {
    const o = ours.get(c.name)!, p = theirs.get(c.name)!;
    const pm = (k: keyof TorchBound) => median(p.map((x) => x[k]));
    const oStep = median(o.stepCpu), oConv = Math.min(...o.convCpu), oXnn = Math.min(...o.xnnCpu);
    const tStep = pm('step_cpu_ms'), tConv = Math.min(...p.map((x) => x.conv_cpu_ms)), tFlop = pm('conv_flop');
    const gflops = (flop: number, ms: number) => (flop / ms / 1e6).toFixed(2);
    const target = TARGETS[c.name]!;
    console.log(`\n${c.name} (batch ${c.batch}), conv/matmul work ${(o.flop / 1e9).toFixed(3)} GFLOP per step (PyTorch count ${(tFlop / 1e9).toFixed(3)})`);
    console.log(`  ours:    step ${oStep.toFixed(1)} ms (wall ${median(o.stepWall).toFixed(1)}), conv ${oConv.toFixed(1)} ms (${(100 * oConv / oStep).toFixed(0)} % of the step; XNNPACK calls ${oXnn.toFixed(1)} ms) in ${o.calls} calls, ${gflops(o.flop, oConv)} GFLOP/s (XNNPACK alone ${gflops(o.flop, oXnn)})`);
    console.log(`  PyTorch: step ${tStep.toFixed(1)} ms (wall ${pm('step_wall_ms').toFixed(1)}), conv ${tConv.toFixed(1)} ms (wall ${Math.min(...p.map((x) => x.conv_wall_ms)).toFixed(1)}; ${(100 * tConv / tStep).toFixed(0)} % of its step) in ${pm('layers')} layers, ${gflops(tFlop, tConv)} GFLOP/s`);
    // PyTorch's CPU time can exceed its wall time (it uses more than the one thread asked): judge by the lesser.
    const tRef = Math.min(tStep, pm('step_wall_ms'));
    console.log(`  ratio now ${(tStep / oStep).toFixed(2)} (wall ${(pm('step_wall_ms') / median(o.stepWall)).toFixed(2)}); bound with every non-conv cost zero ${(tRef / oConv).toFixed(2)} (XNNPACK calls only ${(tRef / oXnn).toFixed(2)}), PyTorch's step taken as ${tRef.toFixed(1)} ms (the lesser of CPU and wall)`);
    console.log(`  target ${target} needs our whole step <= ${(tRef / target).toFixed(1)} ms, so everything but the convolutions <= ${(tRef / target - oConv).toFixed(1)} ms (now ${(oStep - oConv).toFixed(1)} ms; PyTorch's own non-conv ${(tStep - tConv).toFixed(1)} ms): ${tRef / oConv >= target ? 'reachable in principle' : 'OUT OF REACH on this backend'}`);
  }
}

await main();
