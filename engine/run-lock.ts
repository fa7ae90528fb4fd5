/**
 * One `pipe run` (or `gc`) at a time per project: `.pipe/run.lock` names its
 * owner and the process groups of the stages it is running. A second run
 * waits for it (or fails with --no-wait). A lock whose owner is dead is taken
 * over by exactly one waiting run, which first kills the dead run's stage
 * groups (the lifeline, engine/lifeline.ts, normally has already).
 *
 * Every lock file is written whole under a private name and then linked or
 * renamed into place, so a reader never sees half of one. Taking over:
 *
 *   link(mine, run.lock) ok ----------------------------------------------> held
 *     | EEXIST: read run.lock (id S)
 *     |-- owner alive -------------------------------------> wait, start over
 *     '-- owner dead: link(claim, run.lock.takeover-S)  (one winner per S)
 *           |-- won: re-read run.lock; still S? rename(mine, run.lock) -> held
 *           |                          else drop the claim, start over
 *           '-- EEXIST: claimant alive -> wait, start over
 *                       claimant dead (id C) -> claim run.lock.takeover-S-C ...
 *
 * Why one winner: run.lock can only be replaced by the holder of the claim on
 * its id S (or, if that holder died first, of the claim on S-C, and so on);
 * creating a claim is atomic (link fails if it exists), a dead claimant never
 * acts again, and a live one re-reads run.lock after winning, so a claim on
 * an id that was already replaced changes nothing. Ids are random per run.
 */
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { processAlive, processStart, reapGroups, signalGroup, sleep } from './proc.js';

/** A stage process group a run started. */
export interface LockedGroup {
  readonly stage: string;
  readonly pgid: number;
  readonly start?: string;
}

/** What run.lock holds. */
interface Owner {
  readonly id: string;
  readonly pid: number;
  readonly start?: string;
  readonly host: string;
  readonly started: string;
  readonly groups: readonly LockedGroup[];
}

/** A lock file's owner (if it parses) and its id (a hash of the bytes if it does not). */
function readLockFile(path: string): { id: string; owner?: Owner } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const o = JSON.parse(text) as Partial<Owner>;
    if (o && typeof o.id === 'string' && /^[0-9a-f]+$/.test(o.id) && typeof o.pid === 'number') {
      return { id: o.id, owner: { ...o, groups: Array.isArray(o.groups) ? o.groups : [] } as Owner };
    }
  } catch { /* not ours, or written by an older pipe */ }
  return { id: `x${createHash('sha256').update(text).digest('hex').slice(0, 16)}` };
}

function ownerAlive(o: Owner | undefined): boolean {
  if (!o) return false;
  if (o.host !== hostname()) return true; // cannot tell: assume it runs
  return processAlive(o.pid, o.start);
}

function writeWhole(path: string, o: Owner): void {
  writeFileSync(path, JSON.stringify(o));
}

function tryLink(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch { /* gone */ }
}

/** A held lock. `release` is idempotent. */
export interface HeldLock {
  /** Records a stage's process group (synchronously: it is in the file when this returns, unless the disk is full). */
  track(stage: string, pgid: number): void;
  /** Forgets a group that has ended. */
  untrack(pgid: number): void;
  release(): Promise<void>;
}

/** What taking the lock found and did. */
export interface Acquired {
  readonly lock: HeldLock;
  /** It had to wait for another run. */
  readonly waited: boolean;
  /** Process groups of a dead run that were killed before starting. */
  readonly reaped: number;
}

/**
 * Tries once to take over the stale lock whose id is `staleId`, replacing it
 * with `mine`. Returns whether it did.
 */
function takeOver(path: string, staleId: string, mine: string, me: Owner): boolean {
  const chain = [staleId];
  for (let depth = 0; depth < 16; depth++) {
    const claim = `${path}.takeover-${chain.join('-')}`;
    const myClaim = `${claim}.${me.id}.tmp`;
    writeWhole(myClaim, me);
    const won = tryLink(myClaim, claim);
    unlinkQuiet(myClaim);
    if (won) {
      if (readLockFile(path)?.id === staleId) {
        renameSync(mine, path);
        return true;
      }
      unlinkQuiet(claim);
      return false;
    }
    const claimant = readLockFile(claim);
    if (!claimant) return false; // the claim went away: the lock changed, start over
    if (ownerAlive(claimant.owner)) return false;
    chain.push(claimant.id);
  }
  return false;
}

