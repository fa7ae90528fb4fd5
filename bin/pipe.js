#!/usr/bin/env node
// Launcher: runs the compiled CLI, first rebuilding it (tsc) when a TypeScript
// source is newer than the last build, so an edited stage runs as written.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const stamp = join(root, 'dist', '.tsbuildinfo');

function newestSource(dir, limit) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p, limit));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
    if (newest > limit) return newest;
  }
  return newest;
}

const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
const stale = ['bin', 'engine', 'cache', 'stages'].some((d) => newestSource(join(root, d), built) > built);
if (stale) {
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    tsc = undefined;
  }
  if (tsc) {
    process.stderr.write('pipe: sources changed since the last build; compiling...\n');
    const r = spawnSync(process.execPath, [tsc, '-p', root], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0 && !existsSync(join(root, 'dist', 'bin', 'main.js'))) process.exit(2);
    spawnSync(process.execPath, [join(root, 'dist', 'engine', 'build.js')], { stdio: 'inherit' });
    spawnSync(process.execPath, [join(root, 'dist', 'bin', 'build-params.js')], { stdio: 'inherit' });
  } else if (!existsSync(join(root, 'dist', 'bin', 'main.js'))) {
    process.stderr.write('pipe: not built and TypeScript is not installed: run `npm install`\n');
    process.exit(2);
  }
}
// The bundle (npm run build) starts faster; it is current when the build step ran after tsc.
const bundle = join(root, 'dist', 'engine', 'pipe-cli.js');
const useBundle = existsSync(bundle) && statSync(bundle).mtimeMs >= statSync(join(root, 'dist', 'bin', 'main.js')).mtimeMs;
await import(useBundle ? '../dist/engine/pipe-cli.js' : '../dist/bin/main.js');
