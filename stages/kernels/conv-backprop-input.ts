/**
 * Conv2DBackpropInput for the wasm backend on XNNPACK forward convolutions.
 *
 * For stride s along an axis, input rows i = s*q + r (phase r) receive gradient
 * only from filter taps k ≡ r + padBefore (mod s). So the input gradient splits
 * into s_h * s_w phases, each an ordinary stride-1 convolution of dy with the
 * flipped, transposed sub-filter of those taps; the phases are then interleaved.
 * With stride 1 this is the single "flipped filter" convolution; with a 2x2/2
 * transposed convolution each phase is a 1x1 convolution (a matmul).
 *
 * ```
 *   dx[s*q + r] = Σ_m dy[q + c_r - m] · w[k_r + s*m]   m = 0 .. M_r-1
 *   k_r = (r + pad) mod s,  c_r = (r + pad - k_r) / s,  M_r = ceil((K - k_r) / s)
 * ```
 */
import type { TfHandle } from '../lib/backend.js';
import { takeSkip } from './skip-input-grad.js';
import { makeCtx, size } from './wasm-util.js';
import type { Ctx, Info, KernelArgs } from './wasm-util.js';

/** Per-axis plan of one phase. */
interface Phase {
  r: number; // phase index (first input row of this phase)
  k0: number; // first filter tap
  m: number; // number of taps (0: phase gets no gradient)
  c: number; // dy offset
  q: number; // output rows of this phase
}

/** Phases along one axis (input length n, dy length no, filter k, stride s, pad before p). */
export function axisPhases(n: number, no: number, k: number, s: number, p: number): Phase[] {
  const phases: Phase[] = [];
  for (let r = 0; r < s && r < n; r++) {
    const k0 = (((r + p) % s) + s) % s;
    const m = k0 < k ? Math.ceil((k - k0) / s) : 0;
    const c = (r + p - k0) / s;
    const q = Math.ceil((n - r) / s);
    phases.push({ r, k0, m, c, q });
    void no;
  }
  return phases;
}

interface ConvGeometry {
  n: number; h: number; w: number; ci: number; co: number;
  kh: number; kw: number; sh: number; sw: number;
  ho: number; wo: number; pt: number; pl: number;
}

/**
 * dx for one phase pair: a stride-1 convolution of (a window of) dy with the
 * flipped sub-filter, shape [n, qh, qw, ci]. Returns null when no tap reaches it.
 */
function phaseGradient(ctx: Ctx, g: ConvGeometry, dy: Info, filter: Info, ph: Phase, pw: Phase): Info | null {
  if (ph.m === 0 || pw.m === 0) return null;
  // Sub-filter [m_h, m_w, co, ci], flipped in space, in/out channels swapped.
  const src = ctx.view(filter);
  const sub = new Float32Array(ph.m * pw.m * g.co * g.ci);
  for (let a = 0; a < ph.m; a++) {
    const ka = ph.k0 + g.sh * (ph.m - 1 - a);
    for (let b = 0; b < pw.m; b++) {
      const kb = pw.k0 + g.sw * (pw.m - 1 - b);
      const sBase = (ka * g.kw + kb) * g.ci * g.co;
      const dBase = (a * pw.m + b) * g.co * g.ci;
      for (let i = 0; i < g.ci; i++) {
        for (let o = 0; o < g.co; o++) sub[dBase + o * g.ci + i] = src[sBase + i * g.co + o]!;
      }
    }
  }
  // Padding in dy coordinates; negative padding becomes a crop of dy.
  const pads = (ph2: Phase, no: number) => {
    const before = ph2.m - 1 - ph2.c;
    const after = ph2.q + ph2.c - no;
    return [before, after] as const;
  };
  const [tb, ta] = pads(ph, g.ho);
  const [lb, la] = pads(pw, g.wo);
  let src4 = dy;
  const cropT = Math.max(0, -tb), cropB = Math.max(0, -ta), cropL = Math.max(0, -lb), cropR = Math.max(0, -la);
  const cropped = cropT + cropB + cropL + cropR > 0;
  if (cropped) {
    src4 = ctx.run('Slice', { x: dy }, {
      begin: [0, cropT, cropL, 0],
      size: [g.n, g.ho - cropT - cropB, g.wo - cropL - cropR, g.co],
    });
  }
  const f = ctx.alloc([ph.m, pw.m, g.co, g.ci], sub);
  const out = ctx.run('Conv2D', { x: src4, filter: f }, {
    strides: [1, 1], dilations: [1, 1], dataFormat: 'NHWC', dimRoundingMode: undefined,
    pad: [[0, 0], [Math.max(0, tb), Math.max(0, ta)], [Math.max(0, lb), Math.max(0, la)], [0, 0]],
  });
  ctx.free(f);
  if (cropped) ctx.free(src4);
  return out;
}

