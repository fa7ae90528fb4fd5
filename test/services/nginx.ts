/**
 * Debian's nginx with its WebDAV module as an HTTP remote cache for the tests:
 * started on a free loopback port with a temporary root (PUT with
 * create_full_put_path, DELETE, and a JSON autoindex for listing), stopped by
 * the test. One process (master_process off), so it writes as the user that
 * starts it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The nginx binary the tests use. */
export const NGINX = '/usr/sbin/nginx';

/** A running nginx. */
export interface Nginx {
  /** http://127.0.0.1:PORT/ */
  readonly url: string;
  /** The folder it serves (the remote's blobs are under it). */
  readonly root: string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Starts nginx; resolves once it answers (bounded wait). */
export async function startNginx(): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'pipe-nginx-'));
  const root = join(dir, 'root');
  mkdirSync(root);
  mkdirSync(join(dir, 'body'));
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, `daemon off;
master_process off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/body;
  fastcgi_temp_path ${dir}/body;
  uwsgi_temp_path ${dir}/body;
  scgi_temp_path ${dir}/body;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    client_max_body_size 0;
    location / {
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      autoindex on;
      autoindex_format json;
    }
  }
}
`);
  const child: ChildProcess = spawn(NGINX, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}/`;
  let up = false;
  for (let i = 0; i < 100 && !up && child.exitCode === null; i++) {
    await new Promise((r) => setTimeout(r, 100));
    up = await fetch(url, { method: 'HEAD' }).then(() => true, () => false);
  }
  if (!up) {
    child.kill('SIGKILL');
    const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '';
    throw new Error(`nginx did not start on ${url}: ${log}`);
  }
  return {
    url, root,
    stop: async () => {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
