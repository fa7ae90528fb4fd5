/**
 * The facts about a machine that decide whether a run is bit-exact across
 * machines, recorded in every lock entry's `info` (beside the backend, thread
 * count and TF.js versions the model stages add): the CPU model and its SIMD
 * features (XNNPACK and WebAssembly SIMD pick kernels by them), the
 * architecture and the Node.js version.
 */
import { readFileSync } from 'node:fs';
import { arch, cpus } from 'node:os';

const SIMD = /^(sse\d?(_\d)?|ssse3|avx\d*\w*|fma\d?|f16c|neon|asimd\w*|sve\d?|amx\w*)$/;

let cached: Record<string, string> | undefined;

/** cpu (model name), simd (its SIMD flags, sorted), arch, node. */
export function machineInfo(): Record<string, string> {
  if (cached) return cached;
  let flags: string[] = [];
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const line = /^(?:flags|Features)\s*:(.*)$/m.exec(text)?.[1] ?? '';
    flags = [...new Set(line.trim().split(/\s+/).filter((f) => SIMD.test(f)))].sort();
  } catch { /* not Linux: no flags */ }
  cached = { cpu: cpus()[0]?.model.trim() ?? 'unknown', simd: flags.join(' ') || 'unknown', arch: arch(), node: process.version };
  return cached;
}

/** The info keys that decide bit-exactness: machine facts, backend, threads, versions. */
export function exactnessKeys(info: Readonly<Record<string, string>>): string[] {
  return Object.keys(info).filter((k) => ['cpu', 'simd', 'arch', 'node', 'backend', 'threads'].includes(k) || k.startsWith('tfjs'));
}

/** "cpu "A" here, "B" in the lock; threads 1 here, 2 in the lock": what differs between two entries' facts. */
export function machineDiff(then: Readonly<Record<string, string>>, now: Readonly<Record<string, string>>): string[] {
  const keys = [...new Set([...exactnessKeys(then), ...exactnessKeys(now)])].sort();
  return keys.filter((k) => then[k] !== now[k]).map((k) => `${k} ${JSON.stringify(now[k] ?? '-')} here, ${JSON.stringify(then[k] ?? '-')} in the lock`);
}
