/**
 * Renders a planned frame (scene.ts) into a 420x580 grey image and its mask.
 *
 *   tissue field -> fascia + muscle streaks -> vessels -> bundles (nerve,
 *   distractors) -> depth attenuation -> speckle -> gain/gamma -> probe marker
 *
 * The nerve is an oval of dark round fascicles between short bright streaks
 * with a bright rim (epineurium); a distractor is an oval of longer, more
 * parallel streaks on a brighter ground that borrows some of the nerve's
 * features (`mimic`, from difficulty).
 */
import { makeRng, type Rng } from '../lib/prng.js';
import { addRing, addSmoothField, addStreak, blendEllipse, canvas, ellipseBounds, ellipseRadius, type Canvas } from './draw.js';
import { H, W, type Bundle, type FramePlan, type SubjectLook } from './scene.js';

/** A rendered frame: image grey levels and mask (0/255), both row-major 420x580. */
export interface Frame {
  readonly image: Uint8Array;
  readonly mask: Uint8Array;
}

/** True when (x, y) is inside the bundle's wobbly oval. */
function insideBundle(b: Bundle, x: number, y: number): boolean {
  const e = b.shape;
  const theta = Math.atan2(y - e.cy, x - e.cx) - e.angle;
  const [a2, p2, a3, p3] = b.wobble;
  const scale = 1 + a2 * Math.cos(2 * theta + p2) + a3 * Math.cos(3 * theta + p3);
  return ellipseRadius(e, x, y) < scale;
}

function drawBundle(c: Canvas, rng: Rng, b: Bundle, contrast: number): void {
  const e = b.shape;
  const inside = (x: number, y: number): boolean => insideBundle(b, x, y);
  const area = Math.PI * e.rx * e.ry;
  const nerveLike = b.nerve ? 1 : b.mimic;
  // Ground: the nerve is darker than the surrounding muscle, a distractor brighter.
  blendEllipse(c, e, b.nerve ? 62 : 62 + 55 * (1 - b.mimic), 0.55 * contrast, 3);
  // Fascicles: dark round holes (a distractor has fewer, by mimic).
  const holes = Math.round(rng.uniform(6, 11) * (area / 7000) * nerveLike);
  for (let i = 0; i < holes; i++) {
    const r = rng.uniform(4.5, 8);
    const hx = e.cx + rng.uniform(-0.7, 0.7) * e.rx;
    const hy = e.cy + rng.uniform(-0.6, 0.6) * e.ry;
    if (!inside(hx, hy)) continue;
    blendEllipse(c, { cx: hx, cy: hy, rx: r * rng.uniform(1, 1.5), ry: r, angle: 0 }, 25, 0.8 * contrast, 1.5);
  }
  // Bright streaks: short and scattered in a nerve, long and parallel in a distractor.
  const streaks = Math.round((area / 450) * rng.uniform(0.8, 1.2));
  const tilt = rng.normal(0, 0.08);
  for (let i = 0; i < streaks; i++) {
    const long = !b.nerve && rng.chance(1 - b.mimic * 0.7);
    const len = long ? rng.uniform(26, 55) : rng.uniform(10, 24);
    const sx = e.cx + rng.uniform(-1, 1) * e.rx - len / 2;
    const sy = e.cy + rng.uniform(-0.9, 0.9) * e.ry;
    addStreak(c, {
      x0: sx,
      x1: sx + len,
      y0: sy,
      slope: long ? tilt : tilt + rng.normal(0, 0.3),
      amp: 0,
      freq: 0,
      phase: 0,
      sd: rng.uniform(1.6, 2.6),
      gain: rng.uniform(110, 180) * contrast,
    }, inside);
  }
  // Epineurium: a bright rim along the top and bottom of the oval.
  if (b.nerve || rng.chance(b.mimic * 0.8)) {
    const arcs: Array<[number, number]> = [[Math.PI + 0.5, 2 * Math.PI - 0.4], [0.4, Math.PI - 0.5]];
    addRing(c, e, rng.uniform(110, 170) * contrast * (b.nerve ? 1 : b.mimic), 2.2, arcs);
  }
}

function drawVessel(c: Canvas, rng: Rng, v: import('./draw.js').Ellipse): void {
  blendEllipse(c, v, rng.uniform(8, 22), 0.9, 3);
  // A bright wall, strongest below (posterior acoustic enhancement).
  addRing(c, { ...v, rx: v.rx + 2, ry: v.ry + 2 }, rng.uniform(70, 130), 2.5, [[0.2, Math.PI - 0.2]]);
  addRing(c, { ...v, rx: v.rx + 2, ry: v.ry + 2 }, rng.uniform(40, 90), 2, null);
}

