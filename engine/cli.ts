/**
 * The command line: parses arguments and runs a command with the stage
 * registry and the extra commands the composition root (bin/main.ts) hands
 * in; the engine itself never imports stages/. The only engine module that
 * touches `process` streams.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { cmdDag, cmdGc, cmdRun, cmdStatus, EXIT, pipeVersion, type CommandEnv } from './commands.js';
import { parseOverride, type Override } from './config.js';
import type { DagFormat } from './dag-format.js';
import type { ArtifactExporter } from './export.js';
import type { KindRegistry } from './graph.js';

/** A flag of an extra command: its parseArgs type and its `pipe --help` line. */
export interface ExtraOption {
  readonly type: 'string' | 'boolean';
  /** The whole help line, e.g. `      --out DIR         report: where to write the page`. */
  readonly help: string;
}

/** What an extra command runs with: the common environment, its own flags, the abort signal. */
export interface ExtraCommandEnv extends CommandEnv {
  readonly options: Readonly<Record<string, string | boolean | undefined>>;
  readonly signal: AbortSignal;
}

/**
 * A command the composition root adds (e.g. `pipe score` from stages/): it
 * gets the positional arguments after its name, the environment every command
 * gets and the values of its own flags.
 */
export interface ExtraCommand {
  /** Its `pipe --help` line, without the leading "pipe ". */
  readonly usage: string;
  readonly summary: string;
  /** Flags only this command takes (long names), listed in `pipe --help` under Options. */
  readonly options?: Readonly<Record<string, ExtraOption>>;
  run(args: readonly string[], env: ExtraCommandEnv): Promise<number>;
}

/** What the composition root hands the CLI. */
export interface App {
  readonly registry: KindRegistry;
  readonly commands: Readonly<Record<string, ExtraCommand>>;
  /** Workload-specific exports that `pipe export` adds (e.g. masks as PNG). */
  readonly exporters?: readonly ArtifactExporter[];
}

/** `pipe --help` for `app`; every flag listed here is implemented below. */
export function helpText(app: App): string {
  const extra = Object.values(app.commands).map((c) => `  pipe ${c.usage.padEnd(19)} ${c.summary}\n`).join('');
  const flags = Object.values(app.commands).flatMap((c) => Object.values(c.options ?? {}).map((o) => `${o.help}\n`)).join('');
  const at = HELP_TAIL.indexOf('  -h, --help');
  return HELP_HEAD + extra + HELP_TAIL.slice(0, at) + flags + HELP_TAIL.slice(at);
}

