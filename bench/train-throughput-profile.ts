/**
 * Per-kernel profile of one training step (fwd + bwd + Adam) of the
 * benchmark's models: where the milliseconds of bench/train-throughput go.
 *
 *   node dist/bench/train-throughput-profile.js [--model unet|classifier|both]
 *        [--backend wasm] [--threads N] [--top 15] [--infer]
 *
 * Prints the step's wall time, the sum of kernel times (the rest is JS:
 * autograd bookkeeping, tensor allocation, tidy), and the top kernels by total
 * ms with their call counts.
 */
import { parseArgs } from 'node:util';
import { loadTf } from '../stages/lib/backend.js';
import type { BackendPref } from '../stages/lib/backend.js';
import { CONFIGS, makeStep } from './train-throughput-models.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    model: { type: 'string', default: 'both' }, backend: { type: 'string', default: 'auto' },
    threads: { type: 'string' }, top: { type: 'string', default: '15' }, infer: { type: 'boolean', default: false },
  } });
  const threads = values.threads === undefined ? undefined : Number(values.threads);
  const h = await loadTf(values.backend as BackendPref, (m) => console.log(m), { threads });
  const tf = h.tf;
  const wanted = CONFIGS.filter((c) => c.name !== 'unet-default' && (values.model === 'both' || c.kind === values.model));
  for (const c of wanted) {
    const s = makeStep(tf, c);
    const f = values.infer ? s.infer : s.train;
    f(); f();
    const t0 = performance.now();
    f();
    const wall = performance.now() - t0;
    const info = await tf.profile(() => { f(); });
    const byName = new Map<string, { ms: number; calls: number }>();
    let total = 0;
    for (const k of info.kernels) {
      const ms = Number(k.kernelTimeMs) || 0;
      total += ms;
      const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += ms;
      e.calls++;
      byName.set(k.name, e);
    }
    console.log(`\n${c.name} ${values.infer ? 'infer' : 'train'} step, batch ${c.batch}: wall ${wall.toFixed(0)} ms, kernels ${total.toFixed(0)} ms in ${info.kernels.length} calls`);
    const rows = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(values.top));
    for (const [name, e] of rows) {
      console.log(`  ${name.padEnd(24)} ${e.ms.toFixed(1).padStart(8)} ms ${(100 * e.ms / total).toFixed(1).padStart(5)} %  ${String(e.calls).padStart(5)} calls`);
    }
    s.dispose();
  }
}

await main();
