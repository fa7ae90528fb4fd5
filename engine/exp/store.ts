/**
 * Experiments: every `pipe run`, `pipe repro` and sweep point is recorded as
 * one JSON file in `.pipe/exps/<id>.json`: its whole lock, the overrides it was
 * made with, when, the git commit, and a short readable name.
 *
 * The id is a hash of what the experiment produced (each stage's key and output
 * digests), so running the same thing again updates one record instead of
 * piling up copies; the name ("brisk-otter") is derived from the id.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../cache/atomic.js';
import { readGitHead } from './git-head.js';
import { canonicalJson, hashBytes } from '../../cache/digest.js';
import { dotLayout } from '../layout.js';
import type { Lock } from '../lockfile.js';
import type { ParamValue } from '../stage-api.js';

/** How an experiment came about. */
export type ExperimentKind = 'run' | 'repro' | 'sweep';

/** One recorded experiment. */
export interface Experiment {
  /** 8 hex digits of the hash of every stage's key and outputs. */
  readonly id: string;
  /** A short readable name derived from the id ("brisk-otter"). */
  readonly name: string;
  readonly kind: ExperimentKind;
  /** First and latest time this experiment was made (ISO 8601). */
  readonly created_at: string;
  readonly updated_at: string;
  /** The pipeline file it was run from (relative to the project). */
  readonly pipeline: string;
  /** `git rev-parse HEAD` of the project when it was made, if it is in git. */
  readonly commit?: string;
  /** The sweep it was a point of (kept when the same experiment is made again). */
  readonly sweep?: string;
  /** The --set overrides it was made with (path -> value). */
  readonly overrides: Readonly<Record<string, ParamValue>>;
  readonly lock: Lock;
}

/** The id of the experiment a lock holds: a hash of each stage's key and output digests. */
export function experimentId(lock: Lock): string {
  const core = Object.fromEntries(Object.entries(lock.stages).map(([n, e]) => [
    n, { key: e.key, outputs: Object.fromEntries(Object.entries(e.outputs).map(([o, r]) => [o, r.digest])) },
  ]));
  return hashBytes(canonicalJson(core)).slice(7, 15);
}

const ADJECTIVES = ['amber', 'brisk', 'calm', 'dapper', 'eager', 'fuzzy', 'gentle', 'hazy', 'icy', 'jolly', 'keen', 'lucid',
  'mellow', 'nimble', 'olive', 'plucky', 'quiet', 'rapid', 'sunny', 'tidy', 'upbeat', 'vivid', 'witty', 'young',
  'zesty', 'bold', 'crisp', 'deft', 'fair', 'grand', 'humble', 'lively'];
const NOUNS = ['otter', 'heron', 'lynx', 'marten', 'ibis', 'badger', 'crane', 'dingo', 'egret', 'ferret', 'gecko', 'hare',
  'koala', 'lemur', 'mole', 'newt', 'orca', 'puffin', 'quail', 'raven', 'stoat', 'tapir', 'urchin', 'vole',
  'walrus', 'yak', 'zebra', 'bison', 'civet', 'finch', 'gibbon', 'wren'];

/** The readable name of an id: adjective-noun picked by its digits. */
export function nameOf(id: string): string {
  const n = parseInt(id.slice(0, 6), 16);
  return `${ADJECTIVES[n % ADJECTIVES.length]}-${NOUNS[Math.floor(n / ADJECTIVES.length) % NOUNS.length]}`;
}

/**
 * The name a new experiment `id` gets among the experiments `ids` already
 * recorded: {@link nameOf} when no other id there has that name, else that
 * name with the id's first four digits ("quiet-gecko-9aa1"), else the name
 * with the whole id. With 1,024 plain names, a sweep's hundreds of points
 * would otherwise share them; ids are compared, not names read, so it costs
 * one listing of the folder.
 */
export function freshName(id: string, ids: readonly string[]): string {
  const plain = nameOf(id);
  const others = ids.filter((i) => i !== id);
  if (!others.some((i) => nameOf(i) === plain)) return plain;
  const short = `${plain}-${id.slice(0, 4)}`;
  return others.some((i) => i.startsWith(id.slice(0, 4)) && nameOf(i) === plain) ? `${plain}-${id}` : short;
}

