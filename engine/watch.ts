/**
 * `pipe watch`: run, then re-run stale stages whenever pipeline.yaml, a file
 * dep or a stage module changes.
 *
 *              change                 run ends, no change seen
 *   idle -----------------> running -------------------------> idle
 *    ^                        |  ^
 *    |                 change |  | run ends: run again
 *    |                        v  |
 *    |                      queued
 *    +-- abort (Ctrl-C) from any state: stop watching, exit
 *
 * Changes are debounced (200 ms) so a save that touches several files runs once.
 * The watched set is recomputed after each run (deps and modules may change).
 */
import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { FSWatcher } from 'chokidar';
import { cmdRun, EXIT, type CommandEnv } from './commands.js';
import { codeFingerprint } from './fingerprint.js';
import { openProject } from './project.js';

type State = 'idle' | 'running' | 'queued';

const DEBOUNCE_MS = 200;

/** Paths that can make a stage stale: the pipeline file, deps, module files. */
async function watchedPaths(env: CommandEnv): Promise<string[]> {
  const paths = new Set<string>([resolve(env.file)]);
  const opened = await openProject(env.file, env.overrides, env.registry);
  if (!opened.ok) return [...paths];
  const { graph, root } = opened.value;
  for (const s of graph.stages.values()) {
    for (const d of s.deps) paths.add(resolve(root, d));
    if (s.runner.type === 'module') {
      try {
        for (const f of codeFingerprint(s.runner.module).files) paths.add(f);
      } catch { /* reported by the run */ }
    }
  }
  return [...paths];
}

/**
 * Resolves once chokidar lists every existing path as watched (`add` scans
 * asynchronously), so "watching" is never printed before an edit would be
 * seen; gives up after 5 s.
 */
async function settled(watcher: FSWatcher, paths: readonly string[]): Promise<void> {
  const wanted = paths.filter((p) => existsSync(p));
  for (let i = 0; i < 250; i++) {
    const watched = watcher.getWatched();
    if (wanted.every((p) => (watched[dirname(p)] ?? []).includes(basename(p)))) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Watches until `signal` aborts; resolves to the exit code. */
export async function cmdWatch(env: CommandEnv, o: { targets: readonly string[]; jobs: number; signal: AbortSignal }): Promise<number> {
  const { watch } = await import('chokidar');
  let state: State = 'idle';
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch([], { ignoreInitial: true, ignored: (p: string) => p.includes('/.pipe/') || p.includes('/node_modules/') });

  const runOnce = async (): Promise<void> => {
    state = 'running';
    const runController = new AbortController();
    const stop = (): void => runController.abort();
    o.signal.addEventListener('abort', stop, { once: true });
    await cmdRun(env, { targets: o.targets, force: false, dryRun: false, jobs: o.jobs, wait: true, signal: runController.signal });
    o.signal.removeEventListener('abort', stop);
    const paths = await watchedPaths(env);
    watcher.add(paths);
    await settled(watcher, paths);
    if (o.signal.aborted) return;
    if ((state as State) === 'queued') {
      env.stderr.write('pipe watch: files changed during the run; running again\n');
      return runOnce();
    }
    state = 'idle';
    env.stderr.write(`pipe watch: watching ${paths.length} paths; Ctrl-C to stop\n`);
  };

  watcher.on('all', (_event, path) => {
    if (o.signal.aborted) return;
    if (state === 'running' || state === 'queued') {
      state = 'queued';
      return;
    }
    clearTimeout(timer);
    timer = setTimeout(() => {
      env.stderr.write(`pipe watch: ${path} changed\n`);
      void runOnce();
    }, DEBOUNCE_MS);
  });

  await runOnce();
  await new Promise<void>((res) => {
    if (o.signal.aborted) res();
    else o.signal.addEventListener('abort', () => res(), { once: true });
  });
  clearTimeout(timer);
  await watcher.close();
  return EXIT.ok;
}