/** Removes takeover claims and write-temps left by dead processes (only ever called by the holder). */
function sweep(path: string): void {
  const dir = dirname(path);
  const base = basename(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(`${base}.`)) continue;
    const full = join(dir, n);
    if (n.startsWith(`${base}.takeover-`) && !n.endsWith('.tmp')) {
      unlinkQuiet(full); // claims on ids that are no longer the lock: inert
    } else if (n.endsWith('.tmp')) {
      // Only whole files of dead owners: a live contender may be writing its own right now.
      const o = readLockFile(full)?.owner;
      if (o && !ownerAlive(o)) unlinkQuiet(full);
    }
  }
}

/**
 * Takes the lock at `path`. With `wait`, polls until the other run ends
 * (calling `onWait` once); without, returns the other run's description.
 */
export async function acquireRunLock(
  path: string,
  opts: { wait: boolean; onWait?: (who: string) => void; signal?: AbortSignal },
): Promise<{ ok: true } & Acquired | { ok: false; message: string }> {
  const start = processStart(process.pid);
  let me: Owner = {
    id: randomBytes(8).toString('hex'), pid: process.pid, ...(start ? { start } : {}),
    host: hostname(), started: new Date().toISOString(), groups: [],
  };
  const mine = `${path}.${me.id}.tmp`;
  writeWhole(mine, me);
  let told = false;
  let reaped = 0;
  let unparsed: string | undefined;
  try {
    for (;;) {
      let held = tryLink(mine, path);
      if (held) unlinkQuiet(mine);
      else {
        const cur = readLockFile(path);
        if (!cur) continue; // released just now
        let stale = !ownerAlive(cur.owner);
        // A lock that does not parse may be an older pipe's, still being written: give it a moment.
        if (stale && !cur.owner && unparsed !== cur.id) {
          unparsed = cur.id;
          stale = false;
          await sleep(100);
          continue;
        }
        if (stale && takeOver(path, cur.id, mine, me)) {
          held = true;
          reaped = await reapGroups(cur.owner?.groups ?? []);
        } else if (!stale) {
          const o = cur.owner;
          const who = `another pipe run (pid ${o?.pid ?? '?'}, started ${o?.started ?? '?'}) is running in this project`;
          if (!opts.wait) {
            unlinkQuiet(mine);
            return { ok: false, message: `${who}; wait for it to finish, or run without --no-wait to wait` };
          }
          if (!told) opts.onWait?.(who);
          told = true;
        }
      }
      if (held) break;
      if (opts.signal?.aborted) {
        unlinkQuiet(mine);
        return { ok: false, message: 'interrupted while waiting for the other run' };
      }
      await sleep(told ? 200 : 20 + Math.random() * 30);
    }
  } catch (e) {
    unlinkQuiet(mine);
    throw e;
  }
  sweep(path);

  // From here the lock is ours: rewrite it whole (temp + rename) as groups come and go.
  // Best effort: on a full disk the groups stay recorded in memory (for the exit hook)
  // and the lifeline alone stops them if this run dies.
  const rewrite = (): void => {
    try {
      writeWhole(mine, me);
      renameSync(mine, path);
    } catch {
      unlinkQuiet(mine);
    }
  };
  let released = false;
  // A run that exits without releasing (a second Ctrl-C, an internal error) still stops its stages.
  const onExit = (): void => {
    for (const g of me.groups) signalGroup(g.pgid, g.start, 'SIGKILL');
    if (readLockFile(path)?.id === me.id) unlinkQuiet(path);
  };
  process.on('exit', onExit);
  const lock: HeldLock = {
    track(stage, pgid) {
      if (released) return;
      const gstart = processStart(pgid);
      me = { ...me, groups: [...me.groups, { stage, pgid, ...(gstart ? { start: gstart } : {}) }] };
      rewrite();
    },
    untrack(pgid) {
      if (released || !me.groups.some((g) => g.pgid === pgid)) return;
      me = { ...me, groups: me.groups.filter((g) => g.pgid !== pgid) };
      rewrite();
    },
    async release() {
      if (released) return;
      released = true;
      process.off('exit', onExit);
      if (readLockFile(path)?.id === me.id) unlinkQuiet(path);
    },
  };
  return { ok: true, lock, waited: told, reaped };
}