/** The git commit of the folder `root`, or undefined outside git (or without git). */
export function gitCommit(root: string): string | undefined {
  const head = readGitHead(root);
  if ('commit' in head) return head.commit;
  if ('none' in head) return undefined;
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', '--verify', '-q', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The experiments of one project, in `<dotDir>/exps`. */
export class ExperimentStore {
  readonly dir: string;
  constructor(dotDir: string) {
    this.dir = dotLayout(dotDir).experiments;
  }

  /** Every readable experiment, oldest first (by update time). */
  list(): Experiment[] {
    let files: string[];
    try {
      files = readdirSync(this.dir).filter((f) => /^[0-9a-f]{8}\.json$/.test(f));
    } catch {
      return [];
    }
    const out: Experiment[] = [];
    for (const f of files) {
      const e = this.get(f.slice(0, 8));
      if (e) out.push(e);
    }
    return out.sort((a, b) => (a.updated_at < b.updated_at ? -1 : a.updated_at > b.updated_at ? 1 : a.id < b.id ? -1 : 1));
  }

  /** The experiment with this exact id, or undefined. */
  get(id: string): Experiment | undefined {
    try {
      const e = JSON.parse(readFileSync(join(this.dir, `${id}.json`), 'utf8')) as Experiment;
      return e && e.id === id && e.lock && typeof e.lock.stages === 'object' ? e : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Finds an experiment by id, name or id prefix (4 digits or more); a
   * message when none or several match. Several experiments of one name
   * (recorded before names were made unique, see {@link freshName}) are
   * refused with their ids, never one of them picked.
   */
  find(ref: string): { exp: Experiment } | { error: string } {
    const all = this.list();
    const exact = all.filter((e) => e.id === ref);
    const named = all.filter((e) => e.name === ref);
    const hits = exact.length ? exact : named.length ? named : all.filter((e) => ref.length >= 4 && e.id.startsWith(ref));
    if (hits.length === 1) return { exp: hits[0] as Experiment };
    if (hits.length > 1) {
      const which = hits.map((e) => `${e.id} (${e.kind}, ${e.updated_at.slice(0, 16).replace('T', ' ')})`).join(', ');
      return { error: `"${ref}" names several experiments: ${which}; give the id` };
    }
    return { error: `no experiment "${ref}" (\`pipe exp list\` shows them)` };
  }

  /** The ids of the recorded experiments, from the folder's file names (nothing read). */
  private ids(): string[] {
    try {
      return readdirSync(this.dir).filter((f) => /^[0-9a-f]{8}\.json$/.test(f)).map((f) => f.slice(0, 8));
    } catch {
      return [];
    }
  }

  /**
   * Records the experiment `lock` holds; an experiment with the same id is
   * updated (time, overrides, kind: how it was made last), keeping its
   * creation time and its sweep.
   */
  async record(lock: Lock, meta: { kind: ExperimentKind; pipeline: string; root: string; overrides: Readonly<Record<string, ParamValue>>; sweep?: string; commit?: string | null }): Promise<Experiment> {
    const id = experimentId(lock);
    const prev = this.get(id);
    const now = new Date().toISOString();
    const commit = meta.commit === null ? undefined : (meta.commit ?? gitCommit(meta.root));
    const exp: Experiment = {
      id, name: prev?.name ?? freshName(id, this.ids()), kind: meta.kind,
      created_at: prev?.created_at ?? now, updated_at: now, pipeline: meta.pipeline,
      ...(commit ? { commit } : {}), ...(meta.sweep ?? prev?.sweep ? { sweep: meta.sweep ?? prev?.sweep } : {}),
      overrides: meta.overrides, lock,
    };
    mkdirSync(this.dir, { recursive: true });
    await writeFileAtomic(join(this.dir, `${id}.json`), JSON.stringify(exp) + '\n');
    return exp;
  }

  /** Deletes an experiment's record (its cached outputs go at the next `pipe gc`). */
  remove(id: string): void {
    rmSync(join(this.dir, `${id}.json`), { force: true });
  }
}

/** `stage.metric` -> value, over every stage of a lock. */
export function flatMetrics(lock: Lock): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [stage, e] of Object.entries(lock.stages)) for (const [k, v] of Object.entries(e.metrics ?? {})) out[`${stage}.${k}`] = v;
  return out;
}

/** `stage.param` -> value, over every stage of a lock. */
export function flatParams(lock: Lock): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [stage, e] of Object.entries(lock.stages)) for (const [k, v] of Object.entries(e.params ?? {})) out[`${stage}.${k}`] = v;
  return out;
}
