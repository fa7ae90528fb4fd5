/**
 * `http(s)://host/prefix`: Bazel's HTTP remote-cache protocol, which any server
 * that stores opaque bytes speaks (nginx with its WebDAV module, bazel-remote):
 * HEAD to ask, GET to read, PUT to write `<prefix>/cas/<hex>` and
 * `<prefix>/ac/<hex>`. Listing (for `pipe gc --remote`) reads nginx's JSON
 * autoindex of `<prefix>/cas/`.
 *
 * Credentials come from the environment: PIPE_REMOTE_TOKEN (sent as
 * `Authorization: Bearer`), or PIPE_REMOTE_USER and PIPE_REMOTE_PASSWORD
 * (basic auth).
 */
import { createReadStream } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { isHex64, RemoteError, type Area, type RemoteBackend, type RemoteSpec } from './backend.js';

/** A remote cache behind an HTTP server. */
export class HttpRemote implements RemoteBackend {
  readonly display: string;
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly auth: string | undefined;

  constructor(url: URL, spec: RemoteSpec) {
    this.base = new URL(url.href.endsWith('/') ? url.href : `${url.href}/`);
    this.display = url.href;
    const Agent = url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: spec.jobs });
    const token = spec.env['PIPE_REMOTE_TOKEN'];
    const user = spec.env['PIPE_REMOTE_USER'];
    this.auth = token ? `Bearer ${token}`
      : user ? `Basic ${Buffer.from(`${user}:${spec.env['PIPE_REMOTE_PASSWORD'] ?? ''}`).toString('base64')}` : undefined;
  }

  private url(area: Area, hex?: string): URL {
    return new URL(hex === undefined ? `${area}/` : `${area}/${hex}`, this.base);
  }

  /** One request; resolves to the response (its body unread) or rejects with a RemoteError. */
  private request(method: string, url: URL, headers: Record<string, string | number> = {}, body?: Readable): Promise<IncomingMessage> {
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, { method, agent: this.agent, headers: { ...headers, ...(this.auth ? { authorization: this.auth } : {}) } }, resolve);
      req.setTimeout(120_000, () => req.destroy(new Error('no answer for 120 s')));
      req.on('error', (e) => reject(new RemoteError(`${method} ${url.href}: ${e.message}`)));
      if (body) {
        body.on('error', (e) => req.destroy(e));
        body.pipe(req);
      } else {
        req.end();
      }
    });
  }

  private async fail(method: string, url: URL, res: IncomingMessage): Promise<never> {
    res.resume();
    const hint = res.statusCode === 401 || res.statusCode === 403 ? ' (set PIPE_REMOTE_TOKEN, or PIPE_REMOTE_USER and PIPE_REMOTE_PASSWORD)' : '';
    throw new RemoteError(`${method} ${url.href}: HTTP ${res.statusCode} ${res.statusMessage ?? ''}${hint}`.trimEnd());
  }

  async stat(area: Area, hex: string): Promise<number | undefined> {
    const url = this.url(area, hex);
    const res = await this.request('HEAD', url);
    res.resume();
    if (res.statusCode === 404) return undefined;
    if (res.statusCode !== 200) return this.fail('HEAD', url, res);
    const len = Number(res.headers['content-length']);
    return Number.isSafeInteger(len) ? len : 0;
  }

  async read(area: Area, hex: string): Promise<Readable | undefined> {
    const url = this.url(area, hex);
    const res = await this.request('GET', url);
    if (res.statusCode === 404) {
      res.resume();
      return undefined;
    }
    if (res.statusCode !== 200) return this.fail('GET', url, res);
    return res;
  }

  async write(area: Area, hex: string, src: string, size: number): Promise<void> {
    const url = this.url(area, hex);
    const res = await this.request('PUT', url, { 'content-length': size, 'content-type': 'application/octet-stream' }, createReadStream(src));
    res.resume();
    if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) await this.fail('PUT', url, res);
  }

  async list(area: Area): Promise<string[]> {
    const url = this.url(area);
    const res = await this.request('GET', url, { accept: 'application/json' });
    if (res.statusCode === 404) {
      res.resume();
      return [];
    }
    if (res.statusCode !== 200) return this.fail('GET', url, res);
    let text = '';
    for await (const chunk of res) text += String(chunk);
    let entries: unknown;
    try {
      entries = JSON.parse(text);
    } catch {
      throw new RemoteError(`GET ${url.href}: the server gives no JSON listing (nginx: autoindex on; autoindex_format json;)`);
    }
    if (!Array.isArray(entries)) throw new RemoteError(`GET ${url.href}: expected a JSON list of files`);
    return entries.map((e) => String((e as { name?: unknown }).name)).filter(isHex64).sort();
  }

  async remove(area: Area, hex: string): Promise<void> {
    const url = this.url(area, hex);
    const res = await this.request('DELETE', url);
    res.resume();
    if (res.statusCode !== 404 && (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300)) await this.fail('DELETE', url, res);
  }

  close(): void {
    this.agent.destroy();
  }
}
