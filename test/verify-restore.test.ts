import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse } from 'yaml';
import { Rig, statuses } from './util/rig.js';
import { moduleStagesPipeline } from './util/module-stages.js';

// Module stages a -> b (artifacts, read through views), command stages c, d (workspace outs).
const PIPELINE = moduleStagesPipeline(1, `  c:
    cmd: echo c >> runs.log && echo "c \${n}" > c.txt
    outs: [c.txt]
  d:
    cmd: echo d >> runs.log && echo D > d.txt
    outs: [d.txt]
`);

const MODS = {
  'mods/a.mjs': `import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default {
  artifacts: () => ['num'],
  async run(ctx) {
    appendFileSync(join(ctx.root, 'runs.log'), 'a\\n');
    writeFileSync(join(ctx.outDir, 'num'), String(100 + ctx.params.x));
  },
};
`,
  'mods/b.mjs': `import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
export default {
  artifacts: () => ['double'],
  async run(ctx) {
    appendFileSync(join(ctx.root, 'runs.log'), 'b\\n');
    writeFileSync(join(ctx.outDir, 'double'), String(2 * Number(readFileSync(ctx.inputs.num, 'utf8'))));
  },
};
`,
};

type Ref = { digest: string; kind: string; size: number };

function lockOutputs(rig: Rig, stage: string): Record<string, Ref> {
  return (parse(rig.read('pipe.lock')) as { stages: Record<string, { outputs: Record<string, Ref> }> }).stages[stage]!.outputs;
}

function objectPath(rig: Rig, digest: string): string {
  return join(rig.dir, '.pipe', 'cache', 'objects', digest.slice(7, 9), digest.slice(9));
}

/** Overwrites a cache object in place with other bytes of the same size. */
function tamper(rig: Rig, digest: string): void {
  const p = objectPath(rig, digest);
  const old = readFileSync(p);
  chmodSync(p, 0o644);
  writeFileSync(p, Buffer.from(old.map((b) => b ^ 1)));
  chmodSync(p, 0o444);
}

function quarantined(rig: Rig): string[] {
  try {
    return readdirSync(join(rig.dir, '.pipe', 'cache', 'quarantine'));
  } catch {
    return [];
  }
}

