/**
 * CLI commands and exports that belong to the nerve workload rather than the
 * engine; the composition root (bin/main.ts) adds them to `pipe`.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactExporter } from '../engine/export.js';
import type { ExtraCommand } from '../engine/cli.js';

/** `pipe score PRED TRUTH`: Kaggle mean Dice between two RLE CSVs. */
export const scoreCommand: ExtraCommand = {
  usage: 'score PRED TRUTH',
  summary: 'Kaggle mean Dice between two RLE CSVs (TRUTH may be train_masks.csv)',
  async run(args, io) {
    if (args.length !== 2) {
      io.stderr.write('pipe: `pipe score` takes two files: PRED.csv TRUTH.csv\nRun `pipe --help` for usage.\n');
      if (io.json) io.stdout.write(JSON.stringify({ ok: false, error: { reason: 'usage', message: '`pipe score` takes two files: PRED.csv TRUTH.csv' } }, null, 2) + '\n');
      return 2;
    }
    const { scoreFiles } = await import('./lib/score.js');
    const r = await scoreFiles(args[0] as string, args[1] as string);
    if (!r.ok) {
      if (io.json) io.stdout.write(JSON.stringify({ ok: false, error: { reason: 'usage', message: r.message } }, null, 2) + '\n');
      io.stderr.write(`pipe score: ${r.message}\n`);
      return 2;
    }
    if (io.json) io.stdout.write(JSON.stringify({ ok: true, score: r.score, images: r.images }, null, 2) + '\n');
    else io.stdout.write(`mean Dice ${r.score.toFixed(5)} over ${r.images} images\n`);
    return 0;
  },
};

/** Grey PNG (0 or 255) of a row-major 0/1 mask. */
async function writeMaskPng(path: string, mask: Uint8Array, h: number, w: number): Promise<void> {
  const { default: sharp } = await import('sharp');
  const px = Buffer.alloc(h * w);
  for (let i = 0; i < px.length; i++) px[i] = mask[i] ? 255 : 0;
  await sharp(px, { raw: { width: w, height: h, channels: 1 } }).toColourspace('b-w').png().toFile(path);
}

const safe = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_');

/**
 * `pipe export` of masks as PNG images (white = nerve), one folder per set:
 * gate's `masks` JSON (RLE at height x width) gives `<name>.val/<id>.png` and
 * `<name>.test/<id>.png` at the original size; a tensor file's uint8 [N,H,W]
 * tensor named `*mask*` (ingest's `train_masks`) gives `<name>.<tensor>/<id>.png`,
 * ids from the `<prefix>_ids` metadata when present, else the index.
 */
export const maskExporter: ArtifactExporter = {
  describe: 'masks as PNG',
  async export(a, dir) {
    const base = safe(a.name).replace(/\.(json|csv|safetensors)$/, '');
    const written: string[] = [];
    const write = async (folder: string, id: string, mask: Uint8Array, h: number, w: number): Promise<void> => {
      await mkdir(join(dir, folder), { recursive: true });
      await writeMaskPng(join(dir, folder, `${safe(id)}.png`), mask, h, w);
      written.push(`${folder}/${safe(id)}.png`);
    };
    if (a.format === 'json') {
      const j = a.json as Record<string, unknown> | null;
      const h = j?.['height'];
      const w = j?.['width'];
      if (typeof h !== 'number' || typeof w !== 'number') return [];
      const { decodeRle } = await import('./lib/rle.js');
      for (const set of ['val', 'test']) {
        const masks = j?.[set];
        if (masks === null || typeof masks !== 'object') continue;
        for (const [id, rle] of Object.entries(masks)) if (typeof rle === 'string') await write(`${base}.${set}`, id, decodeRle(rle, h, w), h, w);
      }
    } else if (a.format === 'tensors' && a.tensors) {
      for (const [name, t] of Object.entries(a.tensors.tensors)) {
        if (!/mask/i.test(name) || t.dtype !== 'uint8' || t.shape.length !== 3) continue;
        const [n, h, w] = t.shape as [number, number, number];
        const idsRaw = a.tensors.metadata[`${name.replace(/_?masks?$/i, '')}_ids`];
        const parsed: unknown = idsRaw === undefined ? undefined : JSON.parse(idsRaw);
        const ids = Array.isArray(parsed) && parsed.length === n ? parsed.map(String) : undefined;
        for (let i = 0; i < n; i++) await write(`${base}.${safe(name)}`, ids?.[i] ?? String(i), t.data.subarray(i * h * w, (i + 1) * h * w) as Uint8Array, h, w);
      }
    }
    return written;
  },
};

/**
 * `pipe report [--out DIR] [--open] [--exp ID]`: the report page of the
 * workspace's lock (stages/report/command.ts, loaded when it runs).
 */
export const reportCommand: ExtraCommand = {
  usage: 'report',
  summary: 'an HTML page of the data, models, metrics and experiments',
  options: {
    out: { type: 'string', help: '      --out DIR         report: the folder of the page (default: report/)' },
    open: { type: 'boolean', help: '      --open            report: open the page in a browser' },
    exp: { type: 'string', help: '      --exp ID          report: the page of a recorded experiment instead of the workspace' },
  },
  async run(args, env) {
    const { runReport } = await import('./report/command.js');
    return runReport(args, env);
  },
};
