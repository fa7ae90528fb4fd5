/**
 * Crop builders shared by iso-mask (classifier training crops) and infer
 * (the crop of each predicted mask the classifier scores). Pure JS over typed
 * arrays: no TF.js, no sharp, so both stages build bit-identical crops.
 *
 * Images are row-major `Uint8Array`s of `h * w` grey pixels; masks are the same
 * shape with values 0/1 (any non-zero counts as 1).
 */

/** Grey level of the canvas around the mask pixels in a {@link maskCrop}. */
export const CANVAS_GREY = 128;

/** An axis-aligned box: rows `top..bottom`, cols `left..right`, all inclusive. */
export interface Box {
  readonly top: number;
  readonly left: number;
  readonly bottom: number;
  readonly right: number;
}

/** The bounding box of the non-zero pixels of `mask`, or `null` when it is empty. */
export function maskBox(mask: Uint8Array, h: number, w: number): Box | null {
  let top = h;
  let bottom = -1;
  let left = w;
  let right = -1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      if (mask[row + x] !== 0) {
        if (y < top) top = y;
        if (y > bottom) bottom = y;
        if (x < left) left = x;
        if (x > right) right = x;
      }
    }
  }
  return bottom < 0 ? null : { top, left, bottom, right };
}

/** The taps of one axis of {@link resizeBilinear}: source indices either side and the weight of the second. */
export interface Taps {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly f: Float32Array | Float64Array;
}

/**
 * The taps of resizing one axis from `src` to `dst` pixels (pixel centres
 * aligned, edges clamped). resizeBilinear keeps column weights as float32 and
 * row weights as float64; `float32` says which (the gate's upsampling must
 * round as it does).
 */
export function bilinearTaps(src: number, dst: number, float32: boolean): Taps {
  const s = src / dst;
  const i0 = new Int32Array(dst);
  const i1 = new Int32Array(dst);
  const f = float32 ? new Float32Array(dst) : new Float64Array(dst);
  for (let d = 0; d < dst; d++) {
    let t = (d + 0.5) * s - 0.5;
    if (t < 0) t = 0;
    let a = Math.floor(t);
    if (a > src - 1) a = src - 1;
    i0[d] = a;
    i1[d] = a + 1 < src ? a + 1 : src - 1;
    f[d] = t - a;
  }
  return { i0, i1, f };
}

/**
 * Bilinear resize of a single-channel row-major image (pixel centres aligned,
 * like OpenCV `INTER_LINEAR` / TF `resizeBilinear(halfPixelCenters)`), edges
 * clamped. Returns float values; callers round or threshold.
 */
export function resizeBilinear(
  src: ArrayLike<number>,
  sh: number,
  sw: number,
  dh: number,
  dw: number,
): Float32Array {
  const out = new Float32Array(dh * dw);
  const sy = sh / dh;
  // The column taps are the same for every row.
  const { i0: x0s, i1: x1s, f: fxs } = bilinearTaps(sw, dw, true);
  for (let y = 0; y < dh; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    let y0 = Math.floor(fy);
    if (y0 > sh - 1) y0 = sh - 1;
    const y1 = y0 + 1 < sh ? y0 + 1 : sh - 1;
    const wy = fy - y0;
    const r0 = y0 * sw;
    const r1 = y1 * sw;
    const orow = y * dw;
    for (let x = 0; x < dw; x++) {
      const x0 = x0s[x]!;
      const x1 = x1s[x]!;
      const wx = fxs[x]!;
      const top = src[r0 + x0]! * (1 - wx) + src[r0 + x1]! * wx;
      const bot = src[r1 + x0]! * (1 - wx) + src[r1 + x1]! * wx;
      out[orow + x] = top * (1 - wy) + bot * wy;
    }
  }
  return out;
}

