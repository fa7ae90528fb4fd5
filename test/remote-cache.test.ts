import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, chmodSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { startNginx, type Nginx } from './services/nginx.js';
import { type Rig, statuses, trackRigs } from './util/rig.js';
import { cloneOf, lockDigests, tinyRig } from './util/remote-rig.js';

const track = trackRigs();
let nginx: Nginx;
before(async () => {
  nginx = await startNginx();
});
after(async () => {
  await nginx?.stop();
});

const remoteBlock = (url: string): string => `remote:\n  url: ${url}\n  jobs: 4\n`;

/** A project that ran and pushed to `url`. */
async function pushed(url: string): Promise<Rig> {
  const a = track(tinyRig(remoteBlock(url)));
  const run = await a.json('run');
  assert.equal(run.code, 0, run.stderr);
  const push = await a.json('push');
  assert.equal(push.code, 0, push.stderr);
  // 4 stages' objects (a folder: manifest + 2 files) and 4 run records.
  assert.equal(push.doc.moved, push.doc.total);
  assert.ok(push.doc.moved >= 9, JSON.stringify(push.doc));
  return a;
}

describe('remote cache over HTTP (nginx WebDAV)', () => {
  test('push from A, pull into a fresh clone B: pipe run in B restores every stage and runs none', async () => {
    const url = `${nginx.url}team/cache`;
    const a = await pushed(url);
    // Bazel's layout under the prefix: cas/<sha256>, ac/<stage key>.
    const cas = readdirSync(join(nginx.root, 'team/cache/cas'));
    for (const digests of Object.values(lockDigests(a))) for (const d of digests) assert.ok(cas.includes(d.slice(7)), `${d} on the remote`);
    const keys = Object.values((parse(a.read('pipe.lock')) as { stages: Record<string, { key: string }> }).stages).map((e) => e.key.slice(7));
    assert.deepEqual(readdirSync(join(nginx.root, 'team/cache/ac')).sort(), keys.sort());
    // A second push has nothing to send (HEAD first).
    const again = await a.json('push');
    assert.equal(again.doc.moved, 0);
    assert.equal(again.doc.skipped, again.doc.total);

    const b = track(cloneOf(a));
    const pull = await b.json('pull');
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal(pull.doc.problems.length, 0);
    assert.deepEqual(pull.doc.stages, { hello: 'pulled', words: 'pulled', sum: 'pulled', join: 'pulled' });
    const run = await b.json('run');
    assert.equal(run.code, 0, run.stderr);
    const st = statuses(run.doc);
    for (const [stage, status] of Object.entries(st)) assert.ok(status === 'restored' || status === 'fresh', `${stage}: ${status}`);
    assert.equal(Object.keys(st).length, 4);
    assert.deepEqual(b.lines('runs.log'), [], 'no command ran in B');
    assert.equal(b.read('joined.txt'), a.read('joined.txt'));
    assert.equal(b.read('hello.txt'), 'hello from hello\n');
    assert.deepEqual(lockDigests(b), lockDigests(a));
  });

  test('without pull, pipe run in a fresh clone finds the stale stages in the remote run cache', async () => {
    const a = await pushed(`${nginx.url}lookup`);
    const b = track(cloneOf(a));
    const run = await b.json('run');
    assert.equal(run.code, 0, run.stderr);
    assert.ok(run.doc.stages.every((s: { status: string }) => s.status !== 'ran'), JSON.stringify(statuses(run.doc)));
    assert.match(run.stderr, /found in the remote cache/);
    assert.deepEqual(b.lines('runs.log'), []);
    assert.equal(b.read('joined.txt'), a.read('joined.txt'));
  });

  test('a flipped byte in a remote object is reported by digest, never used, and the stage is rebuilt', async () => {
    const a = await pushed(`${nginx.url}flip`);
    const digest = lockDigests(a)['hello']?.[0] as string;
    const path = join(nginx.root, 'flip/cas', digest.slice(7));
    chmodSync(path, 0o644);
    const bytes = readFileSync(path);
    bytes[0] = (bytes[0] as number) ^ 1;
    writeFileSync(path, bytes);

    const b = track(cloneOf(a));
    const pull = await b.json('pull', 'hello');
    assert.equal(pull.code, 1);
    assert.equal(pull.doc.problems[0]?.digest, digest);
    assert.equal(pull.doc.problems[0]?.problem, 'corrupt');
    assert.match(pull.stderr, new RegExp(`${digest}: corrupt: the remote's copy \\(\\d+ bytes\\) hashes to sha256:`));
    assert.equal(statSync(join(b.dir, '.pipe/cache/objects', digest.slice(7, 9), digest.slice(9)), { throwIfNoEntry: false }), undefined, 'not in the local cache');

    const run = await b.json('run');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(statuses(run.doc)['hello'], 'ran');
    assert.equal(statuses(run.doc)['join'], 'restored');
    assert.match(run.stderr, new RegExp(`remote object ${digest} is corrupt`));
    assert.deepEqual(b.lines('runs.log'), ['hello-ran']);
    assert.equal(b.read('hello.txt'), 'hello from hello\n');
  });

  test('an interrupted push resumes: the second push sends only what did not arrive', async () => {
    // A proxy in front of nginx that drops the connection of every PUT after the third, until told not to.
    let puts = 0;
    let dropping = true;
    const upstream = new URL(nginx.url);
    const proxy = http.createServer((req, res) => {
      if (dropping && req.method === 'PUT' && ++puts > 3) {
        req.socket.destroy();
        return;
      }
      const fwd = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      req.pipe(fwd);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const port = (proxy.address() as { port: number }).port;
    try {
      const a = track(tinyRig(remoteBlock(`http://127.0.0.1:${port}/resume`)));
      assert.equal((await a.run('run')).code, 0);
      const first = await a.json('push');
      assert.equal(first.code, 1);
      assert.equal(first.doc.moved, 3);
      assert.ok(first.doc.problems.length > 0);
      assert.match(first.stderr, /failed: PUT http:\/\/127\.0\.0\.1:\d+\/resume\/(cas|ac)\/[0-9a-f]{64}: /);
      // The connection is back: the same push goes on from where it stopped.
      dropping = false;
      const second = await a.json('push');
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.doc.skipped, 3);
      assert.equal(second.doc.moved, second.doc.total - 3);
      const b = track(cloneOf(a));
      const run = await b.json('run');
      assert.ok(run.doc.stages.every((s: { status: string }) => s.status !== 'ran'));
    } finally {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
  });
});

describe('remote cache in a shared folder (file://)', () => {
  test('push, pull, run restores; gc --remote keeps what the lock needs and drops the rest', async () => {
    const folder = track(tinyRig()).dir;
    const a = await pushed(`file://${folder}/remote`);
    // Another param value: its run goes to the remote too (--run-cache), then the lock moves back.
    assert.equal((await a.run('run', '--set', 'sum.k=4')).code, 0);
    const pushAll = await a.json('push', '--run-cache');
    assert.equal(pushAll.code, 0, pushAll.stderr);
    assert.equal(readdirSync(join(folder, 'remote/ac')).length, 5);
    assert.equal((await a.run('run')).code, 0);
    const dry = await a.json('gc', '--remote', '--dry-run', '--keep-last', '0');
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual([dry.doc.removedObjects, dry.doc.removedRuns], [1, 1]);
    assert.equal(readdirSync(join(folder, 'remote/ac')).length, 5, 'dry run deletes nothing');
    const gc = await a.json('gc', '--remote', '--keep-last', '0');
    assert.equal(gc.code, 0, gc.stderr);
    assert.equal(readdirSync(join(folder, 'remote/ac')).length, 4);
    // Local gc never touches the remote.
    assert.equal((await a.run('gc', '--keep-last', '0')).code, 0);
    assert.equal(readdirSync(join(folder, 'remote/ac')).length, 4);

    const b = track(cloneOf(a));
    assert.equal((await b.run('pull')).code, 0);
    const run = await b.json('run');
    assert.ok(run.doc.stages.every((s: { status: string }) => s.status === 'restored' || s.status === 'fresh'), JSON.stringify(statuses(run.doc)));
    assert.deepEqual(lockDigests(b), lockDigests(a));
  });

  test('push without a remote block is a usage error; credentials in the url are refused', async () => {
    const a = track(tinyRig());
    const r = await a.run('push');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /names no remote: add a `remote:` block/);
    const c = track(tinyRig(remoteBlock('http://me:secret@127.0.0.1:1/x')));
    const r2 = await c.run('pull');
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /holds credentials: put them in the environment/);
  });
});
