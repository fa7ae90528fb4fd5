/**
 * The report page's HTML: one self-contained file (styles inline, charts as
 * inline SVG, images as data: URLs, no script, nothing fetched), readable from
 * `file://`. Helpers escape every text they are given.
 *
 * Numbers that come from pipe.lock carry `data-kind`, `data-metric` and the
 * exact `data-value`, so a test can check the page against the lock.
 */

/** Escapes text for HTML content and attribute values. */
export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** A number shown with `digits` decimals ('–' when not finite). */
export function fmt(v: number, digits = 3): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '–';
}

/** Metrics that are rates or scores: shown with 3 decimals even when whole (Dice 1.000). */
const RATE = /dice|precision|recall|loss|acc|auc|rate|fraction/;

/** Decimals of a metric: whole counts as they are, everything else 3. */
export function metricDigits(metric: string, value: number): number {
  return Number.isInteger(value) && !RATE.test(metric) ? 0 : 3;
}

/** A metric of a stage kind, as pipe.lock records it: marked for checking. */
export function metricNum(kind: string, metric: string, value: number, digits = metricDigits(metric, value)): string {
  return `<span class="num" data-kind="${esc(kind)}" data-metric="${esc(metric)}" data-value="${value}">${esc(fmt(value, digits))}</span>`;
}

/** A table; cells are HTML (escape text with {@link esc}). */
export function table(head: readonly string[], rows: readonly (readonly string[])[], cls = ''): string {
  const th = head.map((h) => `<th>${h}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n');
  return `<table${cls ? ` class="${cls}"` : ''}><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`;
}

/** A rendered chart (inline SVG). */
export function chart(svg: string): string {
  return `<figure class="chart">${svg}</figure>`;
}

/** An image tile (JPEG bytes) with its caption (HTML). */
export function tile(jpeg: Buffer, alt: string, caption: string): string {
  return `<figure class="tile"><img alt="${esc(alt)}" src="data:image/jpeg;base64,${jpeg.toString('base64')}"><figcaption>${caption}</figcaption></figure>`;
}

/** A page section with an anchor for the navigation bar. */
export interface Section {
  readonly id: string;
  readonly title: string;
  readonly body: string;
}

/** The whole page. */
export function page(title: string, subtitle: string, sections: readonly Section[]): string {
  const nav = sections.map((s) => `<a href="#${esc(s.id)}">${esc(s.title)}</a>`).join('');
  const body = sections.map((s) => `<section id="${esc(s.id)}"><h2>${esc(s.title)}</h2>\n${s.body}\n</section>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${esc(title)}</h1><p class="sub">${subtitle}</p><nav>${nav}</nav></header>
<main>
${body}
</main>
</body>
</html>
`;
}

const STYLE = `
:root { --fg: #1d1d1f; --muted: #5f6368; --line: #e3e3e6; --bg: #fafafa; --truth: #56B4E9; --pred: #E69F00; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 18px 32px 0; position: sticky; top: 0; z-index: 1; }
h1 { margin: 0; font-size: 22px; font-weight: 650; }
.sub { margin: 2px 0 10px; color: var(--muted); }
nav { display: flex; gap: 22px; }
nav a { color: var(--muted); text-decoration: none; padding: 6px 0 10px; border-bottom: 2px solid transparent; }
nav a:hover { color: var(--fg); border-color: #0072B2; }
main { max-width: 1180px; margin: 0 auto; padding: 8px 32px 48px; }
section { margin-top: 28px; scroll-margin-top: 110px; }
h2 { font-size: 18px; font-weight: 650; margin: 0 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; font-weight: 600; margin: 22px 0 8px; }
p.note { color: var(--muted); margin: 6px 0 12px; max-width: 820px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 4px 0 8px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 150px; }
.card .v { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .k { color: var(--muted); font-size: 12px; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; align-items: start; }
.charts.three { grid-template-columns: 1fr 1fr 1fr; }
@media (max-width: 900px) { .charts, .charts.three { grid-template-columns: 1fr; } }
figure { margin: 0; }
figure.chart { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px; }
figure.chart svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(236px, 1fr)); gap: 12px; }
.pairs { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 14px; }
.pair { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px; }
.pair .tiles { display: flex; gap: 8px; }
.pair .tiles > figure { flex: 1 1 0; min-width: 0; }
.pair h4 { margin: 0 0 6px; font-size: 13px; font-weight: 600; }
.pair h4 .kind { font-weight: 500; color: #b35c00; margin-left: 6px; }
figure.tile { background: #fff; }
.grid figure.tile { border: 1px solid var(--line); border-radius: 8px; padding: 6px; }
figure.tile img { display: block; width: 100%; height: auto; border-radius: 4px; image-rendering: auto; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; font-variant-numeric: tabular-nums; }
figcaption b { color: var(--fg); font-weight: 600; }
.legend { display: flex; gap: 18px; color: var(--muted); font-size: 13px; margin: 0 0 10px; }
.swatch { display: inline-block; width: 18px; height: 4px; border-radius: 2px; vertical-align: middle; margin-right: 6px; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); font-variant-numeric: tabular-nums; font-size: 13px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f3f3f5; font-weight: 600; }
td.r, th.r { text-align: right; }
.scroll { overflow-x: auto; }
.state { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
.state.fresh { background: #d7f0e8; color: #005c43; }
.state.stale { background: #fbe6cc; color: #7a4a00; }
.state.restorable { background: #d9ebf7; color: #00466e; }
.state.never { background: #eee; color: #555; }
.params { color: var(--muted); font-size: 12px; }
.changed { background: #fff3d6; font-weight: 600; }
.tables { display: flex; flex-wrap: wrap; gap: 16px; }
.confusion td, .confusion th { text-align: center; min-width: 90px; }
.confusion td:first-child { text-align: left; }
table.dag td:nth-child(-n+5), table.exps td:nth-child(-n+3) { white-space: nowrap; }
code { font-size: 12px; background: #f0f0f2; padding: 1px 4px; border-radius: 3px; }
`;
