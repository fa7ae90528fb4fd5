/**
 * A stage kind's params are its contract: checked when the pipeline loads
 * (status, dag, --dry-run and run all refuse before anything runs), located
 * in pipeline.yaml or naming the --set, with a did-you-mean; defaults filled
 * into the key and the lock.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Rig } from './util/rig.js';

// A cmd stage first (file order): if anything ran, runs.log would say so.
const GATE_LIKE = `params:
  seed: 1
  unused_global: 3
stages:
  first:
    cmd: echo first >> runs.log
  synth:
    uses: synth
    params:
      out: data/s
      subjects: 2
      seed: \${seed}
      images_per_subject: 3
`;

describe('params contract: built-in kinds', () => {
  const rig = new Rig({ 'pipeline.yaml': GATE_LIKE });
  after(() => rig.cleanup());

  test('a misspelt --set param is exit 2 with a did-you-mean, in every command, before anything runs', async () => {
    const msg = 'error: --set synth.subject=4: unknown param "subject" of stage "synth" (kind synth); did you mean "subjects"?';
    for (const args of [['run'], ['run', '--dry-run'], ['status'], ['dag']]) {
      const r = await rig.run(...args, '--set', 'synth.subject=4');
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim(), msg, args.join(' '));
    }
    assert.equal(rig.exists('runs.log'), false);
    assert.equal(rig.exists('pipe.lock'), false);
  });

  test('a bad --set value is exit 2 naming the --set', async () => {
    const r = await rig.run('run', '--dry-run', '--set', 'synth.subjects=abc');
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), 'error: --set synth.subjects=abc: param "subjects" of stage "synth" (kind synth): expected an integer, found the string "abc"');
  });

  test('a global --set that breaks a param through ${...} points at the reference and names the --set', async () => {
    const r = await rig.run('status', '--set', 'seed=-1');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^pipeline\.yaml:12:13 error: param "seed" of stage "synth" \(kind synth\): must be >= 0, found -1 \(from \$\{seed\}, set by --set seed=-1\)\n 12 \|       seed: \$\{seed\}\n/);
  });

  test('through a global that refers to the --set one, the message names that --set too', async () => {
    const chained = new Rig({ 'pipeline.yaml': GATE_LIKE.replace('  unused_global: 3\n', '  base: ${seed}\n').replace('seed: ${seed}\n      images', 'seed: ${base}\n      images') });
    try {
      const r = await chained.run('status', '--set', 'seed=-1');
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^pipeline\.yaml:12:13 error: param "seed" of stage "synth" \(kind synth\): must be >= 0, found -1 \(from \$\{seed\}, set by --set seed=-1\)\n 12 \|       seed: \$\{base\}\n/);
    } finally {
      chained.cleanup();
    }
  });

  test('typos and bad values in the file point at line:col, all reported at once', async () => {
    const bad = new Rig({
      'pipeline.yaml': GATE_LIKE.replace('subjects: 2', 'subject: 2').replace('images_per_subject: 3', 'images_per_subject: 1.5') + '      difficulty: [1]\n',
    });
    try {
      const r = await bad.run('run');
      assert.equal(r.code, 2);
      const heads = r.stderr.split('\n').filter((l) => l.startsWith('pipeline.yaml:'));
      assert.deepEqual(heads, [
        'pipeline.yaml:11:7 error: unknown param "subject" of stage "synth" (kind synth); did you mean "subjects"?',
        'pipeline.yaml:13:27 error: param "images_per_subject" of stage "synth" (kind synth): expected an integer, found number 1.5',
        'pipeline.yaml:14:19 error: param "difficulty" of stage "synth" (kind synth): expected a number, found the list [1]',
      ]);
      assert.match(r.stderr, / 11 \|       subject: 2\n    \|       \^{7}\n/);
      assert.equal(bad.exists('runs.log'), false);
    } finally {
      bad.cleanup();
    }
  });

  test('a name far from every param lists the kind\'s params instead', async () => {
    const r = await rig.run('dag', '--set', 'synth.zzzzzzzz=1');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown param "zzzzzzzz" of stage "synth" \(kind synth\); its params: subjects, images_per_subject, test_images, seed, difficulty, out, truth\n/);
  });

  test('the key is the same whether a param is omitted or states its default; global params are not checked against kinds', async () => {
    const omitted = await rig.json('status');
    assert.equal(omitted.code, 0, omitted.stderr);
    const keyOf = (doc: { stages: { stage: string; key?: string }[] }): string | undefined => doc.stages.find((s) => s.stage === 'synth')?.key;
    const k1 = keyOf(omitted.doc);
    assert.match(k1 ?? '', /^sha256:/);
    rig.write({ 'pipeline.yaml': GATE_LIKE.replace('      subjects: 2\n', '      subjects: 2\n      test_images: 100\n      difficulty: 0.5\n') });
    const stated = await rig.json('status');
    assert.equal(keyOf(stated.doc), k1);
    const other = await rig.json('status', '--set', 'synth.difficulty=0.6');
    assert.notEqual(keyOf(other.doc), k1);
  });
});

const MODULE_STAGE = `import { writeFileSync } from 'node:fs';
export default {
  description: 'writes its params',
  params: {
    type: 'object',
    additionalProperties: false,
    properties: {
      size: { type: 'integer', minimum: 1, default: 4, description: 'a size' },
      mode: { type: 'string', enum: ['fast', 'slow'], default: 'fast', description: 'a mode' },
    },
  },
  artifacts: (p) => ['out-' + p.mode],
  async run(ctx) {
    writeFileSync(ctx.outDir + '/out-' + ctx.params.mode, JSON.stringify(ctx.params));
  },
};
`;

describe('params contract: user module stages', () => {
  const rig = new Rig({
    'stage.mjs': MODULE_STAGE,
    'free.mjs': MODULE_STAGE.replace(/  params: \{[\s\S]*?\n  \},\n/, ''),
    'pipeline.yaml': `stages:
  declared:
    uses: ./stage.mjs
    params:
      size: 2
  free:
    uses: ./free.mjs
    params:
      mode: slow
      anything: [1, 2]
`,
  });
  after(() => rig.cleanup());

  test('a declared module gets its defaults (run, artifacts and the lock); an undeclared one takes any params', async () => {
    const r = await rig.run('run');
    assert.equal(r.code, 0, r.stderr);
    const lock = rig.read('pipe.lock');
    assert.match(lock, /declared:[\s\S]*params:\n\s+mode: fast\n\s+size: 2\n/);
    assert.match(lock, /free:[\s\S]*params:\n\s+anything:\n\s+- 1\n\s+- 2\n\s+mode: slow\n/);
    assert.match(lock, /out-fast/);
  });

  test('a declared module rejects an unknown param and a value outside its enum, with hints', async () => {
    let r = await rig.run('status', '--set', 'declared.sise=3');
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), 'error: --set declared.sise=3: unknown param "sise" of stage "declared" (kind ./stage.mjs); did you mean "size"?');
    r = await rig.run('status', '--set', 'declared.mode=slo');
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(),
      'error: --set declared.mode=slo: param "mode" of stage "declared" (kind ./stage.mjs): must be one of "fast", "slow", found the string "slo"; did you mean "slow"?');
  });

  test('stating a default keeps the stage fresh', async () => {
    rig.write({ 'pipeline.yaml': rig.read('pipeline.yaml').replace('      size: 2\n', '      size: 2\n      mode: fast\n') });
    const r = await rig.run('status');
    assert.equal(r.code, 0);
    assert.match(r.stdout, /everything is up to date/);
  });
});
