import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { repoRoot } from './util/paths.js';
import { Rig } from './util/rig.js';

describe('heavy modules load on demand', () => {
  const rig = new Rig();
  copyFileSync(join(repoRoot, 'pipeline.yaml'), join(rig.dir, 'pipeline.yaml'));
  after(() => rig.cleanup());

  for (const args of [['status'], ['dag'], ['run', '--dry-run']]) {
    test(`pipe ${args.join(' ')} on the default pipeline never loads TensorFlow.js, sharp or vega`, () => {
      const trace = join(rig.dir, `imports-${args[0]}.txt`);
      const r = spawnSync(process.execPath, ['--import', join(repoRoot, 'dist', 'test', 'util', 'trace-imports.js'), join(repoRoot, 'bin', 'pipe.js'), ...args], {
        cwd: rig.dir, env: { ...process.env, PIPE_TRACE_IMPORTS: trace }, encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const urls = readFileSync(trace, 'utf8').split('\n').filter(Boolean);
      assert.ok(urls.some((u) => u.endsWith('/stages/train-seg.js')), 'the stage modules themselves are loaded');
      assert.deepEqual(urls.filter((u) => /@tensorflow|\/sharp\/|\/vega/.test(u)), []);
    });
  }
});
