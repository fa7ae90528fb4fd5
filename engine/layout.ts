/**
 * Where a project keeps its things: the one module that knows the layout of
 * the project folder and of `.pipe/` (the cache root's own folders are
 * cache/cache-layout.ts's). Others ask it; they don't join paths.
 *
 * ```
 * <root>/pipeline.yaml           the pipeline (--file to choose another)
 * <root>/pipe.lock               its lock (X.yaml has X.lock)
 * <root>/.pipe/cache/            objects, run records, views, tmp, quarantine, stamps
 * <root>/.pipe/state/files       the file-hash state
 * <root>/.pipe/state/<lock>.json  the lock's JSON mirror (engine/lockfile.ts)
 * <root>/.pipe/state/code.json   the code fingerprints' memo (engine/fingerprint.ts)
 * <root>/.pipe/tmp/              stage work folders (`<stage>-<pid>-<time>`)
 * <root>/.pipe/scratch/<stage>/<key>/  a stage's scratch space (training checkpoints), kept
 *                                across interrupted attempts with the same key
 * <root>/.pipe/run.lock          held by the running `pipe run` (and gc, verify --quarantine)
 * <root>/.pipe/exps/             recorded experiments (`<id>.json`, engine/exp/store.ts)
 * <root>/.pipe/sweeps/           sweep results (`<id>/`: table, JSON, chart; engine/exp/sweep.ts)
 * <root>/.pipe/render/           charts and image tiles the report drew, by a digest of what
 *                                determines them (stages/report/memo.ts): a speed-up, never an output
 * ```
 */
import { readdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { cachePaths, type CachePaths } from '../cache/cache-layout.js';

/** The paths inside `.pipe/`. */
export interface DotLayout {
  /** `.pipe/`. */
  readonly dotDir: string;
  /** The cache and its folders. */
  readonly cache: CachePaths;
  /** The file-hash state. */
  readonly stateFile: string;
  /** The code fingerprints' memo of file digests, kept between commands. */
  readonly codeMemo: string;
  /** Stage work folders. */
  readonly workTmp: string;
  /** Scratch space of stages, by stage and key (kept until the stage succeeds). */
  readonly scratch: string;
  /** The run lock file. */
  readonly runLock: string;
  /** Recorded experiments. */
  readonly experiments: string;
  /** Sweep results, a folder per sweep. */
  readonly sweeps: string;
  /** The report's render memo (charts and tiles by digest; pruned by each render, cleared by `pipe gc`). */
  readonly render: string;
}

/** The paths of one project. */
export interface ProjectLayout extends DotLayout {
  /** The project folder: the pipeline file's folder. */
  readonly root: string;
  /** The pipeline file (absolute). */
  readonly file: string;
  /** Its lock: pipeline.yaml -> pipe.lock, X.yaml -> X.lock. */
  readonly lockPath: string;
  /** The lock's JSON mirror (read instead of parsing the YAML when it is for the lock's text). */
  readonly lockMirror: string;
}

/** The layout of the project whose pipeline file is `file`. */
export function projectLayout(file: string): ProjectLayout {
  const abs = resolve(file);
  const root = dirname(abs);
  const name = basename(abs);
  // pipeline.yaml -> pipe.lock; another pipeline file gets its own lock (pipeline.kaggle.yaml -> pipeline.kaggle.lock).
  const lock = name === 'pipeline.yaml' ? 'pipe.lock' : `${name.replace(/\.ya?ml$/i, '')}.lock`;
  const dot = dotLayout(dotDirOf(root));
  return { root, file: abs, lockPath: join(root, lock), lockMirror: mirrorIn(dot, lock), ...dot };
}

function mirrorIn(dot: DotLayout, lockName: string): string {
  return join(dirname(dot.stateFile), `${lockName}.json`);
}

/** The JSON mirror of the lock file at `lockPath` (in the project folder: `<root>/X.lock` -> `<root>/.pipe/state/X.lock.json`). */
export function lockMirrorOf(lockPath: string): string {
  return mirrorIn(dotLayout(dotDirOf(dirname(lockPath))), basename(lockPath));
}

/** The folder the engine lends the stages of the project at `root` for memos (StageContext.memoDir): `.pipe/render/`. */
export function stageMemoDir(root: string): string {
  return dotLayout(dotDirOf(root)).render;
}

/** The `.pipe/` folder of the project folder `root` (for code that is handed only the root, as a stage is). */
export function dotDirOf(root: string): string {
  return join(root, '.pipe');
}

/** The paths inside the `.pipe/` folder `dotDir` (for code that is handed only that folder). */
export function dotLayout(dotDir: string): DotLayout {
  return {
    dotDir,
    cache: cachePaths(join(dotDir, 'cache')),
    stateFile: join(dotDir, 'state', 'files'),
    codeMemo: join(dotDir, 'state', 'code.json'),
    workTmp: join(dotDir, 'tmp'),
    scratch: join(dotDir, 'scratch'),
    runLock: join(dotDir, 'run.lock'),
    experiments: join(dotDir, 'exps'),
    sweeps: join(dotDir, 'sweeps'),
    render: join(dotDir, 'render'),
  };
}

/** The folder of sweep `id`'s results. */
export function sweepDir(l: DotLayout, id: string): string {
  return join(l.sweeps, id);
}

/** The folders a run writes into (created by `ensureDotDir`). */
export function runFolders(l: ProjectLayout): string[] {
  return [l.cache.root, dirname(l.stateFile), l.workTmp];
}

/** Every `*.lock` file in the project folder (pipe locks of any pipeline file, and others the caller filters out). */
export function lockFilesIn(root: string): string[] {
  return readdirSync(root).filter((f) => f.endsWith('.lock')).sort().map((f) => join(root, f));
}
