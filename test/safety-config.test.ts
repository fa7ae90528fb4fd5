import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig, parseOverride, type Override } from '../engine/config.js';
import { readLock } from '../engine/lockfile.js';
import { Rig, trackRigs } from './util/rig.js';

const track = trackRigs();

function rig(files: Record<string, string>): Rig {
  const r = new Rig(files);
  track(r);
  return r;
}

/** `pipe status --json` on `yaml`: exit 2, no trace, nothing written; the diagnostics. */
async function refused(yaml: string, ...args: string[]): Promise<{ message: string; line?: number }[]> {
  const r = rig({ 'pipeline.yaml': yaml });
  const res = await r.run('status', '--json', ...args);
  assert.equal(res.code, 2, res.stderr);
  assert.doesNotMatch(res.stderr, /\n\s+at |bug:/);
  assert.equal(r.exists('.pipe'), false);
  const doc = JSON.parse(res.stdout) as { error: { diagnostics?: { message: string; line?: number }[]; message?: string } };
  return doc.error.diagnostics ?? [{ message: doc.error.message ?? '' }];
}

describe('bad values are located errors, never a crash', () => {
  test('.inf, .nan and 1e400 as params', async () => {
    const d = await refused('params:\n  a: .inf\n  b: .nan\nstages:\n  x:\n    cmd: echo\n    params:\n      c: [1, 1e400]\n');
    assert.deepEqual(d.map((x) => x.line), [2, 3, 8]);
    assert.match(d[0]!.message, /Infinity is not a number a param can hold/);
    assert.match(d[1]!.message, /NaN is not a number/);
    const s = await refused('params:\n  a: 1\nstages:\n  x:\n    cmd: echo\n', '--set', 'a=-.inf');
    assert.match(s[0]!.message, /--set a=-\.inf: -Infinity is not a number/);
  });

  test('prototype names: reserved stage names are located errors, toString works', async () => {
    const d = await refused('stages:\n  constructor:\n    cmd: echo\n  __proto__:\n    cmd: echo\n  prototype:\n    cmd: echo\n');
    assert.deepEqual(d.map((x) => [x.line, x.message]), [
      [2, 'stage name "constructor" is reserved: choose another'],
      [4, 'stage name "__proto__" is reserved: choose another'],
      [6, 'stage name "prototype" is reserved: choose another'],
    ]);
    const p = await refused('params:\n  m:\n    __proto__: 1\nstages:\n  a:\n    cmd: echo\n');
    assert.match(p[0]!.message, /"__proto__" is not allowed as a param name/);
    assert.equal(p[0]!.line, 3);
    const r = rig({ 'pipeline.yaml': 'stages:\n  toString:\n    cmd: echo 1 > a.txt\n    outs: [a.txt]\n  valueOf:\n    cmd: echo 2 > b.txt\n    needs: [toString]\n    outs: [b.txt]\n' });
    assert.equal((await r.run('run')).code, 0);
    const again = await r.json('run');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(again.doc.stages.map((s: { status: string }) => s.status), ['fresh', 'fresh']);
  });

  test('--set never writes into Object.prototype', async () => {
    for (const set of ['s.__proto__.x=1', 'a.__proto__.polluted=1', 'a.constructor.prototype.x=1']) {
      const d = await refused('params:\n  s: {k: 1}\nstages:\n  a:\n    cmd: echo\n', '--set', set);
      assert.match(d[0]!.message, /is not allowed as a name/);
    }
    // In process, past the CLI's check: the param map is never walked into a prototype.
    const r = parseConfig('pipeline.yaml', 'params:\n  s: {k: 1}\nstages:\n  a:\n    cmd: echo\n', [
      { path: ['s', '__proto__', 'x'], value: 1, text: 's.__proto__.x=1' },
      { path: ['a', '__proto__', 'y'], value: 1, text: 'a.__proto__.y=1' },
    ]);
    assert.equal(r.ok, false);
    assert.equal(({} as Record<string, unknown>)['x'], undefined);
    assert.equal(({} as Record<string, unknown>)['y'], undefined);
  });

  test('aliases: undefined, recursive, and a billion laughs', async () => {
    const undef = await refused('stages:\n  a:\n    cmd: *x\n');
    assert.deepEqual([undef[0]!.line, undef[0]!.message], [3, 'alias *x has no anchor &x before it']);
    const rec = await refused('stages:\n  a: &a\n    cmd: echo\n    params: {x: *a}\n');
    assert.match(rec[0]!.message, /alias \*a is inside the node it names/);
    assert.equal(rec[0]!.line, 4);
    const lol = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [i, n] of ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].entries()) {
      const prev = i === 0 ? 'a' : (['b', 'c', 'd', 'e', 'f', 'g', 'h'][i - 1] as string);
      lol.push(`${n}: &${n} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const bomb = await refused(`params:\n  ${lol.join('\n  ')}\nstages:\n  a:\n    cmd: echo\n`);
    assert.match(bomb[0]!.message, /invalid YAML: Excessive alias count/);
  });

  test('nesting deeper than the parser can take', async () => {
    const flow = await refused(`stages:\n  a:\n    cmd: echo\n    params:\n      x: ${'['.repeat(5000)}${']'.repeat(5000)}\n`);
    assert.match(flow[0]!.message, /nested more than 256 deep/);
    assert.equal(flow[0]!.line, 5);
    const lines = Array.from({ length: 1000 }, (_, i) => `${' '.repeat(6 + i)}k:`).join('\n');
    const block = await refused(`stages:\n  a:\n    cmd: echo\n    params:\n${lines} 1\n`);
    assert.match(block[0]!.message, /indented more than 512 columns/);
  });
});

describe('the same pipeline text parsed again', () => {
  test('with other overrides gives its own config: one parse never leaks into another', () => {
    const text = 'params:\n  seed: 1\nstages:\n  s:\n    cmd: echo ${seed}\n    params:\n      t: 0.3\n    outs: [o.txt]\n';
    const set = (t: string): Override => {
      const o = parseOverride(t);
      assert.ok(o.ok);
      return o.value;
    };
    const a = parseConfig('p.yaml', text, [set('s.t=0.5'), set('seed=2')]);
    const b = parseConfig('p.yaml', text);
    const c = parseConfig('p.yaml', text, [set('s.t=0.7')]);
    assert.ok(a.ok && b.ok && c.ok);
    assert.deepEqual([a.value.stages.get('s')?.params, a.value.stages.get('s')?.cmd], [{ t: 0.5 }, 'echo 2']);
    assert.deepEqual([b.value.stages.get('s')?.params, b.value.stages.get('s')?.cmd], [{ t: 0.3 }, 'echo 1']);
    assert.deepEqual([c.value.stages.get('s')?.params, c.value.stages.get('s')?.cmd], [{ t: 0.7 }, 'echo 1']);
    // An edited text is parsed anew (a located error, not the last good parse).
    const bad = parseConfig('p.yaml', text.replace('t: 0.3', 't: .nan'));
    assert.equal(bad.ok, false);
  });
});

describe('global params may use each other', () => {
  test('"hello ${b}" resolves; --set reaches through', async () => {
    const r = rig({ 'pipeline.yaml': 'params:\n  a: "hello ${b}"\n  b: world\n  c: ${a}\nstages:\n  s:\n    cmd: echo ${c} > o.txt\n    outs: [o.txt]\n' });
    assert.equal((await r.run('run')).code, 0);
    assert.equal(r.read('o.txt'), 'hello world\n');
    const again = await r.run('run', '--set', 'b=there');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(r.read('o.txt'), 'hello there\n');
  });

  test('a self-reference and a cycle are located errors', async () => {
    const self = await refused('params:\n  seed: ${seed}\nstages:\n  a:\n    cmd: echo\n');
    assert.deepEqual([self[0]!.line, self[0]!.message], [2, 'param "seed" refers to itself']);
    const cycle = await refused('params:\n  a: "x${b}"\n  b: "${a}y"\nstages:\n  s:\n    cmd: echo\n');
    assert.match(cycle[0]!.message, /params refer to each other in a cycle: a -> b -> a/);
    assert.equal(cycle[0]!.line, 2);
  });

  test('an out built from globals names the --set behind it', async () => {
    const d = await refused('params:\n  base: work\n  dir: "${base}/out"\nstages:\n  s:\n    cmd: echo\n    outs: ["${dir}"]\n', '--set', 'base=../..');
    assert.match(d[0]!.message, /output ".*" \(from --set base=\.\.\/\.\.\) of stage "s" is outside the project/);
    assert.equal(d[0]!.line, 7);
  });
});

describe('a malformed pipe.lock is a clear error naming it', () => {
  const entry = (over: string): string => `version: 1\nstages:\n  a:\n    kind: cmd\n    key: sha256:${'0'.repeat(64)}\n    code: echo\n    params: {}\n    inputs: {}\n    deps: {}\n    outputs: {}\n    metrics: {}\n    info: {}\n    duration_ms: 1\n    finished_at: x\n${over}`;
  for (const [what, lock, why] of [
    ['outputs: null', entry('').replace('outputs: {}', 'outputs: null'), /stage "a": "outputs" is not a map/],
    ['a key that is not a digest', entry('').replace(`sha256:${'0'.repeat(64)}`, '../../etc/passwd'), /"key" is not a sha256 digest/],
    ['an output without a digest', entry('').replace('outputs: {}', 'outputs: {x: {digest: nope, kind: file, size: 1}}'), /output "x" has no sha256 digest/],
    ['version 2', 'version: 2\nstages: {}\n', /expected "version: 1"/],
    ['a list of stages', 'version: 1\nstages: [a]\n', /"stages" is not a map/],
    ['binary', '\u0000\u0001\u00ff{[', /pipe\.lock/],
    ['an alias bomb', 'a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n', /not valid YAML/],
  ] as const) {
    test(what, async () => {
      const r = rig({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: echo\n', 'pipe.lock': lock });
      for (const args of [['status'], ['run', '--dry-run'], ['run']]) {
        const res = await r.run(...args);
        assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
        assert.match(res.stderr, /pipe\.lock/);
        assert.match(res.stderr, why);
        assert.doesNotMatch(res.stderr, /\n\s+at |bug:/);
      }
      assert.equal(r.read('pipe.lock'), lock);
      assert.equal(r.exists('.pipe'), false);
    });
  }

  test('readLock keeps extra fields and gives entries no prototype', () => {
    const r = readLock('/nonexistent/pipe.lock');
    assert.ok('lock' in r);
    assert.equal((r.lock.stages as Record<string, unknown>)['toString'], undefined);
  });
});
