/**
 * Multi-threaded tfjs-backend-wasm in Node.
 *
 * tfjs-backend-wasm 4.22 ships a threaded SIMD build (emscripten pthreads, an
 * XNNPACK pthreadpool over a pool of 8 workers) but never uses it in Node, for
 * three reasons, each worked around here without touching node_modules:
 *
 * ```
 * 1. flags_wasm.js: WASM_HAS_MULTITHREAD_SUPPORT returns false when IS_NODE
 *      -> env().set('WASM_HAS_MULTITHREAD_SUPPORT', true) before init
 * 2. the pthread worker script is handed to `new Worker()` as a blob: URL, and
 *    worker_threads only takes file paths (ERR_WORKER_PATH); the main script
 *    is posted to each worker as a Blob, which its Node branch reads with
 *    fs.readFileSync (ENOENT)
 *      -> globalThis.Worker, which the emscripten factory sets to
 *         worker_threads.Worker, is a subclass that runs the worker script
 *         with { eval: true } and posts the path of the package's own
 *         wasm-out/tfjs-backend-wasm-threaded-simd.js instead of the Blob
 * 3. backend.cc caps the pool at emscripten_num_logical_cores() / 2 (it
 *    assumes hyper-threading), which is os.cpus().length / 2 in Node: 1 on a
 *    2-core machine
 *      -> os.cpus() reports 2 x threads entries while the module instantiates
 * ```
 *
 * The threaded build computes every output element on one thread with the same
 * reduction order as the single-threaded one (XNNPACK splits output tiles), so
 * results do not depend on the thread count; test/backend-determinism checks it.
 *
 * Caveat: XNNPACK's pool synchronises on every operator (the main thread
 * busy-waits for the workers), so when other processes already keep all cores
 * busy a second thread mostly spins: measured here with two other CPU-bound
 * processes on 2 cores, 2 threads used ~1.5x the CPU time of 1 thread for the
 * same U-Net step. On an idle machine it splits the convolutions ~2x.
 */
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker as NodeWorker } from 'node:worker_threads';
import type { WorkerOptions } from 'node:worker_threads';
import type { TfHandle } from '../lib/backend.js';

/** The most threads the backend's pre-built worker pool (and backend.cc) allows. */
export const MAX_WASM_THREADS = 8;

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');

/**
 * Makes the next initialisation of the wasm backend use `threads` threads.
 * Call after importing the backend package and before `tf.setBackend('wasm')`;
 * the returned function must be called once that has settled (it restores
 * `os.cpus`). `threads` <= 1 changes nothing (the single-threaded SIMD build).
 *
 * @throws Error when the package's threaded build files are missing.
 */
export function prepareWasmThreads(tf: TfHandle['tf'], wasm: WasmModule, threads: number): () => void {
  if (threads <= 1) return () => {};
  const n = Math.min(Math.floor(threads), MAX_WASM_THREADS);
  const require = createRequire(import.meta.url);
  const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const mainScript = path.join(dir, 'tfjs-backend-wasm-threaded-simd.js');
  const { wasmWorkerContents } = require(path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  // The template literal it comes from turned "\n" escapes into real newlines inside string literals.
  const workerCode = wasmWorkerContents.replace(/\n/g, '\\n');
  installWorkerShim(workerCode, mainScript);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(n);
  const cpus = os.cpus;
  os.cpus = () => {
    const real = cpus();
    const one = real[0] ?? { model: 'virtual', speed: 0, times: { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 } };
    return Array.from({ length: 2 * n }, (_, i) => real[i] ?? one);
  };
  return () => {
    os.cpus = cpus;
  };
}

/**
 * Lets the process exit while the pool's threads wait for work: emscripten
 * keeps a ref on each running pthread's worker, and XNNPACK's threads never
 * finish. Call after the backend is ready; a no-op for the unthreaded build.
 */
export function unrefWasmThreads(backend: unknown): void {
  const pthread = (backend as { wasm?: { PThread?: { runningWorkers?: Array<{ unref?: () => void }> } } }).wasm?.PThread;
  for (const w of pthread?.runningWorkers ?? []) w.unref?.();
}

/**
 * Puts a worker_threads.Worker subclass at globalThis.Worker that survives the
 * emscripten factory's `global.Worker = worker_threads.Worker` (an accessor
 * whose setter is ignored): blob: URLs become the eval'd worker script, and the
 * "load" message carries the main script's file path instead of a Blob.
 */
function installWorkerShim(workerCode: string, mainScript: string): void {
  const g = globalThis as { Worker?: unknown };
  if ((g.Worker as { pipeShim?: boolean } | undefined)?.pipeShim) return;
  class PipeWasmWorker extends NodeWorker {
    static pipeShim = true;
    constructor(url: string | URL, options?: WorkerOptions) {
      const blob = typeof url === 'string' && url.startsWith('blob:');
      super(blob ? workerCode : url, blob ? { ...options, eval: true } : options);
    }
    override postMessage(message: unknown, transfer?: Parameters<NodeWorker['postMessage']>[1]): void {
      const m = message as { cmd?: unknown; urlOrBlob?: unknown } | null;
      if (m !== null && typeof m === 'object' && m.cmd === 'load' && typeof m.urlOrBlob !== 'string') {
        message = { ...m, urlOrBlob: mainScript };
      }
      super.postMessage(message, transfer);
    }
  }
  Object.defineProperty(globalThis, 'Worker', {
    configurable: true,
    enumerable: false,
    get: () => PipeWasmWorker,
    set: () => {},
  });
}