function addProbeMarker(px: Float32Array): void {
  for (let y = 0; y < H; y++) px[y * W] = 0;
  for (let x = 294; x <= 320; x++) px[x] = 0;
  // A small V outline (the orientation marker) centred at x = 303.
  for (let y = 1; y <= 11; y++) {
    const off = Math.round(((11 - y) * 9) / 10);
    for (const x of [303 - off, 303 + off]) {
      px[y * W + x] = 30;
      px[y * W + x + 1] = 60;
    }
  }
}

/** Renders a frame; `difficulty` (0..1) lowers nerve contrast and raises noise. */
export function renderFrame(look: SubjectLook, plan: FramePlan, difficulty: number): Frame {
  const rng = makeRng(plan.noiseSeed);
  const c = canvas(H, W, look.tissue);
  const px = c.px;
  addSmoothField(px, rng, H, W, 5, 7, 22);
  addSmoothField(px, rng, H, W, 16, 22, 16);
  // The subject's fascia, moved with the probe.
  for (const s of look.fascia) {
    addStreak(c, { ...s, x0: s.x0 + plan.dx, x1: s.x1 + plan.dx, y0: s.y0 + plan.dy + rng.normal(0, 1.5), phase: s.phase + rng.normal(0, 0.05) });
  }
  // Muscle texture: many faint short streaks.
  const muscle = rng.int(70, 110);
  for (let i = 0; i < muscle; i++) {
    const x0 = rng.uniform(-20, W);
    const len = rng.uniform(15, 70);
    addStreak(c, { x0, x1: x0 + len, y0: rng.uniform(40, H), slope: rng.normal(0, 0.12), amp: 0, freq: 0, phase: 0, sd: rng.uniform(1.5, 3), gain: rng.uniform(25, 80) });
  }
  for (const v of plan.vessels) drawVessel(c, rng, v);
  const contrast = 1 - 0.35 * difficulty;
  for (const d of plan.distractors) drawBundle(c, rng, d, contrast);
  const mask = new Uint8Array(H * W);
  if (plan.nerve !== null) {
    drawBundle(c, rng, plan.nerve, contrast);
    if (plan.labelled) {
      const [ya, yb, xa, xb] = ellipseBounds(plan.nerve.shape, H, W, 8);
      for (let y = ya; y <= yb; y++) for (let x = xa; x <= xb; x++) if (insideBundle(plan.nerve, x, y)) mask[y * W + x] = 255;
    }
  }
  // Depth attenuation, speckle (elongated sideways), fine noise, gain and gamma.
  const speckle = new Float32Array(H * W);
  addSmoothField(speckle, rng, H, W, 80, 45, 1);
  // exp() of the speckle field and the gamma curve go through tables: the
  // per-pixel loop is the hot spot of the whole generator.
  const EXP_STEPS = 64;
  const expLut = new Float32Array(8 * EXP_STEPS + 1);
  for (let k = 0; k < expLut.length; k++) expLut[k] = Math.exp(look.speckle * (k / EXP_STEPS - 4));
  const GAMMA_STEPS = 2048;
  const gammaLut = new Uint8Array(GAMMA_STEPS + 1);
  for (let k = 0; k <= GAMMA_STEPS; k++) gammaLut[k] = Math.min(255, Math.round(255 * Math.pow((1.4 * k) / GAMMA_STEPS, look.gamma)));
  const toGamma = GAMMA_STEPS / (1.4 * 255);
  const out = new Uint8Array(H * W);
  let noise = rng.int(1, 2 ** 31 - 1);
  for (let y = 0; y < H; y++) {
    const depth = (1 - look.attenuation * Math.pow(y / H, 1.3) + (y < 30 ? 0.25 * (1 - y / 30) : 0)) * look.gain * toGamma;
    const row = y * W;
    for (let x = 0; x < W; x++) {
      const i = row + x;
      noise = (Math.imul(noise, 1103515245) + 12345) >>> 0;
      const fine = 1 + ((noise >>> 8) / 16777216 - 0.5) * 0.12;
      let e = (speckle[i]! + 4) * EXP_STEPS;
      e = e < 0 ? 0 : e > 8 * EXP_STEPS ? 8 * EXP_STEPS : e;
      let k = px[i]! * depth * expLut[e | 0]! * fine;
      k = k <= 0 ? 0 : k > GAMMA_STEPS ? GAMMA_STEPS : k;
      out[i] = gammaLut[k | 0]!;
    }
  }
  const marker = Float32Array.from(out.subarray(0, 12 * W));
  addProbeMarker(marker);
  out.set(marker.subarray(0, 12 * W), 0);
  for (let y = 12; y < H; y++) out[y * W] = 0;
  return { image: out, mask };
}
