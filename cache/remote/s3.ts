/**
 * `s3://bucket/prefix` with `@aws-sdk/client-s3` (loaded only when a remote is
 * s3://): objects at `<prefix>/cas/<hex>`, run records at `<prefix>/ac/<hex>`.
 * `endpoint`, `region` and `path_style` (pipeline.yaml) reach S3-compatible
 * servers; the SDK's request checksums are sent only when an operation
 * requires them, which servers other than AWS accept. Credentials are the
 * SDK's usual ones (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ...).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { isHex64, RemoteError, type Area, type RemoteBackend, type RemoteSpec } from './backend.js';

type Sdk = typeof import('@aws-sdk/client-s3');

/** A remote cache in an S3 bucket. */
export class S3Remote implements RemoteBackend {
  readonly display: string;

  private constructor(
    private readonly sdk: Sdk,
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    url: URL,
  ) {
    this.display = url.href;
  }

  /** Loads the SDK and makes a client for `url`. */
  static async open(url: URL, spec: RemoteSpec): Promise<S3Remote> {
    // The SDK warns on every start that its releases after January 2027 need Node 22; the
    // version in package-lock.json runs on Node 20 (our engines), so the notice is only noise here.
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
    const sdk = await import('@aws-sdk/client-s3');
    const client = new sdk.S3Client({
      region: spec.region ?? spec.env['AWS_REGION'] ?? 'us-east-1',
      ...(spec.endpoint !== undefined ? { endpoint: spec.endpoint } : {}),
      forcePathStyle: spec.pathStyle ?? false,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    });
    const prefix = url.pathname.replace(/^\/+|\/+$/g, '');
    return new S3Remote(sdk, client, url.hostname, prefix ? `${prefix}/` : '', url);
  }

  private key(area: Area, hex = ''): string {
    return `${this.prefix}${area}/${hex}`;
  }

  private failure(what: string, e: unknown): RemoteError {
    return new RemoteError(`${what} s3://${this.bucket}/${this.prefix}: ${(e as Error).name}: ${(e as Error).message}`);
  }

  async stat(area: Area, hex: string): Promise<number | undefined> {
    try {
      const r = await this.client.send(new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key(area, hex) }));
      return r.ContentLength ?? 0;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.failure('HEAD', e);
    }
  }

  async read(area: Area, hex: string): Promise<Readable | undefined> {
    try {
      const r = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.key(area, hex) }));
      return r.Body as Readable;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.failure('GET', e);
    }
  }

  async write(area: Area, hex: string, src: string, size: number): Promise<void> {
    try {
      await this.client.send(new this.sdk.PutObjectCommand({
        Bucket: this.bucket, Key: this.key(area, hex), Body: createReadStream(src), ContentLength: size, ContentType: 'application/octet-stream',
      }));
    } catch (e) {
      throw this.failure('PUT', e);
    }
  }

  async list(area: Area): Promise<string[]> {
    const out: string[] = [];
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(new this.sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.key(area), ...(token ? { ContinuationToken: token } : {}) }));
        for (const o of r.Contents ?? []) {
          const name = (o.Key ?? '').slice(this.key(area).length);
          if (isHex64(name)) out.push(name);
        }
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    } catch (e) {
      throw this.failure('LIST', e);
    }
    return out.sort();
  }

  async remove(area: Area, hex: string): Promise<void> {
    try {
      await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(area, hex) }));
    } catch (e) {
      if (!isNotFound(e)) throw this.failure('DELETE', e);
    }
  }

  close(): void {
    this.client.destroy();
  }
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata?.httpStatusCode === 404;
}
