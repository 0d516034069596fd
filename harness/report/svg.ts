// Inline SVG pieces shared by the report's plots (the A/B section, the history page). Pure. The
// pages forbid scripts, so every plot is drawn here as markup. Inside <svg> the HTML parser leaves
// foreign content at an HTML tag such as <span>, so SVG text goes through plain(), never text().
// html.ts imports the plot modules back; all of them only call each other at render time.
import { formatValue } from '../stats/summary.ts';
import { escapeHtml } from './html.ts';

/** A plot's size and the margins its axes live in, in SVG user units. */
export interface Frame {
  w: number;
  h: number;
  pad: { left: number; right: number; top: number; bottom: number };
}

export interface Scale {
  y: (v: number) => number;
  ticks: number[];
  log: boolean;
}

/** Text for SVG content and attribute values: capped, controls and lone surrogates replaced, escaped. */
export function plain(s: string, max: number): string {
  const head = s.length > max ? `${s.slice(0, max)}…` : s;
  return escapeHtml(head.replace(/[\x00-\x1f\x7f-\x9f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD'));
}

/** JSON of a raw field for data-value: the exact number (a test reads it back), or null. */
export function raw(v: unknown): string {
  return escapeHtml(JSON.stringify(v ?? null));
}

export function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** A coordinate, to a tenth of a unit: enough on screen, short in the file. */
export function f1(v: number): string {
  return v.toFixed(1);
}

/** A 1-2-5 step giving about `n` intervals over `span`. */
function niceStep(span: number, n: number): number {
  const rough = span / n;
  const p = 10 ** Math.floor(Math.log10(rough));
  const m = rough / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/** Float noise off a tick (0.30000000000000004). */
function clean(v: number): number {
  return Number(v.toPrecision(12));
}

/**
 * Y scale over the finite values. A wide positive range (a 200x regression) is logarithmic, or
 * the low values would sit flat on the axis; one repeated value gets a band around it.
 */
export function yScale(values: number[], f: Frame): Scale {
  const top = f.pad.top;
  const bottom = f.h - f.pad.bottom;
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (lo > 0 && hi / lo >= 20) {
    const pad = 0.06 * (Math.log10(hi) - Math.log10(lo));
    const l0 = Math.log10(lo) - pad;
    const l1 = Math.log10(hi) + pad;
    const ticks: number[] = [];
    for (let k = Math.ceil(l0); k <= Math.floor(l1); k++) ticks.push(10 ** k);
    // Under three decades: 1-3-10 steps, still a few ticks.
    if (ticks.length < 3) {
      ticks.length = 0;
      for (let k = Math.floor(l0); k <= Math.ceil(l1); k++) for (const m of [1, 3]) if (Math.log10(m * 10 ** k) >= l0 && Math.log10(m * 10 ** k) <= l1) ticks.push(clean(m * 10 ** k));
    }
    return { y: (v) => bottom - ((Math.log10(v) - l0) / (l1 - l0)) * (bottom - top), ticks, log: true };
  }
  if (hi === lo) {
    const band = Math.abs(lo) * 0.1 || 1;
    lo -= band;
    hi += band;
  } else {
    const pad = 0.08 * (hi - lo);
    lo -= pad;
    hi += pad;
  }
  const step = niceStep(hi - lo, 4);
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) ticks.push(clean(t));
  const l = lo;
  const h = hi;
  return { y: (v) => bottom - ((v - l) / (h - l)) * (bottom - top), ticks, log: false };
}

/** Gridlines, tick labels in the metric's unit and the axis line; says so when the scale is log. */
export function yAxis(s: Scale, unit: string, f: Frame): string {
  const x0 = f.pad.left;
  const x1 = f.w - f.pad.right;
  const ticks = s.ticks
    .map((t) => {
      const y = f1(s.y(t));
      return `<line x1="${x0 - 4}" y1="${y}" x2="${x1}" y2="${y}" stroke="#edf0f3"/><text x="${x0 - 6}" y="${y}" dy="0.32em" text-anchor="end">${plain(formatValue(t, unit), 24)}</text>`;
    })
    .join('');
  return `<g class="yaxis" font-size="10.5" fill="#4a535c">${ticks}<line x1="${x0}" y1="${f.pad.top}" x2="${x0}" y2="${f.h - f.pad.bottom}" stroke="#8a939c"/>${s.log ? `<text x="${x0 + 4}" y="${f.pad.top - 8}" fill="#8a939c">log scale</text>` : ''}</g>`;
}

/** The <svg> start tag and its accessible title; `attrs` (class, data-*) must be escaped already. */
export function svgOpen(attrs: string, f: Frame, title: string): string {
  return `<svg ${attrs} xmlns="http://www.w3.org/2000/svg" width="${f.w}" height="${f.h}" viewBox="0 0 ${f.w} ${f.h}" font-family="system-ui,sans-serif" role="img"><title>${title}</title>`;
}

/** One point with its tooltip; `attrs` (paint, data-*) and `title` must be escaped already. */
export function dot(x: number, y: number, r: number, attrs: string, title: string): string {
  return `<circle cx="${f1(x)}" cy="${f1(y)}" r="${r}" ${attrs}><title>${title}</title></circle>`;
}