describe('restores verify what comes out of the cache', () => {
  const rig = new Rig({ 'pipeline.yaml': PIPELINE, ...MODS });
  after(() => rig.cleanup());

  test('a first run, then a no-op', async () => {
    assert.equal((await rig.run('run')).code, 0);
    const r = await rig.json('run');
    assert.deepEqual(statuses(r.doc), { a: 'fresh', b: 'fresh', c: 'fresh', d: 'fresh' });
  });

  test('an artifact overwritten with same-size bytes: quarantined, its stage rebuilds, dependents stay fresh', async () => {
    const num = lockOutputs(rig, 'a').num!;
    tamper(rig, num.digest);
    const st = await rig.json('status');
    const a = st.doc.stages.find((s: { stage: string }) => s.stage === 'a');
    assert.equal(a.state, 'stale');
    assert.match(a.why.join('\n'), new RegExp(`cached output "num": cache object ${num.digest} is corrupt: its content hashes to sha256:`));
    assert.deepEqual(quarantined(rig), [], 'status only reports');
    rig.write({ 'runs.log': '' });
    const r = await rig.run('run');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`warning: \\[a\\] cache object ${num.digest} is corrupt: .*moved to \\.pipe/cache/quarantine/${num.digest.slice(7)}\\.\\S+; the stage runs again`));
    assert.deepEqual(rig.lines('runs.log'), ['a'], 'b is fresh: its input did not change');
    assert.equal(quarantined(rig).length, 1);
    assert.equal(readFileSync(objectPath(rig, num.digest), 'utf8'), '101');
    assert.deepEqual(statuses((await rig.json('run')).doc), { a: 'fresh', b: 'fresh', c: 'fresh', d: 'fresh' });
  });

  test('a workspace out restored from a corrupt object: the stage rebuilds instead', async () => {
    const c = lockOutputs(rig, 'c')['c.txt']!;
    tamper(rig, c.digest);
    rig.write({ 'c.txt': 'edited\n', 'runs.log': '' });
    const r = await rig.json('run');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(statuses(r.doc), { a: 'fresh', b: 'fresh', c: 'ran', d: 'fresh' });
    assert.equal(rig.read('c.txt'), 'c 1\n');
    assert.deepEqual(rig.lines('runs.log'), ['c']);
  });

  test('a lock whose output digest names another object: not fresh, the run record wins', async () => {
    const c = lockOutputs(rig, 'c')['c.txt']!;
    const d = lockOutputs(rig, 'd')['d.txt']!;
    assert.equal(c.size, 4);
    assert.equal(d.size, 2);
    // d.txt's object in the lock entry of c (and the workspace made to agree with it).
    rig.write({ 'pipe.lock': rig.read('pipe.lock').replace(`digest: ${c.digest}\n        kind: file\n        size: 4`, `digest: ${d.digest}\n        kind: file\n        size: 2`) });
    assert.equal(lockOutputs(rig, 'c')['c.txt']!.digest, d.digest);
    rig.write({ 'c.txt': 'D\n', 'runs.log': '' });
    const st = await rig.json('status');
    const sc = st.doc.stages.find((s: { stage: string }) => s.stage === 'c');
    assert.equal(sc.state, 'restorable');
    assert.match(sc.why.join('\n'), /pipe\.lock records other outputs for this key than the run that made them \(c\.txt\)/);
    const r = await rig.json('run');
    assert.deepEqual(statuses(r.doc), { a: 'fresh', b: 'fresh', c: 'restored', d: 'fresh' });
    assert.equal(rig.read('c.txt'), 'c 1\n');
    assert.equal(lockOutputs(rig, 'c')['c.txt']!.digest, c.digest);
    assert.deepEqual(rig.lines('runs.log'), []);
  });

  test('a run record whose output digest names another object is not restored from', async () => {
    assert.equal((await rig.run('run', '--set', 'n=2')).code, 0);
    const two = lockOutputs(rig, 'c')['c.txt']!;
    assert.equal((await rig.run('run')).code, 0); // back to n=1: restored
    const one = lockOutputs(rig, 'c')['c.txt']!;
    // Point the n=2 record of c at the n=1 object (same size).
    const runs = join(rig.dir, '.pipe', 'cache', 'runs');
    for (const f of readdirSync(runs)) {
      const p = join(runs, f);
      const text = readFileSync(p, 'utf8');
      if (text.includes(two.digest)) writeFileSync(p, text.replace(two.digest, one.digest));
    }
    rig.write({ 'runs.log': '' });
    const r = await rig.json('run', '--set', 'n=2');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(statuses(r.doc), { a: 'restored', b: 'restored', c: 'ran', d: 'fresh' });
    assert.equal(rig.read('c.txt'), 'c 2\n');
    assert.deepEqual(rig.lines('runs.log'), ['c']);
  });
});

describe('a run cleans the temp debris of runs that died', () => {
  const rig = new Rig({ 'pipeline.yaml': 'stages:\n  s:\n    cmd: mkdir -p out && echo x > out/x.txt\n    outs: [out]\n' });
  after(() => rig.cleanup());

  test('temp objects, restores, work folders and half-written records and locks of a dead pid go; nothing else', async () => {
    assert.equal((await rig.run('run')).code, 0);
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    const hex = 'ab'.repeat(32);
    const debris = [
      `.pipe/cache/tmp/${dead}.0123456789abcdef.obj`,
      `.pipe/cache/tmp/${dead}.0123456789abcdef.restore/x.txt`,
      `.pipe/tmp/s-${dead}-abc123/out/x`,
      `.pipe/cache/runs/.${hex}.json.${dead}.0123456789ab.tmp`,
      `.pipe.lock.${dead}.0123456789ab.tmp`,
    ];
    const kept = [`.notes.${dead}.0123456789ab.tmp`];
    for (const f of [...debris, ...kept]) {
      mkdirSync(join(rig.dir, f, '..'), { recursive: true });
      writeFileSync(join(rig.dir, f), 'debris');
    }
    const r = await rig.run('run');
    assert.equal(r.code, 0, r.stderr);
    for (const f of debris) assert.equal(rig.exists(f), false, f);
    assert.ok(rig.exists(kept[0]!), 'a temp of something else than a lock is not ours');
    assert.deepEqual(readdirSync(join(rig.dir, '.pipe', 'cache', 'tmp')), []);
    assert.equal((await rig.run('verify')).code, 0);
  });
});
