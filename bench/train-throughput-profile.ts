/**
 * Per-kernel profile of one training step (fwd + bwd + Adam) of the
 * benchmark's models: where the milliseconds of bench/train-throughput go.
 *
 *   node dist/bench/train-throughput-profile.js [--model unet|classifier|both|CONFIG]
 *        [--backend wasm] [--threads N] [--top 15] [--infer] [--cpu] [--shapes]
 *
 * Prints the step's wall time, the sum of kernel times (the rest is JS:
 * autograd bookkeeping, tensor allocation, tidy), and the top kernels by total
 * ms with their call counts.
 *
 * `--cpu` (wasm only) times each kernel in the process's CPU time instead of
 * `tf.profile`'s wall time, as self time (a kernel that runs another, like
 * Conv2DBackpropFilter running Conv2D, is charged only its own share). Wall
 * time per kernel is inflated by whatever else runs on a loaded machine; CPU
 * time much less. `--shapes` (with `--cpu`) groups kernels by name and the
 * shapes of their inputs. `--model` also takes a config name (unet-default).
 */
import { parseArgs } from 'node:util';
import { loadTf } from '../stages/lib/backend.js';
import type { BackendPref } from '../stages/lib/backend.js';
import { CONFIGS, makeStep, withWrappedKernels } from './train-throughput-models.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    model: { type: 'string', default: 'both' }, backend: { type: 'string', default: 'auto' },
    threads: { type: 'string' }, top: { type: 'string', default: '15' }, infer: { type: 'boolean', default: false },
    cpu: { type: 'boolean', default: false }, shapes: { type: 'boolean', default: false },
  } });
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  const h = await loadTf(values.backend as BackendPref, (m) => console.log(m), { threads });
  const tf = h.tf;
  const wanted = CONFIGS.filter((c) => c.name === values.model ||
    (c.name !== 'unet-default' && (values.model === 'both' || c.kind === values.model)));
  for (const c of wanted) {
    const s = makeStep(tf, c);
    const f = values.infer ? s.infer : s.train;
    f(); f();
    const t0 = performance.now();
    f();
    const wall = performance.now() - t0;
    const byName = new Map<string, { ms: number; calls: number }>();
    let total = 0, calls = 0;
    const add = (name: string, ms: number) => {
      total += ms;
      calls++;
      const e = byName.get(name) ?? { ms: 0, calls: 0 };
      e.ms += ms;
      e.calls++;
      byName.set(name, e);
    };
    if (values.cpu) {
      cpuProfile(tf, f, add, values.shapes);
    } else {
      const info = await tf.profile(() => { f(); });
      for (const k of info.kernels) add(k.name, Number(k.kernelTimeMs) || 0);
    }
    console.log(`\n${c.name} ${values.infer ? 'infer' : 'train'} step, batch ${c.batch}: wall ${wall.toFixed(0)} ms, kernels ${total.toFixed(0)} ms${values.cpu ? ' cpu (self)' : ''} in ${calls} calls`);
    const rows = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.top));
    for (const [name, e] of rows) {
      console.log(`  ${name.padEnd(values.shapes ? 60 : 24)} ${e.ms.toFixed(1).padStart(8)} ms ${(100 * e.ms / total).toFixed(1).padStart(5)} %  ${String(e.calls).padStart(5)} calls`);
    }
    s.dispose();
  }
}

/**
 * Runs `f` once with every wasm kernel wrapped to charge its CPU self time
 * (process.cpuUsage, minus the kernels it runs itself) to `add`; the
 * wrappers are removed afterwards.
 */
function cpuProfile(tf: Awaited<ReturnType<typeof loadTf>>['tf'], f: () => void, add: (name: string, ms: number) => void, shapes: boolean): void {
  const stack: number[] = [];
  withWrappedKernels(tf, undefined, (name, inner) => ((args: { inputs: Record<string, { shape: number[] } | undefined> }) => {
    const c0 = process.cpuUsage();
    stack.push(0);
    const out = inner(args as never);
    const u = process.cpuUsage(c0);
    const ms = (u.user + u.system) / 1000;
    const children = stack.pop() ?? 0;
    if (stack.length > 0) stack[stack.length - 1]! += ms;
    const key = shapes ? `${name} ${Object.values(args.inputs).map((t) => `[${(t?.shape ?? []).join(',')}]`).join(' ')}` : name;
    add(key, ms - children);
    return out;
  }) as unknown as typeof inner, f);
}

await main();
