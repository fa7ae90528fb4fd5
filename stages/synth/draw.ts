/**
 * Drawing primitives of the synthetic ultrasound renderer: all work on a
 * row-major `Float32Array` canvas of `h x w` grey levels (nominally 0..255,
 * clamped only at the end) and are plain loops, so a 420x580 frame renders in
 * a few milliseconds.
 */
import type { Rng } from '../lib/prng.js';

/** A float canvas. */
export interface Canvas {
  readonly h: number;
  readonly w: number;
  readonly px: Float32Array;
}

/** A new canvas filled with `value`. */
export function canvas(h: number, w: number, value = 0): Canvas {
  return { h, w, px: new Float32Array(h * w).fill(value) };
}

/**
 * Adds `gain` times a smooth random field to `out` (row-major `h x w`): a
 * `gh x gw` grid of normal deviates (mean 0, sd 1) upsampled bilinearly. Cells
 * much wider than tall give the horizontally elongated blobs of ultrasound
 * speckle. Adds in place (no allocation of a full-size field).
 */
export function addSmoothField(out: Float32Array, rng: Rng, h: number, w: number, gh: number, gw: number, gain: number): void {
  const stride = gw + 1;
  const grid = new Float32Array((gh + 1) * stride);
  for (let i = 0; i < grid.length; i++) grid[i] = gain * rng.normal();
  const fy = gh / h;
  const fx = gw / w;
  const x0s = new Int32Array(w);
  const wxs = new Float32Array(w);
  for (let x = 0; x < w; x++) {
    const gx = x * fx;
    x0s[x] = Math.floor(gx);
    wxs[x] = gx - Math.floor(gx);
  }
  const rowA = new Float32Array(stride);
  for (let y = 0; y < h; y++) {
    const gy = y * fy;
    const y0 = Math.floor(gy);
    const wy = gy - y0;
    const r0 = y0 * stride;
    const r1 = Math.min(y0 + 1, gh) * stride;
    // Interpolate the two grid rows once per image row, then along x.
    for (let g = 0; g < stride; g++) rowA[g] = grid[r0 + g]! + (grid[r1 + g]! - grid[r0 + g]!) * wy;
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const x0 = x0s[x]!;
      const a = rowA[x0]!;
      out[row + x] = out[row + x]! + a + (rowA[x0 + 1]! - a) * wxs[x]!;
    }
  }
}

/** A bright (or, with negative `gain`, dark) curved streak: the echo of a fascia layer. */
export interface Streak {
  /** Centre line y(x) = y0 + slope * (x - x0) + amp * sin(freq * x + phase). */
  readonly x0: number;
  readonly x1: number;
  readonly y0: number;
  readonly slope: number;
  readonly amp: number;
  readonly freq: number;
  readonly phase: number;
  /** Gaussian half-thickness (sd across the line, pixels). */
  readonly sd: number;
  /** Added grey level at the centre of the line. */
  readonly gain: number;
}

/**
 * Adds a streak to the canvas with a Gaussian profile across the line and
 * tapered ends; `clip` (optional) limits it to pixels where clip(x, y) is true.
 */
export function addStreak(c: Canvas, s: Streak, clip?: (x: number, y: number) => boolean): void {
  const { h, w, px } = c;
  const xa = Math.max(0, Math.floor(s.x0));
  const xb = Math.min(w - 1, Math.ceil(s.x1));
  const len = Math.max(1, s.x1 - s.x0);
  const reach = Math.ceil(s.sd * 3);
  const inv = 1 / (2 * s.sd * s.sd);
  for (let x = xa; x <= xb; x++) {
    const t = (x - s.x0) / len;
    const taper = Math.min(1, t * 5, (1 - t) * 5);
    if (taper <= 0) continue;
    const yc = s.y0 + s.slope * (x - s.x0) + s.amp * Math.sin(s.freq * x + s.phase);
    const ya = Math.max(0, Math.floor(yc - reach));
    const yb = Math.min(h - 1, Math.ceil(yc + reach));
    for (let y = ya; y <= yb; y++) {
      if (clip !== undefined && !clip(x, y)) continue;
      const d = y - yc;
      const i = y * w + x;
      px[i] = px[i]! + s.gain * taper * Math.exp(-d * d * inv);
    }
  }
}

/** An ellipse centred at (cx, cy), semi-axes rx (along angle) and ry, rotated by `angle` radians. */
export interface Ellipse {
  readonly cx: number;
  readonly cy: number;
  readonly rx: number;
  readonly ry: number;
  readonly angle: number;
}

/** Normalised radius of (x, y) in the ellipse: < 1 inside, 1 on the border. */
export function ellipseRadius(e: Ellipse, x: number, y: number): number {
  const c = Math.cos(e.angle);
  const s = Math.sin(e.angle);
  const dx = x - e.cx;
  const dy = y - e.cy;
  const u = (dx * c + dy * s) / e.rx;
  const v = (-dx * s + dy * c) / e.ry;
  return Math.sqrt(u * u + v * v);
}

/** Integer bounding box (clamped to the canvas) of an ellipse grown by `margin` pixels. */
export function ellipseBounds(e: Ellipse, h: number, w: number, margin = 0): [number, number, number, number] {
  const r = Math.max(e.rx, e.ry) + margin;
  return [
    Math.max(0, Math.floor(e.cy - r)),
    Math.min(h - 1, Math.ceil(e.cy + r)),
    Math.max(0, Math.floor(e.cx - r)),
    Math.min(w - 1, Math.ceil(e.cx + r)),
  ];
}

/**
 * Blends the inside of an ellipse towards grey level `value` with strength
 * `alpha` (0..1), softened over `soft` pixels at the border.
 */
export function blendEllipse(c: Canvas, e: Ellipse, value: number, alpha: number, soft = 2): void {
  const [ya, yb, xa, xb] = ellipseBounds(e, c.h, c.w, soft);
  const edge = soft / Math.max(1, Math.min(e.rx, e.ry));
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const r = ellipseRadius(e, x, y);
      if (r >= 1 + edge) continue;
      const k = r <= 1 - edge ? 1 : (1 + edge - r) / (2 * edge);
      const i = y * c.w + x;
      c.px[i] = c.px[i]! + (value - c.px[i]!) * alpha * k;
    }
  }
}

/**
 * Adds `gain` along the border of an ellipse (a ring of Gaussian profile,
 * sd `sd` pixels), only where the border's angle (from the centre, radians,
 * 0 = right, pi/2 = down) is within `arcs` (list of [from, to]); `null` = all round.
 */
export function addRing(c: Canvas, e: Ellipse, gain: number, sd: number, arcs: ReadonlyArray<readonly [number, number]> | null): void {
  const [ya, yb, xa, xb] = ellipseBounds(e, c.h, c.w, sd * 3);
  const scale = Math.min(e.rx, e.ry);
  const inv = 1 / (2 * sd * sd);
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const d = (ellipseRadius(e, x, y) - 1) * scale;
      if (d > 3 * sd || d < -3 * sd) continue;
      if (arcs !== null) {
        const a = Math.atan2(y - e.cy, x - e.cx);
        if (!arcs.some(([from, to]) => inArc(a, from, to))) continue;
      }
      const i = y * c.w + x;
      c.px[i] = c.px[i]! + gain * Math.exp(-d * d * inv);
    }
  }
}

function inArc(a: number, from: number, to: number): boolean {
  const tau = 2 * Math.PI;
  const rel = (((a - from) % tau) + tau) % tau;
  const span = (((to - from) % tau) + tau) % tau;
  return rel <= span;
}