/** Rounds and clamps float pixels to 0..255. */
function toBytes(f: Float32Array): Uint8Array {
  const out = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const v = Math.round(f[i]!);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

/**
 * Copies the box of `image` into a new `(bottom-top+1) x (right-left+1)` array,
 * keeping image pixels where `mask` is non-zero and {@link CANVAS_GREY}
 * elsewhere (pass `mask = null` to keep every pixel).
 */
function cutBox(image: Uint8Array, mask: Uint8Array | null, w: number, box: Box): Uint8Array {
  const bh = box.bottom - box.top + 1;
  const bw = box.right - box.left + 1;
  const out = new Uint8Array(bh * bw);
  for (let y = 0; y < bh; y++) {
    const src = (box.top + y) * w + box.left;
    for (let x = 0; x < bw; x++) {
      out[y * bw + x] = mask === null || mask[src + x] !== 0 ? image[src + x]! : CANVAS_GREY;
    }
  }
  return out;
}

/**
 * The classifier crop of one mask: the mask's bounding box, with the image's
 * pixels where the mask is 1 and grey 128 elsewhere, resized (bilinear) to
 * `size x size`. An empty mask gives {@link centreCrop}.
 */
export function maskCrop(image: Uint8Array, mask: Uint8Array, h: number, w: number, size: number): Uint8Array {
  checkShape(image, h, w, 'image');
  checkShape(mask, h, w, 'mask');
  const box = maskBox(mask, h, w);
  if (box === null) return centreCrop(image, h, w, size);
  const cut = cutBox(image, mask, w, box);
  return toBytes(resizeBilinear(cut, box.bottom - box.top + 1, box.right - box.left + 1, size, size));
}

/**
 * The fixed crop used when a mask is empty: the central box of `h/4 x w/4`
 * pixels (at least 1 x 1; about the size of a typical nerve), all image pixels
 * kept (no grey canvas), resized (bilinear) to `size x size`.
 */
export function centreCrop(image: Uint8Array, h: number, w: number, size: number): Uint8Array {
  checkShape(image, h, w, 'image');
  const bh = Math.max(1, Math.round(h / 4));
  const bw = Math.max(1, Math.round(w / 4));
  const top = Math.floor((h - bh) / 2);
  const left = Math.floor((w - bw) / 2);
  const box: Box = { top, left, bottom: top + bh - 1, right: left + bw - 1 };
  return toBytes(resizeBilinear(cutBox(image, null, w, box), bh, bw, size, size));
}

function checkShape(a: Uint8Array, h: number, w: number, what: string): void {
  if (a.length !== h * w) throw new Error(`${what} has ${a.length} pixels, expected ${h}x${w} = ${h * w}`);
}

/**
 * Area (box-filter) resize of a single-channel row-major image: each output
 * pixel is the mean of the source pixels it covers, fractional overlaps
 * weighted (OpenCV `INTER_AREA` when shrinking). Meant for shrinking; when
 * growing it degrades to nearest-like sampling, use {@link resizeBilinear}.
 */
export function resizeArea(src: ArrayLike<number>, sh: number, sw: number, dh: number, dw: number): Float32Array {
  const cols = areaTaps(sw, dw);
  const rows = areaTaps(sh, dh);
  // Horizontal pass into sh x dw, then vertical into dh x dw.
  const mid = new Float32Array(sh * dw);
  for (let y = 0; y < sh; y++) {
    const r = y * sw;
    for (let x = 0; x < dw; x++) {
      let acc = 0;
      for (const [i, wt] of cols[x]!) acc += src[r + i]! * wt;
      mid[y * dw + x] = acc;
    }
  }
  const out = new Float32Array(dh * dw);
  for (let y = 0; y < dh; y++) {
    for (const [i, wt] of rows[y]!) {
      const r = i * dw;
      for (let x = 0; x < dw; x++) out[y * dw + x] = out[y * dw + x]! + mid[r + x]! * wt;
    }
  }
  return out;
}

/** For each of `dn` output cells, the source indices it covers and their weights (summing to 1). */
function areaTaps(sn: number, dn: number): Array<Array<[number, number]>> {
  const scale = sn / dn;
  const taps: Array<Array<[number, number]>> = [];
  for (let o = 0; o < dn; o++) {
    const a = o * scale;
    const b = a + scale;
    const list: Array<[number, number]> = [];
    for (let i = Math.floor(a); i < Math.min(sn, Math.ceil(b)); i++) {
      const overlap = Math.min(b, i + 1) - Math.max(a, i);
      if (overlap > 1e-9) list.push([i, overlap / scale]);
    }
    taps.push(list);
  }
  return taps;
}
