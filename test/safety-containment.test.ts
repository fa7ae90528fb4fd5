import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { outProblem, removeOut, workspaceAbs, workspacePath } from '../engine/paths.js';
import { Rig, trackRigs } from './util/rig.js';

const track = trackRigs();
const dirs: string[] = [];
after(() => {
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/** A project with `.git/`, a user file and a victim folder beside it (outside the project). */
function project(yaml: string): { rig: Rig; victim: string } {
  const outer = mkdtempSync(join(tmpdir(), 'pipe-contain-'));
  dirs.push(outer);
  const victim = join(outer, 'victim');
  mkdirSync(victim);
  writeFileSync(join(victim, 'precious.txt'), 'keep me');
  const rig = new Rig({ 'pipeline.yaml': yaml, 'notes.txt': 'user file', '.git/HEAD': 'ref: refs/heads/main\n' });
  track(rig);
  return { rig, victim };
}

/** Every command that opens the project refuses, with a located error, and nothing is touched. */
async function refusedEverywhere(rig: Rig, victim: string, sets: string[], pattern: RegExp, line: number): Promise<void> {
  const before = readdirSync(rig.dir).sort();
  const setArgs = sets.flatMap((s) => ['--set', s]);
  for (const args of [['status'], ['dag'], ['run', '--dry-run'], ['run']]) {
    const r = await rig.json(...args, ...setArgs);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const d = r.doc.error.diagnostics as { message: string; file: string; line: number }[];
    assert.ok(d.some((x) => pattern.test(x.message) && x.line === line), `${args.join(' ')}: ${JSON.stringify(d)}`);
    assert.match(r.stderr, new RegExp(`pipeline\\.yaml:${line}:\\d+ error: `));
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  assert.deepEqual(readdirSync(rig.dir).sort(), before);
  assert.equal(rig.read('notes.txt'), 'user file');
  assert.equal(rig.exists('.git/HEAD'), true);
  assert.equal(rig.exists('.pipe'), false);
  assert.equal(existsSync(join(victim, 'precious.txt')), true);
}

describe('outputs stay inside the project and off pipe\'s own files', () => {
  const cmdStage = (out: string): string => `params:\n  outdir: out\nstages:\n  a:\n    cmd: echo hi\n    outs: ["${out}"]\n`;

  test('--set outdir=\'\' (the project root) is refused, naming the --set', async () => {
    const { rig, victim } = project(cmdStage('${outdir}'));
    await refusedEverywhere(rig, victim, ["outdir=''"], /output "\." \(from --set outdir=''\) of stage "a" is the project folder itself/, 6);
  });

  for (const [out, why] of [
    ['..', /is outside the project folder/],
    ['../victim', /is outside the project folder/],
    ['/tmp/x', /is outside the project folder/],
    ['.pipe', /is inside \.pipe\//],
    ['.pipe/cache/objects', /is inside \.pipe\//],
    ['.git', /is inside \.git\//],
    ['pipeline.yaml', /is the pipeline file/],
    ['pipe.lock', /is the pipeline's lock file/],
    ['./sub/../.', /is the project folder itself/],
  ] as const) {
    test(`outs: [${out}] is refused`, async () => {
      const { rig, victim } = project(cmdStage(out));
      await refusedEverywhere(rig, victim, [], why, 6);
    });
  }

  test('a metrics file counts as an out', async () => {
    const { rig, victim } = project('stages:\n  a:\n    cmd: echo hi\n    metrics: pipe.lock\n');
    await refusedEverywhere(rig, victim, [], /output "pipe\.lock" of stage "a" is the pipeline's lock file/, 4);
  });

  test('an out a built-in kind derives from its params (synth.out) is checked, naming the --set', async () => {
    const { rig, victim } = project('params:\n  data: data/synth\nstages:\n  synth:\n    uses: synth\n    params:\n      out: ${data}\n');
    await refusedEverywhere(rig, victim, ['data=../victim'], /output ".*victim" \(from --set data=\.\.\/victim\) of stage "synth" is outside the project/, 7);
  });

  test('a stage param set with --set is named too', async () => {
    const { rig, victim } = project('stages:\n  synth:\n    uses: synth\n    params:\n      out: data/synth\n');
    await refusedEverywhere(rig, victim, ['synth.out=.git'], /output "\.git" \(from --set synth\.out=\.git\) of stage "synth" is inside \.git\//, 5);
  });

  test('an out through a symlinked folder that leads outside is refused', async () => {
    const { rig, victim } = project(cmdStage('link/precious.txt'));
    symlinkSync(victim, join(rig.dir, 'link'));
    await refusedEverywhere(rig, victim, [], /goes through "link", a symlink to a folder outside the project/, 6);
  });

  test('two stages may not claim overlapping outs', async () => {
    const { rig, victim } = project('stages:\n  a:\n    cmd: echo\n    outs: [out]\n  b:\n    cmd: echo\n    outs: [out/x]\n');
    await refusedEverywhere(rig, victim, [], /output "out\/x" of stage "b" is also claimed by stage "a"/, 7);
  });

  test('an out may not overlap its own stage\'s dep', async () => {
    const { rig, victim } = project('stages:\n  a:\n    cmd: echo\n    deps: [data/raw]\n    outs: [data]\n');
    await refusedEverywhere(rig, victim, [], /output "data" of stage "a" overlaps its own dep "data\/raw": running it would delete its own input/, 5);
  });

  test('a dep inside another stage\'s out is an edge; absolute deps outside the project are allowed', async () => {
    const { rig } = project('stages:\n  b:\n    cmd: cat out/x.txt /etc/hostname > y.txt\n    deps: [out/x.txt, /etc/hostname]\n    outs: [y.txt]\n  a:\n    cmd: mkdir -p out && echo hi > out/x.txt\n    outs: [out]\n');
    const r = await rig.json('run');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.doc.stages.map((s: { stage: string }) => s.stage), ['a', 'b']);
    assert.equal(rig.read('y.txt').startsWith('hi\n'), true);
  });

  test('a module stage outside the project is never imported', async () => {
    const outer = mkdtempSync(join(tmpdir(), 'pipe-outer-'));
    dirs.push(outer);
    const marker = join(outer, 'imported');
    writeFileSync(join(outer, 'evil.js'), `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'x');\nexport default {};\n`);
    const rig = new Rig({ 'pipeline.yaml': `stages:\n  a:\n    uses: ../${outer.split('/').pop()}/evil.js\n` });
    track(rig);
    // The rig lives in tmpdir too, so ../<outer>/evil.js is the file above.
    for (const args of [['status'], ['dag'], ['run', '--dry-run']]) {
      const r = await rig.json(...args);
      assert.equal(r.code, 2, r.stderr);
      // Located at the module path (pipeline.yaml:3:11), naming it.
      const d = r.doc.error.diagnostics as { message: string; line: number; column: number }[];
      assert.equal(d.length, 1);
      assert.deepEqual([d[0]?.line, d[0]?.column], [3, 11]);
      assert.match(d[0]?.message ?? '', /"\.\.\/pipe-outer-\w+\/evil\.js".*outside the project/);
    }
    assert.equal(existsSync(marker), false);
  });
});

describe('one path resolution for run, restore and freshness', () => {
  test('workspacePath and workspaceAbs agree, inside and outside', () => {
    const root = '/p/proj';
    assert.equal(workspacePath(root, 'a/../b/./c'), 'b/c');
    assert.equal(workspacePath(root, ''), '.');
    assert.equal(workspacePath(root, '/tmp/x'), '/tmp/x');
    assert.equal(workspacePath(root, '../x'), '/p/x');
    assert.equal(workspacePath(root, '..x'), '..x');
    assert.equal(workspaceAbs(root, 'b/c'), '/p/proj/b/c');
    assert.equal(workspaceAbs(root, '/tmp/x'), '/tmp/x');
    const reserved = { pipelineFile: 'pipeline.yaml', lockFile: 'pipe.lock' };
    assert.equal(outProblem(root, '..x', reserved), undefined);
    assert.match(outProblem(root, '/tmp/x', reserved) ?? '', /outside/);
  });

  test('removeOut deletes a symlink itself, never what it points at', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pipe-rm-'));
    const outside = mkdtempSync(join(tmpdir(), 'pipe-rm-outside-'));
    dirs.push(root, outside);
    writeFileSync(join(outside, 'keep.txt'), 'keep');
    symlinkSync(outside, join(root, 'out'));
    const reserved = { pipelineFile: 'pipeline.yaml', lockFile: 'pipe.lock' };
    assert.equal(await removeOut(root, 'out', reserved), undefined);
    assert.equal(existsSync(join(root, 'out')), false);
    assert.equal(existsSync(join(outside, 'keep.txt')), true);
    // Through a symlinked folder: refused, nothing deleted.
    symlinkSync(outside, join(root, 'link'));
    assert.match(await removeOut(root, 'link/keep.txt', reserved) ?? '', /refusing to delete output "link\/keep\.txt": it goes through "link"/);
    assert.equal(existsSync(join(outside, 'keep.txt')), true);
  });

  test('a run with a symlinked out replaces the link, the target survives', async () => {
    const { rig, victim } = project('stages:\n  a:\n    cmd: echo new > out.txt\n    outs: [out.txt]\n');
    symlinkSync(join(victim, 'precious.txt'), join(rig.dir, 'out.txt'));
    const r = await rig.json('run');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(rig.read('out.txt'), 'new\n');
    assert.equal(existsSync(join(victim, 'precious.txt')), true);
  });
  test('a restore through a symlink made after the pipeline loaded is a named failure; nothing is written outside', async () => {
    const yaml = (aCmd: string): string => `stages:\n  a:\n    cmd: ${aCmd}\n    outs: [a.txt]\n  b:\n    needs: [a]\n    deps: [a.txt]\n    cmd: mkdir -p link && echo 2 > link/x\n    outs: [link/x]\n`;
    const { rig, victim } = project(yaml('echo 1 > a.txt'));
    assert.equal((await rig.run('run')).code, 0);
    // a now swaps the folder b restores into for a link outside (a.txt, and so b's key, unchanged).
    rig.write({ 'pipeline.yaml': yaml(`echo 1 > a.txt && rm -rf link && ln -s ${victim} link`) });
    const r = await rig.json('run');
    assert.equal(r.code, 1, r.stderr);
    const b = (r.doc.stages as { stage: string; status: string; message?: string; failure?: { reason: string; path?: string } }[]).find((s) => s.stage === 'b');
    assert.equal(b?.status, 'failed');
    assert.match(b?.message ?? '', /^refusing to restore output "link\/x": it goes through "link"/);
    assert.deepEqual({ reason: b?.failure?.reason, path: b?.failure?.path }, { reason: 'io', path: 'link/x' });
    assert.deepEqual(readdirSync(victim), ['precious.txt']);
  });
});
