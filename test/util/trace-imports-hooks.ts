/** Module hooks for trace-imports.ts (they run on the loader thread). */
import { appendFileSync } from 'node:fs';

type Next = (specifier: string, context: unknown) => Promise<{ url: string }>;

/** Appends each resolved URL to $PIPE_TRACE_IMPORTS. */
export async function resolve(specifier: string, context: unknown, next: Next): Promise<{ url: string }> {
  const r = await next(specifier, context);
  const out = process.env['PIPE_TRACE_IMPORTS'];
  if (out) appendFileSync(out, `${r.url}\n`);
  return r;
}
