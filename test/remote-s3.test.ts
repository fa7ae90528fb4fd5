import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { statuses, trackRigs } from './util/rig.js';
import { cloneOf, tinyRig } from './util/remote-rig.js';

// The stand-in for S3: s3rver (an S3-compatible server in Node, a devDependency) on loopback.
let server: { run(): Promise<{ port: number }>; close(): Promise<void> } | undefined;
let s3dir: string | undefined;
let endpoint = '';
const track = trackRigs();

before(async () => {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { default: S3rver } = await import('s3rver');
  s3dir = mkdtempSync(join(tmpdir(), 'pipe-s3rver-'));
  server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3dir, configureBuckets: [{ name: 'team-bucket' }] });
  endpoint = `http://127.0.0.1:${(await server.run()).port}`;
  // s3rver's fixed credentials, from the environment as a user's would be.
  process.env['AWS_ACCESS_KEY_ID'] = 'S3RVER';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'S3RVER';
});
after(async () => {
  await server?.close();
  if (s3dir !== undefined) (await import('node:fs')).rmSync(s3dir, { recursive: true, force: true });
});

describe('remote cache on S3 (s3rver on loopback)', () => {
  test('push from A, pull into a fresh clone B: pipe run in B restores every stage and runs none', async () => {
    const head = `remote:\n  url: s3://team-bucket/pipe/cache\n  endpoint: ${endpoint}\n  region: us-east-1\n  path_style: true\n`;
    const a = track(tinyRig(head));
    const first = await a.run('run');
    assert.equal(first.code, 0, first.stderr);
    const push = await a.json('push');
    assert.equal(push.code, 0, push.stderr);
    assert.equal(push.doc.moved, push.doc.total);
    assert.equal((await a.json('push')).doc.moved, 0, 'a second push sends nothing');
    const b = track(cloneOf(a));
    const pull = await b.json('pull');
    assert.equal(pull.code, 0, pull.stderr);
    assert.equal(pull.doc.moved, push.doc.total);
    const run = await b.json('run');
    assert.equal(run.code, 0, run.stderr);
    for (const [stage, status] of Object.entries(statuses(run.doc))) assert.ok(status === 'restored' || status === 'fresh', `${stage}: ${status}`);
    assert.deepEqual(b.lines('runs.log'), []);
    assert.equal(b.read('joined.txt'), a.read('joined.txt'));
  });
});
