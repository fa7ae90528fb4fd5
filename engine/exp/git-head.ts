/**
 * The commit a folder's git checkout is at, read from the files under `.git`
 * instead of starting `git rev-parse HEAD` (a process start costs more than
 * the rest of recording an experiment). Handles the common layouts: a `.git`
 * folder or a `.git` file (worktrees, submodules) pointing at the git dir,
 * HEAD as a symbolic ref or detached, the ref loose or in `packed-refs`, and
 * `commondir` (refs of a linked worktree live in the main repository).
 * Anything else (GIT_DIR, GIT_WORK_TREE or GIT_COMMON_DIR set, the reftable
 * format, a loose ref that is not a commit id, an unreadable file) is
 * "unknown", and the caller asks git itself.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** What reading the files found: a commit, no git checkout or no commit yet, or unknown (ask git). */
export type GitHead = { readonly commit: string } | { readonly none: true } | { readonly unknown: true };

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The git dir of the checkout holding `root` (walking up), or undefined outside git. */
function gitDirOf(root: string): string | undefined | 'odd' {
  for (let dir = resolve(root); ; dir = dirname(dir)) {
    const dotGit = join(dir, '.git');
    const st = statSync(dotGit, { throwIfNoEntry: false });
    if (st?.isDirectory()) return dotGit;
    if (st?.isFile()) {
      const m = /^gitdir: (.+)$/m.exec(read(dotGit) ?? '');
      return m ? resolve(dir, (m[1] as string).trim()) : 'odd';
    }
    if (st !== undefined) return 'odd';
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * The commit of a full ref name (`refs/heads/main`) in `gitDir`, loose or
 * packed; undefined when neither has it; 'unknown' for a loose ref that is not
 * a commit id (a symbolic ref, a half-written file): the packed one, if any,
 * is older than it, so only git can say.
 */
function refCommit(gitDir: string, ref: string): string | undefined | 'unknown' {
  const common = read(join(gitDir, 'commondir'));
  const dirs = [gitDir, ...(common !== undefined ? [resolve(gitDir, common.trim())] : [])];
  for (const d of dirs) {
    const loose = read(join(d, ref))?.trim();
    if (loose !== undefined) return SHA.test(loose) ? loose : 'unknown';
  }
  for (const d of dirs) {
    for (const line of (read(join(d, 'packed-refs')) ?? '').split('\n')) {
      const [sha, name] = line.trim().split(' ');
      if (name === ref && sha !== undefined && SHA.test(sha)) return sha;
    }
  }
  return undefined;
}

/** The commit HEAD names in the checkout holding `root`. */
export function readGitHead(root: string): GitHead {
  if (['GIT_DIR', 'GIT_WORK_TREE', 'GIT_COMMON_DIR'].some((v) => process.env[v] !== undefined)) return { unknown: true };
  const gitDir = gitDirOf(root);
  if (gitDir === undefined) return { none: true };
  if (gitDir === 'odd') return { unknown: true };
  const head = read(join(gitDir, 'HEAD'))?.trim();
  if (head === undefined) return { unknown: true };
  if (SHA.test(head)) return { commit: head };
  const m = /^ref: (refs\/\S+)$/.exec(head);
  if (!m) return { unknown: true };
  const commit = refCommit(gitDir, m[1] as string);
  // A branch without a commit yet (a new repository) has no ref at all: let git say so.
  return commit !== undefined && commit !== 'unknown' ? { commit } : { unknown: true };
}
