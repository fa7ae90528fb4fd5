/**
 * What a synthetic frame shows: the per-subject "look" (gain, depth
 * attenuation, fascia layout, where the nerve usually sits) and the per-frame
 * plan (nerve or not, labelled or not, vessels, distractors). Rendering is in
 * render.ts; this module only makes seeded choices.
 *
 * Frames of one subject share their look, like frames of one ultrasound video:
 * that is what makes a subject-grouped split matter.
 */
import type { Rng } from '../lib/prng.js';
import type { Ellipse, Streak } from './draw.js';

/** Frame size of the Kaggle data (rows x cols). */
export const H = 420;
export const W = 580;

/** Facts of train_masks.csv: non-empty mask area (pixels at 420x580). */
export const AREA_MIN = 2684;
export const AREA_MEDIAN = 6976;
export const AREA_MAX = 17439;

/** Fraction of labelled frames in the real training set. */
export const NERVE_FRACTION = 0.41;

/** The look shared by all frames of one subject. */
export interface SubjectLook {
  readonly gain: number;
  readonly gamma: number;
  /** Fraction of brightness lost from top to bottom. */
  readonly attenuation: number;
  /** Mean tissue grey level before gain. */
  readonly tissue: number;
  /** Multiplicative speckle strength (sd of log-intensity). */
  readonly speckle: number;
  /** Fascia streaks of this subject's anatomy (jittered per frame). */
  readonly fascia: readonly Streak[];
  /** Where this subject's nerve usually is, and its typical area. */
  readonly nerveX: number;
  readonly nerveY: number;
  readonly nerveArea: number;
  /** Vessel offset from the nerve centre (the artery beside the plexus). */
  readonly vesselDx: number;
  readonly vesselDy: number;
  readonly vesselR: number;
  /** Probability that a frame of this subject is labelled with a nerve. */
  readonly pNerve: number;
}

/** A nerve-like oval: the labelled nerve or an unlabelled distractor. */
export interface Bundle {
  readonly shape: Ellipse;
  /** Border harmonics: radius *= 1 + sum(a_k cos(k theta + p_k)), k = 2, 3. */
  readonly wobble: readonly [number, number, number, number];
  /** true: the nerve's texture (dark fascicles in bright streaks, rim); false: a distractor's. */
  readonly nerve: boolean;
  /** 0..1: how much a distractor borrows the nerve's texture (difficulty). */
  readonly mimic: number;
}

/** Everything random about one frame except its noise. */
export interface FramePlan {
  /** A bundle with nerve texture is drawn. */
  readonly nerveVisible: boolean;
  /** Its mask is written (false for the unlabelled near-duplicates). */
  readonly labelled: boolean;
  readonly nerve: Bundle | null;
  readonly vessels: readonly Ellipse[];
  readonly distractors: readonly Bundle[];
  /** Per-frame shift of the whole anatomy (probe motion). */
  readonly dx: number;
  readonly dy: number;
  /** Seed of the frame's speckle and texture noise. */
  readonly noiseSeed: number;
}

/** Draws the look of one subject. `difficulty` in 0..1. */
export function makeSubject(rng: Rng, difficulty: number): SubjectLook {
  const fascia: Streak[] = [];
  // Skin and superficial fascia: long, bright, nearly flat lines near the top.
  const top = rng.int(4, 7);
  let y = rng.uniform(8, 20);
  for (let i = 0; i < top; i++) {
    const x0 = rng.uniform(-150, 150);
    fascia.push(streak(rng, x0, x0 + rng.uniform(250, 700), y, rng.uniform(140, 240), rng.uniform(2.5, 4.5)));
    // A dark fat layer under each bright one.
    fascia.push({ ...streak(rng, x0, x0 + rng.uniform(250, 600), y + rng.uniform(7, 12), -rng.uniform(30, 60), rng.uniform(3, 5)), slope: 0 });
    y += rng.uniform(12, 28);
  }
  // Deeper fascia: shorter, dimmer, more curved, some dark.
  const deep = rng.int(28, 42);
  for (let i = 0; i < deep; i++) {
    const x0 = rng.uniform(-60, 560);
    const y0 = rng.uniform(y, 410);
    const bright = rng.chance(0.75);
    const gain = bright ? rng.uniform(90, 220) * (1 - (0.4 * y0) / H) : -rng.uniform(25, 55);
    fascia.push(streak(rng, x0, x0 + rng.uniform(40, 220), y0, gain, bright ? rng.uniform(2, 4.5) : rng.uniform(4, 9)));
  }
  const nerveArea = AREA_MEDIAN * Math.exp(rng.normal(0, 0.18));
  const side = rng.chance(0.5) ? 1 : -1;
  return {
    gain: rng.uniform(0.85, 1.2),
    gamma: rng.uniform(0.85, 1.2),
    attenuation: rng.uniform(0.35, 0.6),
    tissue: rng.uniform(85, 110),
    speckle: rng.uniform(0.25, 0.38) * (1 + 0.4 * difficulty),
    fascia,
    nerveX: rng.uniform(170, 430),
    nerveY: rng.uniform(110, 250),
    nerveArea,
    vesselDx: side * rng.uniform(45, 80),
    vesselDy: rng.uniform(-10, 50),
    vesselR: rng.uniform(12, 26),
    pNerve: Math.min(0.8, Math.max(0.1, NERVE_FRACTION + 0.02 + rng.normal(0, 0.1))),
  };
}

