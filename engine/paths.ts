/**
 * Workspace paths: the one place a path from pipeline.yaml becomes a place on
 * disk. The graph checks with {@link outProblem} that every path a stage writes,
 * restores or deletes stays inside the project and off pipe's own files; run,
 * restore and the freshness check all turn a workspace path into an absolute one
 * with {@link workspaceAbs}; an out is deleted only by {@link removeOut}.
 *
 *   "data/../out/x"  -> "out/x"        (inside: relative, posix)
 *   "."              -> "."            (the project root: never an out)
 *   "/tmp/x", "../x" -> "/tmp/x", ...  (outside: absolute; allowed for deps only)
 */
import { lstatSync, realpathSync } from 'node:fs';
import { lstat, rm, unlink } from 'node:fs/promises';
import { basename, isAbsolute, normalize, relative, resolve, sep } from 'node:path';
import { projectLayout } from './layout.js';

/** Normalises a user path against the project root: relative posix when inside it, absolute otherwise. */
export function workspacePath(root: string, p: string): string {
  const abs = resolve(root, p);
  const rel = relative(root, abs);
  if (rel === '') return '.';
  if (isOutside(rel)) return normalize(abs);
  return rel.split(sep).join('/');
}

/** The absolute path of a workspace path (as {@link workspacePath} returns it). */
export function workspaceAbs(root: string, ws: string): string {
  return resolve(root, ws);
}

/** True when `ws` (a {@link workspacePath}) lies inside `parent` or is it. */
export function within(ws: string, parent: string): boolean {
  return ws === parent || parent === '.' || ws.startsWith(parent.endsWith('/') ? parent : `${parent}/`);
}

/** True when two workspace paths are the same or one contains the other. */
export function overlaps(a: string, b: string): boolean {
  return within(a, b) || within(b, a);
}

function isOutside(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

/** pipe's own files in a project, which no stage may write. */
export interface Reserved {
  /** The pipeline file's name (it sits at the root). */
  readonly pipelineFile: string;
  /** The lock's name (beside the pipeline file). */
  readonly lockFile: string;
}

/**
 * Why a stage may not write, restore or delete workspace path `ws`, or
 * undefined when it may. Checks the text first (outside the project, the root,
 * `.pipe/`, `.git/`, the pipeline file, its lock), then the disk: a folder on
 * the way that is a symlink out of the project.
 */
export function outProblem(root: string, ws: string, reserved: Reserved): string | undefined {
  if (isOutsideProject(ws)) return 'is outside the project folder';
  if (ws === '.') return 'is the project folder itself';
  const first = (ws.split('/')[0] ?? '').toLowerCase();
  if (first === '.pipe') return "is inside .pipe/ (pipe's cache and state)";
  if (first === '.git') return 'is inside .git/';
  const lower = ws.toLowerCase();
  if (lower === reserved.pipelineFile.toLowerCase()) return 'is the pipeline file';
  if (lower === reserved.lockFile.toLowerCase()) return "is the pipeline's lock file";
  const link = symlinkOut(root, ws);
  if (link !== undefined) return `goes through "${link}", a symlink to a folder outside the project`;
  return undefined;
}

/** True when `ws` (a {@link workspacePath}) names a place outside the project, by its text alone (no symlinks followed). */
export function isOutsideProject(ws: string): boolean {
  return isAbsolute(ws) || ws === '..' || ws.startsWith('../');
}

/**
 * The first folder on the way to `ws` (not `ws` itself) that resolves outside
 * the project through a symlink, as a workspace path; undefined if none.
 */
function symlinkOut(root: string, ws: string): string | undefined {
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    return undefined;
  }
  const parts = ws.split('/');
  for (let i = 1; i < parts.length; i++) {
    const sub = parts.slice(0, i).join('/');
    const abs = resolve(root, sub);
    let isLink: boolean;
    try {
      isLink = lstatSync(abs).isSymbolicLink();
    } catch {
      return undefined; // does not exist: nothing further down exists either
    }
    if (!isLink) continue;
    let real: string;
    try {
      real = realpathSync(abs);
    } catch {
      return sub; // a dangling or looping link: nowhere safe to write through
    }
    if (isOutside(relative(realRoot, real))) return sub;
  }
  return undefined;
}

/**
 * Deletes out `ws` before its stage runs: a symlink is removed itself, never
 * followed, and nothing is deleted when the path is not a safe out (see
 * {@link outProblem}; checked again here because the disk may have changed
 * since the graph was built). Resolves to an error message, or undefined.
 */
export async function removeOut(root: string, ws: string, reserved: Reserved): Promise<string | undefined> {
  const problem = outProblem(root, ws, reserved);
  if (problem !== undefined) return `refusing to delete output "${ws}": it ${problem}`;
  const abs = workspaceAbs(root, ws);
  let st;
  try {
    st = await lstat(abs);
  } catch {
    return undefined; // nothing there
  }
  if (st.isSymbolicLink() || !st.isDirectory()) await unlink(abs);
  else await rm(abs, { recursive: true, force: true });
  return undefined;
}

/** pipe's own files for pipeline file `file`. */
export function reservedFor(file: string): Reserved {
  return { pipelineFile: basename(file), lockFile: basename(projectLayout(file).lockPath) };
}
