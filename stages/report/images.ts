/**
 * Image tiles of the report: a grey training image at display size with
 * masks outlined in colour, encoded as JPEG by sharp. Masks come as runs at
 * the original size (as the gate scores them) and are sampled to the tile.
 *
 * Colours are Okabe-Ito (readable with red-green colour blindness): the true
 * mask in sky blue, a prediction in orange.
 */
import { resizeBilinear } from '../lib/crops.js';
import type { Run } from '../lib/rle.js';
import { memoKey, type RenderMemo } from './memo.js';
import { rendererId } from './renderer-id.js';

/** RGB of an outline. */
export type Rgb = readonly [number, number, number];

/** Okabe-Ito colours of the outlines. */
export const OUTLINE = { truth: [86, 180, 233] as Rgb, prediction: [230, 159, 0] as Rgb } as const;

/** A mask to outline: runs at `origH x origW` (column-major starts, as Kaggle's RLE). */
export interface Outline {
  readonly runs: readonly Run[];
  readonly colour: Rgb;
}

/** Tile geometry: the source image size, the original size of masks, the tile size. */
export interface TileSize {
  readonly h: number;
  readonly w: number;
  readonly origH: number;
  readonly origW: number;
  readonly tileH: number;
  readonly tileW: number;
}

/** The tile size for a display width, keeping the original aspect ratio. */
export function tileSize(h: number, w: number, origH: number, origW: number, tileW: number): TileSize {
  return { h, w, origH, origW, tileW, tileH: Math.round((tileW * origH) / origW) };
}

/** The mask of `runs` (original size, column-major) sampled at the tile's pixel centres (row-major). */
export function sampleRuns(runs: readonly Run[], s: TileSize): Uint8Array {
  const out = new Uint8Array(s.tileH * s.tileW);
  if (runs.length === 0) return out;
  const full = new Uint8Array(s.origH * s.origW); // column-major, as the runs
  for (const r of runs) full.fill(1, r.start, r.start + r.length);
  for (let y = 0; y < s.tileH; y++) {
    const oy = Math.min(s.origH - 1, Math.floor(((y + 0.5) * s.origH) / s.tileH));
    for (let x = 0; x < s.tileW; x++) {
      const ox = Math.min(s.origW - 1, Math.floor(((x + 0.5) * s.origW) / s.tileW));
      out[y * s.tileW + x] = full[ox * s.origH + oy]!;
    }
  }
  return out;
}

/** Pixels on either side of the mask's edge (a line two pixels wide). */
export function edges(mask: Uint8Array, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const v = mask[i];
      if ((x > 0 && mask[i - 1] !== v) || (x < w - 1 && mask[i + 1] !== v) || (y > 0 && mask[i - w] !== v) || (y < h - 1 && mask[i + w] !== v)) out[i] = 1;
    }
  }
  return out;
}

/**
 * The JPEG of one tile: `grey` (h x w, row-major) resized bilinearly to the
 * tile, each outline drawn over it in order (the last one on top).
 */
export async function renderTile(grey: Uint8Array, s: TileSize, outlines: readonly Outline[]): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const big = resizeBilinear(grey, s.h, s.w, s.tileH, s.tileW);
  const rgb = Buffer.alloc(s.tileH * s.tileW * 3);
  for (let i = 0; i < big.length; i++) {
    const g = Math.max(0, Math.min(255, Math.round(big[i]!)));
    rgb[3 * i] = g;
    rgb[3 * i + 1] = g;
    rgb[3 * i + 2] = g;
  }
  for (const o of outlines) {
    const line = edges(sampleRuns(o.runs, s), s.tileH, s.tileW);
    for (let i = 0; i < line.length; i++) {
      if (line[i] === 0) continue;
      rgb[3 * i] = o.colour[0];
      rgb[3 * i + 1] = o.colour[1];
      rgb[3 * i + 2] = o.colour[2];
    }
  }
  // JPEG at full chroma keeps the 2-pixel outlines crisp at a quarter of the PNG's bytes (speckle compresses badly).
  return sharp(rgb, { raw: { width: s.tileW, height: s.tileH, channels: 3 } }).jpeg({ quality: 88, chromaSubsampling: '4:4:4' }).toBuffer();
}

/** The tile renderer's code: this module and the resize it uses. */
const TILE_CODE = [import.meta.url, new URL('../lib/crops.js', import.meta.url).href];

/**
 * {@link renderTile} through a render memo: the key is the grey pixels, the
 * geometry, the outlines (runs and colours) and the renderer (sharp's package
 * closure with libvips, this code), so a tile in the memo loads no sharp.
 */
export async function memoTile(memo: RenderMemo, grey: Uint8Array, s: TileSize, outlines: readonly Outline[]): Promise<Buffer> {
  const lines = JSON.stringify(outlines.map((o) => [o.colour, o.runs.map((r) => [r.start, r.length])]));
  const key = memoKey(['jpg', rendererId(import.meta.url, ['sharp'], TILE_CODE), JSON.stringify(s), grey, lines]);
  return memo.get(key, 'jpg', () => renderTile(grey, s, outlines));
}