const HELP_HEAD = `pipe: a declarative pipeline and DAG build system for ML experiments

Usage:
  pipe run [STAGE...]      run every stale stage (or STAGE and what it needs)
  pipe status [STAGE...]   which stages are stale, and why
  pipe dag                 print the pipeline graph
  pipe watch [STAGE...]    run, then re-run stale stages whenever a dep or pipeline.yaml changes
  pipe gc                  delete cached outputs that no lock file or kept experiment points at
  pipe push [--run-cache]  upload to the remote cache (pipeline.yaml \`remote:\`) the outputs and run
                           records of pipe.lock that it lacks (--run-cache: every local run record)
  pipe pull [STAGE...]     download into the local cache the outputs and run records pipe.lock names
                           (each verified); \`pipe run\` then restores them without running
  pipe verify              re-hash the cache; check run records and locks against it (exit 1: problems)
  pipe repro [LOCK]        re-create the experiment of a lock (file, experiment id or name) and
                           compare every output with it: identical, restored or differs
  pipe sweep NAME=SPEC...  run a grid of param points (lo:hi:step or v1,v2,...): table, CSV, JSON
                           and a chart of the metric against each param in .pipe/sweeps/
  pipe exp list            the recorded experiments (every run, repro and sweep point)
  pipe exp show ID         one experiment's overrides, metrics and params
  pipe exp diff A [B]      params and metrics side by side (B: the workspace), changes marked *
  pipe exp apply ID        put an experiment's outputs and lock in the workspace
  pipe exp remove ID...    forget experiments (\`pipe gc\` then frees their outputs)
  pipe metrics show [ID]   the metrics of the workspace (or of an experiment)
  pipe params diff [A [B]] params side by side (no args: the workspace against the pipeline file)
  pipe show STAGE[/ARTIFACT]
                           what a stage's artifacts hold: tensor names, dtypes and shapes, JSON
                           keys, CSV header and rows, folder files (as recorded in pipe.lock)
  pipe export STAGE/ARTIFACT DIR
                           write an artifact into DIR in open formats: safetensors and .npy,
                           JSON and CSV, PNG masks; STAGE/metrics: the stage's metrics
`;
const HELP_TAIL = `  pipe help                this text

Options:
  -f, --file FILE       pipeline file (default: pipeline.yaml); the project is its folder
  -s, --set NAME=VALUE  override a global param (seed=7) or a stage param (gate.min_pixels=2500)
                        for this command; repeatable; VALUE is read as YAML (3, true, [1,2])
      --force           run: re-run the named stages (or all) and what is downstream, even if fresh
  -n, --dry-run         run, gc: say what would be done, do nothing
      --remote          gc: delete from the remote cache what no lock or kept experiment needs
      --run-cache       push: also every run record in the local run cache, and its outputs
      --executor NAME   run: local (default) or slurm: each stale stage an sbatch job (overrides
                        \`executor:\` in the pipeline file)
      --quarantine      verify: move bad objects to .pipe/cache/quarantine/, drop run records naming them
  -j, --jobs N          run/watch: stages run at once (default: the number of CPU cores); each
                        built-in stage gets cores/N compute threads (env PIPE_THREADS overrides)
      --no-wait         run, gc, verify: fail at once if another pipe run holds this project
      --format FMT      dag: text | mermaid | dot (default: text)
      --keep-last N     gc: keep the newest N experiments and their outputs (default: 500)
      --write           exp apply: also write the experiment's params into the pipeline file
      --rev GITREV      repro: read the lock and the pipeline file from git at GITREV
      --no-cache        repro: run every stage again instead of restoring it from the cache
      --allow-code-drift  repro: go on when the stages' code differs from the lock's
      --metric NAME     sweep: the metric to sort by (default: val_dice, else the first one)
      --random N        sweep: N random points of the grid instead of all of it
      --apply best      sweep: put the best point in the workspace (as \`pipe exp apply\`) and run
                        the rest of the pipeline for it
      --all-stages      sweep: each point runs every stale stage, not only what its metric needs
      --json            print one JSON document on stdout (human text goes to stderr)
  -h, --help            this text
  -v, --version         pipe's version

Exit codes: 0 success, 1 a stage failed, 2 bad usage or bad pipeline.yaml, 130 interrupted,
70 a bug in pipe (it prints "pipe: bug:" and a stack trace: please report it).
Files: pipe.lock beside the pipeline (commit it), .pipe/ (cache and state: do not commit).
`;

/**
 * Runs the CLI with `argv` (without node and script); resolves to the exit
 * code. `io` replaces the process's output streams (the fuzzer runs the CLI in
 * process with in-memory ones).
 */
