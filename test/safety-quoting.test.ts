import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { interpolateCommand, lookupIn, shellQuote } from '../engine/interpolate.js';
import { Rig, trackRigs } from './util/rig.js';

const track = trackRigs();

const HOSTILE = `x; touch pwned $(touch pwned2) \`touch pwned3\` "a'b" \\ $HOME`;

/** A stage that writes each argument it gets on its own line, wherever ${...} stands. */
const ARGS = `params:
  name: plain
  list: [a b, "c'd", e]
  script: echo raw > raw.txt
stages:
  a:
    cmd:
      - printf '%s\\n' \${name} > bare.txt
      - printf '%s\\n' "\${name}" > double.txt
      - printf '%s\\n' 'pre \${name} post' > single.txt
      - printf '%s\\n' \${list} > list.txt
    outs: [bare.txt, double.txt, single.txt, list.txt]
  b:
    cmd: \${raw:script}
    outs: [raw.txt]
`;

describe('params reach the shell quoted', () => {
  test('a hostile --set value is one argument, never run or expanded', async () => {
    const rig = new Rig({ 'pipeline.yaml': ARGS });
    track(rig);
    const r = await rig.json('run', '--set', `name=${HOSTILE}`);
    assert.equal(r.code, 0, r.stderr);
    for (const f of ['pwned', 'pwned2', 'pwned3']) assert.equal(rig.exists(f), false, `${f} was created`);
    assert.equal(rig.read('bare.txt'), `${HOSTILE}\n`);
    assert.equal(rig.read('double.txt'), `${HOSTILE}\n`);
    assert.equal(rig.read('single.txt'), `pre ${HOSTILE} post\n`);
    // A list is one argument per item; an item with a space stays one argument.
    assert.equal(rig.read('list.txt'), "a b\nc'd\ne\n");
    // ${raw:...} is the explicit opt-in: the value is shell text.
    assert.equal(rig.read('raw.txt'), 'raw\n');
  });

  test('a value with spaces arrives as one argument', async () => {
    const rig = new Rig({ 'pipeline.yaml': ARGS });
    track(rig);
    const r = await rig.json('run', 'a', '--set', 'name=two  words');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(rig.read('bare.txt'), 'two  words\n');
  });

  test('${raw:...} outside a command is an error', async () => {
    const rig = new Rig({ 'pipeline.yaml': 'params:\n  d: x\nstages:\n  a:\n    cmd: echo\n    outs: ["${raw:d}"]\n' });
    track(rig);
    const r = await rig.json('status');
    assert.equal(r.code, 2);
    assert.match(r.doc.error.diagnostics[0].message, /the raw form only means something in a command/);
    assert.equal(r.doc.error.diagnostics[0].line, 6);
  });

  test('shellQuote and interpolateCommand', () => {
    assert.equal(shellQuote('plain-1.5/x'), 'plain-1.5/x');
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote("it's"), "'it'\\''s'");
    assert.equal(shellQuote('$(x)'), "'$(x)'");
    const lookup = lookupIn({ n: 3, s: 'a b', l: ['x', 'y z'], m: { k: 1 }, e: [] });
    const known = (): string[] => [];
    const run = (cmd: string): string => {
      const r = interpolateCommand(cmd, lookup, known);
      assert.ok(r.ok, r.ok ? '' : r.error);
      return r.value;
    };
    assert.equal(run('echo ${n} ${s} ${l}'), "echo 3 'a b' x 'y z'");
    assert.equal(run('echo "${s} $${HOME}" \'${s}\''), 'echo "a b ${HOME}" \'a b\'');
    assert.equal(run('echo ${raw:s} ${e}'), 'echo a b ');
    assert.equal(run('echo \\"${s}'), "echo \\\"'a b'");
    const bad = interpolateCommand('echo ${m}', lookup, known);
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.error, /\$\{m\} is a map and cannot be part of a command/);
  });
});
