/**
 * A temp-folder project rig (after wireit's rig-test): write files, run the
 * real CLI (`bin/pipe.js`) in the folder, read what it wrote.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after } from 'node:test';
import { repoRoot } from './paths.js';

/** What one CLI run printed and returned. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A temp project folder. */
export class Rig {
  readonly dir: string;
  constructor(files: Record<string, string> = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'pipe-rig-'));
    this.write(files);
  }
  /** Writes files (paths relative to the project). */
  write(files: Record<string, string>): void {
    for (const [p, text] of Object.entries(files)) {
      const abs = join(this.dir, p);
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, text);
    }
  }
  read(p: string): string {
    return readFileSync(join(this.dir, p), 'utf8');
  }
  exists(p: string): boolean {
    return existsSync(join(this.dir, p));
  }
  /** Lines of a log file the test's commands append to (empty if none). */
  lines(p: string): string[] {
    return this.exists(p) ? this.read(p).split('\n').filter(Boolean) : [];
  }
  /** Starts `pipe ARGS` in the project; the caller awaits `done`. */
  start(args: readonly string[]): { child: ChildProcess; done: Promise<CliResult> } {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'pipe.js'), ...args], {
      cwd: this.dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<CliResult>((res) => child.on('close', (code, signal) => res({ code, signal, stdout, stderr })));
    return { child, done };
  }
  /** Runs `pipe ARGS` to completion. */
  run(...args: string[]): Promise<CliResult> {
    return this.start(args).done;
  }
  /** Runs `pipe ARGS --json` and parses stdout. */
  async json(...args: string[]): Promise<{ code: number | null; doc: any; stderr: string }> {
    const r = await this.run(...args, '--json');
    let doc: unknown;
    try {
      doc = JSON.parse(r.stdout);
    } catch {
      throw new Error(`stdout is not JSON:\n${r.stdout}\nstderr:\n${r.stderr}`);
    }
    return { code: r.code, doc, stderr: r.stderr };
  }
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Cleans up rigs when the test file ends (called at the top level) or the
 * suite ends (called inside `describe`): `const track = trackRigs();`, then
 * `const rig = track(new Rig(...))`.
 */
export function trackRigs(): <R extends Rig>(r: R) => R {
  const rigs: Rig[] = [];
  after(() => rigs.forEach((r) => r.cleanup()));
  return (r) => (rigs.push(r), r);
}

/** stage name -> status, from a `run --json` document. */
export function statuses(doc: { stages: { stage: string; status: string }[] }): Record<string, string> {
  return Object.fromEntries(doc.stages.map((s) => [s.stage, s.status]));
}
