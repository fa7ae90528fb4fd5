import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rig, trackRigs } from './util/rig.js';

const track = trackRigs();

async function errorsOf(yaml: string): Promise<{ code: number | null; stderr: string; diagnostics: { message: string; line?: number; column?: number }[]; rig: Rig }> {
  const rig = new Rig({ 'pipeline.yaml': yaml });
  track(rig);
  const r = await rig.json('run');
  return { code: r.code, stderr: r.stderr, diagnostics: r.doc.error.diagnostics ?? [], rig };
}

describe('pipeline.yaml errors name file, line and column', () => {
  test('unknown key, with the expected keys and a code frame', async () => {
    const { code, stderr, diagnostics, rig } = await errorsOf('stages:\n  a:\n    cmd: echo hi\n    nedds: [b]\n');
    assert.equal(code, 2);
    assert.equal(diagnostics.length, 1);
    assert.match(diagnostics[0]!.message, /unknown key "nedds" in stage "a" \(expected one of: .*needs/);
    assert.deepEqual([diagnostics[0]!.line, diagnostics[0]!.column], [4, 5]);
    assert.match(stderr, /pipeline\.yaml:4:5 error: unknown key "nedds"/);
    assert.match(stderr, / 4 \|     nedds: \[b\]\n\s+\|     \^\^\^\^\^/);
    // Bad input leaves nothing behind.
    assert.equal(rig.exists('pipe.lock'), false);
    assert.equal(rig.exists('.pipe'), false);
  });

  test('wrong type says what was found', async () => {
    const { code, diagnostics } = await errorsOf('stages:\n  a:\n    cmd: echo\n    outs: out.txt\n');
    assert.equal(code, 2);
    assert.match(diagnostics[0]!.message, /stage "a" key "outs": expected array, found the string "out.txt"/);
    assert.deepEqual([diagnostics[0]!.line, diagnostics[0]!.column], [4, 11]);
  });

  test('unknown stage in needs, with a suggestion', async () => {
    const { code, diagnostics } = await errorsOf('stages:\n  train:\n    cmd: echo\n  gate:\n    cmd: echo\n    needs: [trian]\n');
    assert.equal(code, 2);
    assert.match(diagnostics[0]!.message, /stage "gate" needs "trian", which is not a stage \(did you mean "train"\?\)/);
    assert.deepEqual([diagnostics[0]!.line, diagnostics[0]!.column], [6, 13]);
  });

  test('a cycle is reported as its path', async () => {
    const { code, diagnostics } = await errorsOf(
      'stages:\n  a:\n    cmd: echo\n    needs: [c]\n  b:\n    cmd: echo\n    needs: [a]\n  c:\n    cmd: echo\n    needs: [b]\n',
    );
    assert.equal(code, 2);
    assert.equal(diagnostics.length, 1);
    // Data-flow order: b needs a, so a -> b.
    assert.match(diagnostics[0]!.message, /^cycle: (a -> b -> c -> a|b -> c -> a -> b|c -> a -> b -> c)$/);
    assert.equal(diagnostics[0]!.line, 4); // "needs: [c]" of stage a closes a -> b -> c -> a
    assert.equal(diagnostics[0]!.column, 13);
  });

  test('an unresolved ${...} names the param and the known ones', async () => {
    const { code, diagnostics } = await errorsOf('params:\n  seed: 1\nstages:\n  a:\n    cmd: echo ${sede}\n');
    assert.equal(code, 2);
    assert.match(diagnostics[0]!.message, /unresolved \$\{sede\}: no such param \(global params: seed\)/);
    assert.deepEqual([diagnostics[0]!.line, diagnostics[0]!.column], [5, 10]);
  });

  test('an output path claimed by two stages', async () => {
    const { code, diagnostics } = await errorsOf('stages:\n  a:\n    cmd: echo\n    outs: [out]\n  b:\n    cmd: echo\n    outs: [out/x.txt]\n');
    assert.equal(code, 2);
    assert.match(diagnostics[0]!.message, /output "out\/x.txt" of stage "b" is also claimed by stage "a"/);
    assert.deepEqual([diagnostics[0]!.line, diagnostics[0]!.column], [7, 12]);
  });

  test('uses and cmd together, unknown kind, invalid YAML', async () => {
    let r = await errorsOf('stages:\n  a:\n    uses: gate\n    cmd: echo\n');
    assert.match(r.diagnostics[0]!.message, /has both "uses" and "cmd"/);
    r = await errorsOf('stages:\n  a:\n    uses: gat\n');
    assert.match(r.diagnostics[0]!.message, /unknown kind "gat" \(built-in kinds: .*gate/);
    assert.deepEqual([r.diagnostics[0]!.line, r.diagnostics[0]!.column], [3, 11]);
    r = await errorsOf('stages:\n  a:\n    cmd: [echo\n');
    assert.equal(r.code, 2);
    assert.match(r.diagnostics[0]!.message, /^invalid YAML/);
  });

  test('a bad --set and an unknown target are usage errors', async () => {
    const rig = new Rig({ 'pipeline.yaml': 'params:\n  n: 1\nstages:\n  a:\n    cmd: echo ${n}\n' });
    track(rig);
    let r = await rig.run('run', '--set', 'm=2');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--set m=2: no global param "m"/);
    r = await rig.run('run', 'nope');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no stage named "nope"/);
    r = await rig.run('frobnicate');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
  });
});
