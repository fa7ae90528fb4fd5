/**
 * Benchmark of issue 12's scale-out paths, with the same CLI `pipe` users run:
 *
 * 1. push and pull of a project's cache to and from an HTTP remote (Debian's
 *    nginx with WebDAV on loopback, test/services/nginx.ts): MB/s and objects/s.
 *    By default a synthetic project shaped like the default pipeline's cache
 *    (a few large tensor files, a folder of many small files); `--dir PROJECT`
 *    pushes a real project's cache instead (run `npx pipe run` there first).
 * 2. Slurm dispatch overhead per stage: N trivial command stages run one at a
 *    time locally and as Slurm jobs (one-node cluster, test/services/slurm.sh
 *    start); (slurm - local) / N.
 *
 *   node dist/bench/scale-out.js [--dir PROJECT] [--large 3] [--large-mb 20] [--small 400] [--small-kb 64] [--stages 8] [--no-slurm]
 *
 * The load average is printed with the figures: on a shared machine they vary.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startNginx } from '../test/services/nginx.js';
import { Rig } from '../test/util/rig.js';

const { values } = parseArgs({
  options: {
    dir: { type: 'string' },
    large: { type: 'string', default: '3' },
    'large-mb': { type: 'string', default: '20' },
    small: { type: 'string', default: '400' },
    'small-kb': { type: 'string', default: '64' },
    stages: { type: 'string', default: '8' },
    'no-slurm': { type: 'boolean', default: false },
  },
});

const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
const ms = (t0: number): number => performance.now() - t0;

async function json(rig: Rig, ...args: string[]): Promise<any> {
  const r = await rig.json(...args);
  if (r.code !== 0) throw new Error(`pipe ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.doc;
}

/** A project A with a cache like the default pipeline's, already run, whose pipeline names `url`. */
async function projectWith(url: string): Promise<Rig> {
  const head = `remote:\n  url: ${url}\n  jobs: 8\n`;
  if (values.dir) {
    const rig = new Rig();
    cpSync(values.dir, rig.dir, { recursive: true, filter: (src) => !src.includes('node_modules') });
    const yaml = readFileSync(join(rig.dir, 'pipeline.yaml'), 'utf8').replace(/^remote:\n(?: .*\n)*/m, '');
    writeFileSync(join(rig.dir, 'pipeline.yaml'), head + yaml);
    return rig;
  }
  const large = Number(values.large);
  const small = Number(values.small);
  const rig = new Rig({
    'pipeline.yaml': `${head}stages:
  tensors:
    cmd: for i in $(seq 1 ${large}); do head -c ${Number(values['large-mb']) << 20} /dev/urandom > "$PIPE_OUT_DIR/t$i.bin"; done; mkdir -p "$PIPE_ARTIFACT_DATASET"; cat "$PIPE_OUT_DIR"/t*.bin > /dev/null; for i in $(seq 1 ${large}); do mv "$PIPE_OUT_DIR/t$i.bin" "$PIPE_ARTIFACT_DATASET/"; done
    artifacts: [dataset]
  crops:
    cmd: mkdir -p "$PIPE_ARTIFACT_CROPS" && for i in $(seq 1 ${small}); do head -c ${Number(values['small-kb']) << 10} /dev/urandom > "$PIPE_ARTIFACT_CROPS/c$i.bin"; done
    artifacts: [crops]
`,
  });
  await json(rig, 'run');
  return rig;
}

async function remoteBench(): Promise<void> {
  const nginx = await startNginx();
  const rigs: Rig[] = [];
  try {
    const a = await projectWith(`${nginx.url}bench`);
    rigs.push(a);
    if (values.dir) await json(a, 'run');
    let t0 = performance.now();
    const push = await json(a, 'push', '--run-cache');
    const pushMs = ms(t0);
    const bytes = Number(execFileSync('du', ['-sb', join(nginx.root, 'bench')], { encoding: 'utf8' }).split('\t')[0]);
    t0 = performance.now();
    const again = await json(a, 'push', '--run-cache');
    const noopMs = ms(t0);
    const b = new Rig();
    rigs.push(b);
    for (const f of ['pipeline.yaml', 'pipe.lock']) writeFileSync(join(b.dir, f), readFileSync(join(a.dir, f)));
    t0 = performance.now();
    const pull = await json(b, 'pull');
    const pullMs = ms(t0);
    t0 = performance.now();
    const run = await json(b, 'run');
    const runMs = ms(t0);
    const ran = run.stages.filter((s: { status: string }) => s.status === 'ran').length;
    const mbs = (n: number, t: number): string => `${(n / 1e6 / (t / 1000)).toFixed(1)} MB/s`;
    console.log(`remote (nginx WebDAV on loopback, 8 transfers at once), ${push.moved} objects and records, ${(bytes / 1e6).toFixed(1)} MB:`);
    console.log(`  push      ${(pushMs / 1000).toFixed(2)} s  ${mbs(bytes, pushMs)}  ${(push.moved / (pushMs / 1000)).toFixed(0)} objects/s  (pipe start-up included)`);
    console.log(`  push again (all there, HEAD only) ${(noopMs / 1000).toFixed(2)} s, ${again.skipped} skipped`);
    console.log(`  pull      ${(pullMs / 1000).toFixed(2)} s  ${mbs(bytes, pullMs)}  ${(pull.moved / (pullMs / 1000)).toFixed(0)} objects/s  (each verified by sha256)`);
    console.log(`  run in the clone after pull: ${(runMs / 1000).toFixed(2)} s, ${ran} stages ran`);
    console.log(`  load average: ${load()}`);
  } finally {
    rigs.forEach((r) => r.cleanup());
    await nginx.stop();
  }
}

async function slurmBench(): Promise<void> {
  const n = Number(values.stages);
  const stages = Array.from({ length: n }, (_, i) => `  s${i}:\n    cmd: echo ${i} > s${i}.txt\n    outs: [s${i}.txt]\n`).join('');
  const times: Record<string, number> = {};
  for (const executor of ['local', 'slurm']) {
    const rig = new Rig({ 'pipeline.yaml': `stages:\n${stages}` });
    try {
      const t0 = performance.now();
      await json(rig, 'run', '-j', '1', '--executor', executor);
      times[executor] = ms(t0);
    } finally {
      rig.cleanup();
    }
  }
  const per = ((times['slurm'] ?? 0) - (times['local'] ?? 0)) / n;
  console.log(`slurm dispatch (${n} trivial stages one at a time, poll every ${process.env['PIPE_SLURM_POLL_MS'] ?? 500} ms):`);
  console.log(`  local ${((times['local'] ?? 0) / 1000).toFixed(2)} s, slurm ${((times['slurm'] ?? 0) / 1000).toFixed(2)} s: ${(per / 1000).toFixed(2)} s of overhead per stage`);
  console.log(`  load average: ${load()}`);
}

const dir = mkdtempSync(join(tmpdir(), 'pipe-bench-scale-'));
try {
  await remoteBench();
  if (!values['no-slurm']) await slurmBench();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
