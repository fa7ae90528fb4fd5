/**
 * TensorFlow.js backend selection: the one place that decides where tensors run.
 *
 * ```
 * auto:  tfjs-node-gpu ──fail──> tfjs-node ──fail──> wasm (+ our kernels) ──fail──> cpu
 * forced ('gpu' | 'node' | 'wasm' | 'cpu'): that one, or an Error naming the missing package
 * ```
 *
 * Everything heavy is imported lazily, so importing this module costs nothing until
 * {@link loadTf} is called. Loading is idempotent: every call with the same preference
 * returns the same handle. TF.js has one global engine: loading another preference
 * switches it, and calling `loadTf` again with the first preference switches it back.
 * Note `gpu` means tfjs-node-gpu loaded; without CUDA that package itself runs on CPU.
 */

/** What a user may ask for in params/config. */
export type BackendPref = 'auto' | 'gpu' | 'node' | 'wasm' | 'cpu';

/** A backend that actually runs. */
export type BackendName = 'gpu' | 'node' | 'wasm' | 'cpu';

/** The loaded TF.js namespace plus facts for the log and the lock. */
export interface TfHandle {
  /** The `@tensorflow/tfjs` namespace, with the chosen backend already active. */
  tf: typeof import('@tensorflow/tfjs');
  /** The backend in use. */
  backend: BackendName;
  /** Compute threads the backend uses (wasm: see {@link LoadTfOptions.threads}; cpu: 1). */
  threads: number;
  /** Package versions, e.g. `{ 'tfjs-core': '4.22.0', 'tfjs-backend-wasm': '4.22.0' }`. */
  versions: Record<string, string>;
}

/** Options beyond the preference; mainly for benchmarks comparing kernels. */
export interface LoadTfOptions {
  /** Register our fast wasm kernels (default true). Only read on the first load. */
  customKernels?: boolean;
  /**
   * Threads for the wasm backend (default: env `PIPE_THREADS`, else the number
   * of cores; capped at 8; 1 = the single-threaded build). Only read on the
   * first wasm load: the module's thread pool is fixed for the process.
   * Results are bit-identical for any count; on a machine whose cores are
   * already busy, 1 is faster (see backend/wasm-threads.ts).
   */
  threads?: number;
}

/**
 * The wasm thread count {@link loadTf} uses: `requested`, else env
 * `PIPE_THREADS` (a positive integer; anything else is an Error naming it),
 * else the number of cores.
 */
export async function resolveThreads(requested?: number): Promise<number> {
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < 1) throw new Error(`threads must be a positive integer, got ${requested}`);
    return requested;
  }
  const env = process.env['PIPE_THREADS'];
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`PIPE_THREADS must be a positive integer, got '${env}'`);
    return n;
  }
  const os = await import('node:os');
  return os.availableParallelism();
}

const PACKAGES: Record<BackendName, string> = {
  gpu: '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu',
};

/** TF.js's own name for each backend once registered. */
const TF_NAMES: Record<BackendName, string> = { gpu: 'tensorflow', node: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

const loaded = new Map<BackendPref, Promise<TfHandle>>();

/**
 * Loads TF.js and activates a backend.
 *
 * @param pref `auto` (default) tries gpu, node, wasm, cpu in that order, silently
 *   skipping any whose package is missing or fails to load; a forced backend that
 *   cannot load throws an Error naming its package.
 * @param log receives exactly one line, e.g.
 *   `backend: wasm (tfjs 4.22.0, custom kernels: 7, threads: 1)`.
 */
export function loadTf(
  pref: BackendPref = 'auto',
  log?: (message: string) => void,
  options: LoadTfOptions = {},
): Promise<TfHandle> {
  let p = loaded.get(pref);
  if (p === undefined) {
    p = load(pref, options);
    loaded.set(pref, p);
    p.catch(() => loaded.delete(pref));
  }
  return p.then(async (h) => {
    // Another preference may have switched the global engine since: switch back.
    if (h.tf.getBackend() !== TF_NAMES[h.backend]) await h.tf.setBackend(TF_NAMES[h.backend]);
    log?.(describe(h));
    return h;
  });
}

/**
 * The facts a stage records in pipe.lock about how it computed: backend,
 * thread count and package versions (e.g. `tfjs-core`).
 */
export function backendInfo(h: TfHandle): Record<string, string> {
  return { backend: h.backend, threads: String(h.threads), ...h.versions };
}

/** The one-line description logged by {@link loadTf}. */
export function describe(h: TfHandle): string {
  const kernels = h.versions['custom-kernels'];
  const extra = kernels === undefined ? '' : `, custom kernels: ${kernels}`;
  return `backend: ${h.backend} (tfjs ${h.versions['tfjs-core'] ?? '?'}${extra}, threads: ${h.threads})`;
}

async function load(pref: BackendPref, options: LoadTfOptions): Promise<TfHandle> {
  const tf = await import('@tensorflow/tfjs');
  const order: BackendName[] = pref === 'auto' ? ['gpu', 'node', 'wasm', 'cpu'] : [pref];
  const failures: string[] = [];
  for (const name of order) {
    try {
      return await activate(tf, name, options);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (pref !== 'auto') {
        throw new Error(`backend '${name}' is unavailable: package ${PACKAGES[name]} failed to load (${why})`);
      }
      failures.push(`${name}: ${why}`);
    }
  }
  throw new Error(`no TF.js backend could be loaded: ${failures.join('; ')}`);
}

async function activate(tf: TfHandle['tf'], name: BackendName, options: LoadTfOptions): Promise<TfHandle> {
  const versions: Record<string, string> = {};
  for (const [k, v] of Object.entries(tf.version)) versions[k] = String(v);
  let threads = 1;
  if (name === 'gpu' || name === 'node') {
    // A non-literal specifier: these optional packages are usually not installed.
    const spec = PACKAGES[name];
    const mod = (await import(spec)) as { version?: Record<string, string> };
    versions[spec.replace('@tensorflow/', '')] = mod.version?.['tfjs-node'] ?? versions['tfjs-core'] ?? '?';
  } else if (name === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    versions['tfjs-backend-wasm'] = wasm.version_wasm;
    if (options.customKernels !== false) {
      const { registerWasmKernels } = await import('../kernels/register.js');
      versions['custom-kernels'] = String(registerWasmKernels(tf).length);
    }
    const { prepareWasmThreads, unrefWasmThreads } = await import('../kernels/wasm-threads.js');
    const restore = prepareWasmThreads(tf, wasm, await resolveThreads(options.threads));
    try {
      await setAndCheck(tf, name);
    } finally {
      restore();
    }
    unrefWasmThreads(tf.backend());
  } else {
    await setAndCheck(tf, name);
  }
  if (name === 'wasm') threads = Math.max(1, (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount());
  return { tf, backend: name, threads, versions };
}

async function setAndCheck(tf: TfHandle['tf'], name: BackendName): Promise<void> {
  const ok = await tf.setBackend(TF_NAMES[name]);
  if (!ok || tf.getBackend() !== TF_NAMES[name]) throw new Error(`tf.setBackend('${TF_NAMES[name]}') failed`);
  await tf.ready();
}