/** Interleaves phase outputs into dx [n, h, w, ci]. */
function interleave(ctx: Ctx, g: ConvGeometry, parts: { ph: Phase; pw: Phase; t: Info | null }[]): Info {
  const dx = ctx.alloc([g.n, g.h, g.w, g.ci]);
  const out = ctx.view(dx);
  out.fill(0);
  for (const { ph, pw, t } of parts) {
    if (t === null) continue;
    const src = ctx.view(t);
    const C = g.ci;
    let s = 0;
    for (let b = 0; b < g.n; b++) {
      for (let qy = 0; qy < ph.q; qy++) {
        const row = (b * g.h + ph.r + g.sh * qy) * g.w;
        for (let qx = 0; qx < pw.q; qx++) {
          const d = (row + pw.r + g.sw * qx) * C;
          for (let c = 0; c < C; c++) out[d + c] = src[s++]!;
        }
      }
    }
  }
  return dx;
}

/** Builds the Conv2DBackpropInput kernel function; `fallback` handles what we do not. */
export function conv2dBackpropInputKernel(
  tf: TfHandle['tf'],
  fallback: (args: KernelArgs) => Info,
): (args: KernelArgs) => Info {
  return (args) => {
    const { dy, filter } = args.inputs as { dy: Info; filter: Info };
    const attrs = args.attrs ?? {};
    const inputShape = attrs['inputShape'] as [number, number, number, number];
    const dataFormat = (attrs['dataFormat'] as string | undefined) ?? 'NHWC';
    if (dataFormat !== 'NHWC' || dy.dtype !== 'float32' || filter.dtype !== 'float32') return fallback(args);
    if (takeSkip(inputShape)) {
      // A gradient the engine never reads (skip-input-grad.ts): zeros, not computed.
      const ctx = makeCtx(tf, args.backend);
      const zeros = ctx.alloc(inputShape.slice());
      ctx.view(zeros).fill(0);
      return zeros;
    }
    const info = tf.backend_util.computeConv2DInfo(
      inputShape, filter.shape as [number, number, number, number], attrs['strides'] as [number, number], 1,
      attrs['pad'] as 'same', attrs['dimRoundingMode'] as 'round' | undefined, false, 'channelsLast');
    const ctx = makeCtx(tf, args.backend);
    const g: ConvGeometry = {
      n: info.batchSize, h: info.inHeight, w: info.inWidth, ci: info.inChannels, co: info.outChannels,
      kh: info.filterHeight, kw: info.filterWidth, sh: info.strideHeight, sw: info.strideWidth,
      ho: info.outHeight, wo: info.outWidth, pt: info.padInfo.top, pl: info.padInfo.left,
    };
    if (dy.shape[1] !== g.ho || dy.shape[2] !== g.wo) return fallback(args);
    const rows = axisPhases(g.h, g.ho, g.kh, g.sh, g.pt);
    const cols = axisPhases(g.w, g.wo, g.kw, g.sw, g.pl);
    if (rows.length === 1 && cols.length === 1) {
      const out = phaseGradient(ctx, g, dy, filter, rows[0]!, cols[0]!);
      if (out !== null && size(out.shape) === size([g.n, g.h, g.w, g.ci])) return out;
      if (out !== null) ctx.free(out);
      return fallback(args);
    }
    const parts: { ph: Phase; pw: Phase; t: Info | null }[] = [];
    for (const ph of rows) for (const pw of cols) parts.push({ ph, pw, t: phaseGradient(ctx, g, dy, filter, ph, pw) });
    const dx = interleave(ctx, g, parts);
    for (const p of parts) if (p.t !== null) ctx.free(p.t);
    return dx;
  };
}
