/**
 * Facts about other processes that survive pid reuse: a pid is only "the same
 * process" if its start time (field 22 of /proc/PID/stat, clock ticks since
 * boot) is the one recorded. Where /proc is missing (macOS) the start time is
 * unknown and liveness falls back to `kill(pid, 0)`.
 */
import { existsSync, readFileSync } from 'node:fs';

const HAS_PROC = existsSync('/proc/self/stat');

/** `/proc/PID/stat` split after the command name, or undefined if there is no such process. */
function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S ppid ...": comm may hold spaces and parentheses; the last ')' ends it.
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The start time of `pid` (opaque, compare for equality), or undefined if unknown. */
export function processStart(pid: number): string | undefined {
  return statFields(pid)?.[19];
}

/**
 * Whether `pid` is a live process (not a zombie) and, when `start` is given
 * and knowable, the same one that was recorded.
 */
export function processAlive(pid: number, start?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (HAS_PROC) {
    const f = statFields(pid);
    if (!f) return false;
    if (f[0] === 'Z' || f[0] === 'X') return false;
    return start === undefined || f[19] === start;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether any process is left in the process group `pgid`. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Sends `sig` to process group `pgid` whose leader started at `start`, unless
 * that pid now belongs to another process (a number stays reserved while any
 * member of its group lives, so a leader that died with its group left alive
 * cannot have been replaced). Returns whether the signal was sent.
 */
export function signalGroup(pgid: number, start: string | undefined, sig: NodeJS.Signals): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  if (HAS_PROC && start !== undefined) {
    const now = processStart(pgid);
    if (now !== undefined && now !== start) return false;
  }
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * SIGKILLs each group and waits (at most `timeoutMs`) until none is left.
 * Returns how many groups were signalled.
 */
export async function reapGroups(groups: readonly { pgid: number; start?: string }[], timeoutMs = 5000): Promise<number> {
  const hit = groups.filter((g) => signalGroup(g.pgid, g.start, 'SIGKILL'));
  const t0 = performance.now();
  while (hit.some((g) => groupAlive(g.pgid)) && performance.now() - t0 < timeoutMs) await sleep(20);
  return hit.length;
}