function streak(rng: Rng, x0: number, x1: number, y0: number, gain: number, sd: number): Streak {
  return {
    x0,
    x1,
    y0,
    slope: rng.normal(0, 0.1),
    amp: rng.uniform(0, 14),
    freq: rng.uniform(0.006, 0.03),
    phase: rng.uniform(0, 2 * Math.PI),
    sd,
    gain,
  };
}

/** A mask area drawn around the subject's typical one, within the real min..max. */
function drawArea(rng: Rng, look: SubjectLook): number {
  const a = look.nerveArea * Math.exp(rng.normal(0, 0.22));
  return Math.min(AREA_MAX * 0.97, Math.max(AREA_MIN * 1.03, a));
}

function drawBundle(rng: Rng, cx: number, cy: number, area: number, nerve: boolean, mimic: number): Bundle {
  const aspect = rng.uniform(1.15, 1.9);
  const ry = Math.sqrt(area / (Math.PI * aspect));
  return {
    shape: { cx, cy, rx: ry * aspect, ry, angle: rng.normal(0, 0.3) },
    wobble: [rng.uniform(0, 0.08), rng.uniform(0, 2 * Math.PI), rng.uniform(0, 0.05), rng.uniform(0, 2 * Math.PI)],
    nerve,
    mimic,
  };
}

/**
 * Plans one frame. `prev` is the previous frame of the same subject: with a
 * small probability (growing with difficulty) a frame repeats a labelled
 * previous frame's scene without its label, as the real data's inconsistent
 * near-duplicates do.
 */
export function planFrame(rng: Rng, look: SubjectLook, difficulty: number, prev: FramePlan | null): FramePlan {
  const noiseSeed = rng.int(0, 2 ** 31 - 1);
  if (prev !== null && prev.labelled && rng.chance(0.04 + 0.06 * difficulty)) {
    return { ...prev, labelled: false, dx: prev.dx + rng.normal(0, 1), dy: prev.dy + rng.normal(0, 1), noiseSeed };
  }
  const dx = rng.normal(0, 14);
  const dy = rng.normal(0, 8);
  const labelled = rng.chance(look.pNerve);
  const cx = look.nerveX + dx + rng.normal(0, 22);
  const cy = look.nerveY + dy + rng.normal(0, 14);
  const nerve = labelled ? drawBundle(rng, cx, cy, drawArea(rng, look), true, 0) : null;
  const vessels: Ellipse[] = [];
  // The artery beside the plexus is there whether or not the nerve is labelled.
  if (rng.chance(0.8)) {
    const r = look.vesselR * rng.uniform(0.85, 1.15);
    vessels.push({ cx: cx + look.vesselDx + rng.normal(0, 4), cy: cy + look.vesselDy + rng.normal(0, 4), rx: r * rng.uniform(1, 1.3), ry: r, angle: rng.normal(0, 0.2) });
  }
  const extra = rng.int(0, 2);
  for (let i = 0; i < extra; i++) {
    const r = rng.uniform(6, 20);
    vessels.push({ cx: rng.uniform(30, W - 30), cy: rng.uniform(120, H - 30), rx: r * rng.uniform(1, 1.5), ry: r, angle: rng.normal(0, 0.3) });
  }
  // Nerve-like distractors: more often, and more nerve-like, when difficult;
  // in unlabelled frames one often sits where the nerve would be.
  const distractors: Bundle[] = [];
  const mimic = Math.min(0.9, 0.25 + 0.55 * difficulty);
  if (!labelled && rng.chance(0.45 + 0.3 * difficulty)) {
    distractors.push(drawBundle(rng, cx + rng.normal(0, 25), cy + rng.normal(0, 15), drawArea(rng, look), false, mimic));
  }
  if (rng.chance(0.25 + 0.25 * difficulty)) {
    const px = rng.uniform(80, W - 80);
    const py = rng.uniform(120, H - 70);
    if (nerve === null || Math.hypot(px - nerve.shape.cx, py - nerve.shape.cy) > 130) {
      distractors.push(drawBundle(rng, px, py, drawArea(rng, look) * rng.uniform(0.7, 1.2), false, mimic));
    }
  }
  return { nerveVisible: labelled, labelled, nerve, vessels, distractors, dx, dy, noiseSeed };
}
