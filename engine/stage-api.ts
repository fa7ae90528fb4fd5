/**
 * The contract between the engine and a built-in stage kind.
 *
 * A stage kind is an ES module whose default export is a {@link StageKind}. The
 * engine imports it twice: once in the main process to ask which artifacts, deps
 * and outs it has for given params (so its top level must stay light: no
 * TensorFlow.js, no sharp at module load: `await import()` them inside `run`),
 * and once in a worker child process to `run` it.
 *
 * The engine knows nothing about what a stage computes; a stage knows nothing
 * about the DAG: it reads the files named in `ctx.inputs`, writes one file or
 * folder per declared artifact under `ctx.outDir`, and reports metrics.
 */

/** A JSON-compatible value, as params are after `${...}` interpolation. */
export type ParamValue =
  | string
  | number
  | boolean
  | null
  | readonly ParamValue[]
  | { readonly [key: string]: ParamValue };

/**
 * Resolved params of one stage: its `params:` block after `${...}`
 * interpolation and stage-targeted `--set`, with the defaults its kind
 * declares filled in. Global params reach a stage only through `${name}`.
 */
export type Params = Readonly<Record<string, ParamValue>>;

/**
 * JSON Schema (draft-07) of one param. `description` is required: it is what
 * editors show and what `pipeline.schema.json` documents. A `default` makes
 * the param optional; the engine fills it in before the key is computed, so a
 * pipeline that omits a param and one that states its default are the same.
 */
export interface ParamSchema {
  readonly description: string;
  readonly default?: ParamValue;
  /** Any further JSON Schema keyword: type, minimum, maximum, enum, items... */
  readonly [keyword: string]: unknown;
}

/**
 * JSON Schema of a kind's params: one object with named properties. With
 * `additionalProperties: false` (as every built-in kind declares) a key not
 * listed is an error, reported with the nearest known name.
 */
export interface ParamsSchema {
  readonly type: 'object';
  readonly properties: Readonly<Record<string, ParamSchema>>;
  readonly additionalProperties?: boolean;
  readonly required?: readonly string[];
}

/** A progress report: `done` of `total` units (files, epochs, batches). */
export interface Progress {
  readonly done: number;
  readonly total: number;
  /** What is counted: "files", "epochs", "images". */
  readonly unit?: string;
  /** Short free text shown after the counter, e.g. "loss 0.412 val_dice 0.61". */
  readonly note?: string;
}

/** What a running stage can see and do. */
export interface StageContext {
  /** The stage's name in pipeline.yaml (for messages only). */
  readonly name: string;
  /** Resolved params. */
  readonly params: Params;
  /**
   * Input artifacts from the stages this one `needs`, by artifact name, as
   * absolute paths of read-only files or folders inside the cache. Never write
   * to them.
   */
  readonly inputs: Readonly<Record<string, string>>;
  /**
   * An empty folder owned by this run. Write each declared artifact `name` as
   * `${outDir}/${name}` (a file or a folder). Nothing else is kept.
   */
  readonly outDir: string;
  /** The project root: workspace paths in params resolve against it. */
  readonly root: string;
  /**
   * A folder that outlives a failed or interrupted attempt of this stage with
   * the same key (same code, params and inputs), for state worth resuming
   * from, such as training checkpoints; removed once the stage succeeds, and
   * ignored (removed) when the key changes. Nothing in it is an output.
   * Undefined where the executor offers none (e.g. `pipe sweep`'s workers).
   */
  readonly scratchDir?: string;
  /**
   * A folder the engine lends every stage of the project for speed-up memos
   * only (the report's drawn charts and tiles: `.pipe/render/`), kept across
   * runs and keys. Nothing in it is an input or an output: a stage keys each
   * entry by everything that determines it, verifies it before use, and must
   * produce the same bytes without it; anything in it may vanish (`pipe gc`
   * empties it). The one place under `.pipe/` a stage may write.
   */
  readonly memoDir?: string;
  /** Aborted when the user presses Ctrl-C or a sibling failure stops the run. */
  readonly signal: AbortSignal;
  /** A line of output, shown prefixed with the stage name. */
  log(message: string): void;
  /** Progress of long work; the engine throttles and renders it (with ETA). */
  progress(p: Progress): void;
  /** A metric recorded in pipe.lock under the stage (validation Dice, loss...). */
  metric(name: string, value: number | string): void;
  /** Facts about how the stage ran, recorded in pipe.lock (e.g. backend: "wasm"). */
  info(key: string, value: string): void;
}

/** A built-in stage kind. */
export interface StageKind {
  /** One line for `pipe --help` and errors. */
  readonly description: string;
  /**
   * The params this kind accepts: the kind's contract with pipeline.yaml. The
   * engine checks every stage of this kind against it when it loads the
   * pipeline (so `status`, `dag`, `--dry-run` and `watch` see a bad param
   * before anything runs) and fills in the defaults; `artifacts`, `deps`,
   * `outs` and `run` then see the resolved params. Omitted (a user module
   * written before contracts): any params are accepted as written.
   */
  readonly params?: ParamsSchema;
  /**
   * Names of the artifacts this kind writes into `ctx.outDir` for these params.
   * Artifact names are unique across a pipeline's built-in stages, so a
   * downstream stage finds its input by name.
   */
  artifacts(params: Params): readonly string[];
  /** Workspace paths (files or folders) the stage reads: hashed into the key. */
  deps?(params: Params): readonly string[];
  /** Workspace paths the stage writes: stored in the cache and restored from it. */
  outs?(params: Params): readonly string[];
  /**
   * A short run that loads no heavy module (no TF.js, no sharp) and keeps no
   * state a later run could trip on: `pipe run` may give it a warm worker
   * process that the run's other light stages share (engine/executors/local.ts),
   * as `pipe sweep` does for every module stage, instead of a process of its own.
   */
  readonly light?: boolean;
  /**
   * Called in a warm worker ahead of a job that will likely come with these
   * params and input paths (the engine's guess while it plans): may load and
   * derive what `run` will need, memoised by input path (a cache object,
   * named by its content). Writes nothing; what it throws is ignored. It
   * should stop soon after `signal` aborts (a job with other params came).
   */
  prepare?(params: Params, inputs: Readonly<Record<string, string>>, signal?: AbortSignal): Promise<void>;
  /**
   * Does the work. Throw (or reject) to fail the stage: the message is shown
   * as the stage's failure. Must honour `ctx.signal` between units of work.
   */
  run(ctx: StageContext): Promise<void>;
}

/** Identity helper that gives a stage module's default export its type. */
export function defineStage(kind: StageKind): StageKind {
  return kind;
}