export async function main(
  argv: readonly string[],
  signal: AbortSignal,
  app: App,
  io: { readonly stdout: { write(t: string): void }; readonly stderr: { write(t: string): void } } = {
    stdout: { write: (t: string) => void process.stdout.write(t) },
    stderr: { write: (t: string) => void process.stderr.write(t) },
  },
): Promise<number> {
  const HELP = helpText(app);
  const out = io.stdout;
  const err = io.stderr;
  const extraOptions = Object.fromEntries(Object.values(app.commands).flatMap((c) => Object.entries(c.options ?? {}).map(([name, o]) => [name, { type: o.type }] as const)));
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        file: { type: 'string', short: 'f', default: 'pipeline.yaml' },
        set: { type: 'string', short: 's', multiple: true, default: [] },
        force: { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', short: 'n', default: false },
        jobs: { type: 'string', short: 'j' },
        'no-wait': { type: 'boolean', default: false },
        quarantine: { type: 'boolean', default: false },
        remote: { type: 'boolean', default: false },
        'run-cache': { type: 'boolean', default: false },
        executor: { type: 'string' },
        format: { type: 'string', default: 'text' },
        'keep-last': { type: 'string' },
        write: { type: 'boolean', default: false },
        rev: { type: 'string' },
        'no-cache': { type: 'boolean', default: false },
        'allow-code-drift': { type: 'boolean', default: false },
        metric: { type: 'string' },
        random: { type: 'string' },
        apply: { type: 'string' },
        'all-stages': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
        ...extraOptions,
      },
    });
  } catch (e) {
    err.write(`pipe: ${e instanceof Error ? e.message : String(e)}\nRun \`pipe --help\` for usage.\n`);
    return EXIT.usage;
  }
  const { values: v, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (v.version) {
    out.write(`${pipeVersion()}\n`);
    return EXIT.ok;
  }
  if (v.help || command === 'help' || command === undefined) {
    (command === undefined && !v.help ? err : out).write(HELP);
    return command === undefined && !v.help ? EXIT.usage : EXIT.ok;
  }
  const usage = (message: string): number => {
    err.write(`pipe: ${message}\nRun \`pipe --help\` for usage.\n`);
    if (v.json) out.write(JSON.stringify({ ok: false, error: { reason: 'usage', message } }, null, 2) + '\n');
    return EXIT.usage;
  };
  const overrides: Override[] = [];
  for (const s of v.set) {
    const o = parseOverride(s);
    if (!o.ok) return usage(o.error.message);
    overrides.push(o.value);
  }
  const jobs = v.jobs === undefined ? cpus().length : Number(v.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) return usage(`--jobs expects a whole number >= 1, got "${v.jobs}"`);
  const env: CommandEnv = { file: v.file, overrides, json: v.json, registry: app.registry, stdout: out, stderr: err };
  // Flags that only some commands take.
  const takes: [string, boolean, readonly string[]][] = [
    ['--force', v.force, ['run']],
    ['--dry-run', v['dry-run'], ['run', 'gc']],
    ['--no-wait', v['no-wait'], ['run', 'gc', 'verify']],
    ['--quarantine', v.quarantine, ['verify']],
    ['--remote', v.remote, ['gc']],
    ['--run-cache', v['run-cache'], ['push']],
    ['--executor', v.executor !== undefined, ['run']],
    ['--keep-last', v['keep-last'] !== undefined, ['gc']],
    ['--write', v.write, ['exp']],
    ['--rev', v.rev !== undefined, ['repro']],
    ['--no-cache', v['no-cache'], ['repro']],
    ['--allow-code-drift', v['allow-code-drift'], ['repro']],
    ['--metric', v.metric !== undefined, ['sweep']],
    ['--random', v.random !== undefined, ['sweep']],
    ['--apply', v.apply !== undefined, ['sweep']],
    ['--all-stages', v['all-stages'], ['sweep']],
  ];
  for (const [name, c] of Object.entries(app.commands)) {
    for (const flag of Object.keys(c.options ?? {})) takes.push([`--${flag}`, (v as Record<string, unknown>)[flag] !== undefined, [name]]);
  }
  for (const [flag, on, commands] of takes) {
    if (on && !commands.includes(command)) return usage(`${flag} goes with ${commands.map((c) => `\`pipe ${c}\``).join(' or ')}`);
  }

  switch (command) {
    case 'run': {
      if (v.executor !== undefined && v.executor !== 'local' && v.executor !== 'slurm') return usage(`--executor expects local or slurm, got "${v.executor}"`);
      const executor = v.executor as 'local' | 'slurm' | undefined;
      return cmdRun(env, { targets: rest, force: v.force, dryRun: v['dry-run'], jobs, wait: !v['no-wait'], signal, ...(executor ? { executor } : {}) });
    }
    case 'push':
    case 'pull': {
      const { cmdPush, cmdPull } = await import('./push-pull.js');
      if (command === 'push' && rest.length) return usage('`pipe push` takes no stage names');
      return command === 'push' ? cmdPush(env, { runCache: v['run-cache'], signal }) : cmdPull(env, rest, { signal });
    }
    case 'status':
      return cmdStatus(env, rest);
    case 'gc': {
      if (rest.length) return usage('`pipe gc` takes no stage names');
      const keepLast = v['keep-last'] === undefined ? 500 : Number(v['keep-last']);
      if (!Number.isInteger(keepLast) || keepLast < 0) return usage(`--keep-last expects a whole number >= 0, got "${v['keep-last']}"`);
      if (v.remote) {
        const { cmdGcRemote } = await import('./push-pull.js');
        return cmdGcRemote(env, { dryRun: v['dry-run'], keepLast, signal });
      }
      return cmdGc(env, { dryRun: v['dry-run'], wait: !v['no-wait'], keepLast, signal });
    }
    case 'verify': {
      if (rest.length) return usage('`pipe verify` takes no stage names');
      const { cmdVerify } = await import('./verify.js');
      return cmdVerify(env, { quarantine: v.quarantine, wait: !v['no-wait'], signal });
    }
    case 'exp':
    case 'metrics':
    case 'params': {
      const { cmdExp, cmdDvcAlias } = await import('./exp/commands.js');
      return command === 'exp' ? cmdExp(env, rest, { write: v.write, signal }) : cmdDvcAlias(env, command, rest);
    }
    case 'repro': {
      if (rest.length > 1) return usage('`pipe repro` takes one lock (a file, an experiment id or name)');
      const { cmdRepro } = await import('./exp/repro.js');
      return cmdRepro(env, { lock: rest[0], rev: v.rev, noCache: v['no-cache'], allowCodeDrift: v['allow-code-drift'], jobs, signal });
    }
    case 'sweep': {
      const random = v.random === undefined ? undefined : Number(v.random);
      if (random !== undefined && (!Number.isInteger(random) || random < 1)) return usage(`--random expects a whole number >= 1, got "${v.random}"`);
      if (v.apply !== undefined && v.apply !== 'best') return usage(`--apply takes "best", got "${v.apply}"`);
      const { cmdSweep } = await import('./exp/sweep.js');
      return cmdSweep(env, { specs: rest, metric: v.metric, random, applyBest: v.apply === 'best', allStages: v['all-stages'], jobs, signal });
    }
    case 'dag': {
      if (!['text', 'mermaid', 'dot'].includes(v.format)) return usage(`--format expects text, mermaid or dot, got "${v.format}"`);
      if (rest.length) return usage('`pipe dag` takes no stage names');
      return cmdDag(env, v.format as DagFormat);
    }
    case 'show': {
      const { cmdShow } = await import('./show.js');
      return cmdShow(env, rest);
    }
    case 'export': {
      const { cmdExport } = await import('./export.js');
      return cmdExport(env, rest, app.exporters ?? []);
    }
    case 'watch': {
      const { cmdWatch } = await import('./watch.js');
      return cmdWatch(env, { targets: rest, jobs, signal });
    }
    default: {
      const extra = Object.hasOwn(app.commands, command) ? app.commands[command] : undefined;
      if (extra) {
        const options = Object.fromEntries(Object.keys(extra.options ?? {}).map((k) => [k, (v as Record<string, unknown>)[k] as string | boolean | undefined]));
        return extra.run(rest, { ...env, options, signal });
      }
      return usage(`unknown command "${command}"`);
    }
  }
}
