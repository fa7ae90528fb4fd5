/**
 * A user's own stage written in TypeScript, in a project of its own that
 * imports pipe by its package name (`import { defineStage } from 'pipe-ml'`,
 * resolved through node_modules/pipe-ml like an installed dependency): it
 * loads (types stripped), runs in a worker, and its code fingerprint covers
 * the .ts helper it imports, so editing the helper makes it stale.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { symlinkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { repoRoot } from './util/paths.js';
import { Rig, statuses } from './util/rig.js';

const STAGE = `import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { defineStage, type StageContext } from 'pipe-ml';
import { greeting } from './lib/helper.js';
import type { Greeting } from './lib/types.ts';

export default defineStage({
  description: 'a user stage in TypeScript',
  artifacts: () => ['greeting.json'],
  async run(ctx: StageContext): Promise<void> {
    const out: Greeting = { text: greeting(String(ctx.params['who'])) };
    await writeFile(join(ctx.outDir, 'greeting.json'), JSON.stringify(out));
    ctx.metric('length', out.text.length);
  },
});
`;

const PIPELINE = `stages:
  hello:
    uses: ./stage.ts
    params: {who: world}
  copy:
    cmd: cp "$PIPE_INPUT_HELLO_GREETING_JSON" out.json
    needs: [hello]
    outs: [out.json]
`;

describe('a TypeScript user stage importing pipe-ml by name', () => {
  const rig = new Rig({
    'pipeline.yaml': PIPELINE,
    'stage.ts': STAGE,
    'lib/helper.ts': 'export function greeting(who: string): string {\n  return `hello ${who}`;\n}\n',
    'lib/types.ts': 'export interface Greeting {\n  readonly text: string;\n}\n',
  });
  after(() => rig.cleanup());
  before(() => {
    mkdirSync(join(rig.dir, 'node_modules'));
    symlinkSync(repoRoot, join(rig.dir, 'node_modules', 'pipe-ml'), 'dir');
  });

  test('it runs, and a command stage reads its artifact', async () => {
    const r = await rig.json('run');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(statuses(r.doc), { hello: 'ran', copy: 'ran' });
    assert.deepEqual(JSON.parse(rig.read('out.json')), { text: 'hello world' });
    const lock = parse(rig.read('pipe.lock'));
    assert.equal(lock.stages.hello.kind, './stage.ts');
    assert.equal(lock.stages.hello.metrics.length, 11);
  });

  test('editing the imported .ts helper makes it stale; editing nothing keeps it fresh', async () => {
    const fresh = await rig.json('status');
    assert.deepEqual(fresh.doc.stages.map((s: { state: string }) => s.state), ['fresh', 'fresh']);
    rig.write({ 'lib/helper.ts': rig.read('lib/helper.ts').replace('hello', 'hi') });
    const stale = await rig.json('status');
    assert.equal(stale.doc.stages[0].state, 'stale');
    assert.deepEqual(stale.doc.stages[0].why, ['code changed']);
    const r = await rig.json('run');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(statuses(r.doc), { hello: 'ran', copy: 'ran' });
    assert.deepEqual(JSON.parse(rig.read('out.json')), { text: 'hi world' });
  });

  test('a sweep runs it too (in warm workers), and the command stage reads its input artifact there', async () => {
    // copy reports no metric, so only --all-stages runs it in a sweep.
    const r = await rig.json('sweep', 'hello.who=a,bbb', '--all-stages');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /hello\.who="bbb": hello\.length 6 \(ran hello, copy/); // "hi bbb"
    assert.match(r.stderr, /hello\.who="a": hello\.length 4 \(ran hello, copy/);
  });

  test('editing a type-only import makes it stale too', async () => {
    rig.write({ 'lib/types.ts': rig.read('lib/types.ts').replace('}', '  readonly lang?: string;\n}') });
    const stale = await rig.json('status');
    assert.deepEqual(stale.doc.stages[0].why, ['code changed']);
  });

  test('the package ships its types: the user project type-checks against pipe-ml, and a misuse is caught', () => {
    rig.write({
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: [] }, files: ['typed.ts', 'misuse.ts'] }),
      'package.json': '{"type": "module"}\n',
      'typed.ts': [
        "import { defineStage, readTensors, type StageContext } from 'pipe-ml';",
        'export default defineStage({',
        "  description: 'typed', artifacts: () => ['a'],",
        '  async run(ctx: StageContext): Promise<void> {',
        "    const t = await readTensors(ctx.inputs['dataset'] ?? '');",
        "    ctx.metric('n', t.tensors['train_masks']?.shape[0] ?? 0);",
        '  },',
        '});',
        '',
      ].join('\n'),
      'misuse.ts': "import { defineStage } from 'pipe-ml';\nexport default defineStage({ description: 'no run', artifacts: () => [] });\n",
    });
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', '.'], { cwd: rig.dir, encoding: 'utf8' });
    assert.equal(r.status, 2, r.stdout);
    const errors = r.stdout.split('\n').filter((l) => /^\S+\(\d+,\d+\): error/.test(l));
    assert.equal(errors.length, 1, r.stdout);
    assert.match(r.stdout, /misuse\.ts\(2,\d+\): error TS2345: [\s\S]*Property 'run' is missing/);
  });

  test('a syntax error in the .ts module is a located failure to load, exit 2', async () => {
    rig.write({ 'stage.ts': STAGE.replace('async run(', 'async run(((') });
    const r = await rig.run('status');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /stage "hello": cannot load "\.\/stage\.ts"/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
});
