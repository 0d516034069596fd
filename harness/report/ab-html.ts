// The A/B section of the run's report page (from ab.json): settings and verdict, per comparison
// an LKP-shaped table and two inline SVG plots per metric, the bisection. Pure. The page forbids
// scripts, so the plots are drawn here. Everything from the report is untrusted (kernel specs,
// finding titles from a guest console, patch subjects from a mailbox): escaped like the rest of
// the page; axes, scales and points come from svg.ts, which the history page shares.
import type { AbComparison, AbKernel, AbMetric, AbReport, Bisection, SeriesPatch } from '../ab/types.ts';
import { formatValue } from '../stats/summary.ts';
// html.ts imports this module back; both only call each other's functions at render time.
import { escapeHtml, text } from './html.ts';
import { dot, f1, finite, plain, raw, svgOpen, yAxis, yScale, type Frame, type Scale } from './svg.ts';

export interface AbRenderOptions {
  /** Characters of one table cell or title. */
  maxCell?: number;
}

const COLORS = { A: '#2166ac', B: '#c8553d' } as const;

/** Shown on the page only with the section (the rest of the page keeps its own style sheet). */
export const AB_CSS = `
.warn{background:#fff1cc;color:#7a5200}
table.ab td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
table.ab td.chg{font-weight:600}
.abfigs{display:flex;flex-wrap:wrap;gap:6px 18px}
figure.abfig{margin:8px 0;flex:0 0 auto}figure.abfig figcaption{font-size:12.5px;margin-bottom:2px}
.abplots{display:flex;flex-wrap:wrap;gap:6px}svg.abplot{border:1px solid #e1e5ea;border-radius:4px;background:#fff}
ol.abseries li.culprit{font-weight:600}
`;

// Metric verdicts, comparison outcomes, bisection step outcomes and states share one palette.
const VERDICT_CLASS: Record<string, string> = {
  regression: 'bad',
  improvement: 'ok',
  'no change': 'skip',
  changed: 'warn',
  inconclusive: 'warn',
  'no regression': 'ok',
  bad: 'bad',
  good: 'ok',
  found: 'bad',
};

function badge(label: string, max: number): string {
  return `<span class="badge ${VERDICT_CLASS[label] ?? 'warn'}">${text(label, max)}</span>`;
}

/** +12.3%, -0.45%, +19867%: about three significant digits, no sign for zero. */
export function signedPct(x: number | null | undefined): string {
  if (!finite(x)) return '–';
  const abs = Math.abs(x);
  const s = abs >= 100 ? abs.toFixed(0) : abs >= 10 ? abs.toFixed(1) : abs.toFixed(2);
  return Number(s) === 0 ? '0%' : `${x > 0 ? '+' : '-'}${s}%`;
}

/** A value with its unit; a signed one (a shift) keeps formatValue's units for its magnitude. */
export function valueText(v: number | null | undefined, unit: string, signed = false): string {
  if (!finite(v)) return '–';
  if (!signed || v === 0) return formatValue(v, unit);
  return `${v > 0 ? '+' : '-'}${formatValue(Math.abs(v), unit)}`;
}

/** Spread as a percentage of the median, as LKP prints it; absolute when the median is 0. */
export function spreadText(sd: number | null | undefined, median: number | null | undefined, unit: string): string {
  if (!finite(sd)) return '–';
  if (!finite(median) || median === 0) return `±${valueText(sd, unit)}`;
  const pct = (100 * sd) / Math.abs(median);
  return `±${pct < 10 ? pct.toFixed(1) : pct.toFixed(0)}%`;
}

export function pText(p: number | null | undefined): string {
  return finite(p) ? String(Number(p.toPrecision(2))) : '–';
}

/** The ratio's interval as the %change range it means. */
export function ciText(ci: [number, number] | null | undefined): string {
  if (!ci || !finite(ci[0]) || !finite(ci[1])) return '–';
  return `${signedPct((ci[0] - 1) * 100)} … ${signedPct((ci[1] - 1) * 100)}`;
}

function num(field: string, v: unknown, shown: string, max: number, cls = 'num'): string {
  return `<td class="${cls}" data-field="${field}" data-value="${raw(v)}">${text(shown, max)}</td>`;
}

function metricTable(c: AbComparison, ci: number, r: AbReport, max: number): string {
  if (c.metrics.length === 0) return '<p>No metric was measured on both sides.</p>';
  const conf = `${Math.round(r.settings.confidence * 100)}%`;
  const head = ['A median', '±σ', '%change', 'B median', '±σ', 'metric', 'verdict', `${conf} interval of B/A`, 'p', 'p (Holm)', 'HL shift B−A'];
  const rows = c.metrics.map((m, mi) => {
    const cells = [
      num('a.median', m.a.median, valueText(m.a.median, m.unit), max),
      num('a.stddev', m.a.stddev, spreadText(m.a.stddev, m.a.median, m.unit), max),
      num('changePct', m.changePct, signedPct(m.changePct), max, 'num chg'),
      num('b.median', m.b.median, valueText(m.b.median, m.unit), max),
      num('b.stddev', m.b.stddev, spreadText(m.b.stddev, m.b.median, m.unit), max),
      `<td><a href="#abfig-${ci}-${mi}"><code>${text(m.key, max)}</code></a> <span class="dim">${text(m.unit, 40)}${m.better !== 'none' ? `, ${text(m.better, 10)} is better` : ''}</span></td>`,
      `<td>${badge(m.verdict, max)}</td>`,
      num('ci', m.ci, ciText(m.ci), max),
      num('p', m.p, pText(m.p), max),
      num('pAdjusted', m.pAdjusted ?? null, pText(m.pAdjusted ?? null), max),
      num('hl', m.hl, valueText(m.hl, m.unit, true), max),
    ];
    return `<tr data-key="${plain(m.key, max * 4)}">${cells.join('')}</tr>`;
  });
  return `<table class="grid ab"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function kernelRow(side: 'A' | 'B', k: AbKernel, boots: number, excluded: number, max: number): string {
  return `<tr><th>${side}</th><td><b>${text(k.name, 64)}</b> ${text(k.release, max)} <span class="dim">(${text(k.spec, max)})</span> · ${boots} boots${excluded ? ` · ${excluded} steps excluded (not pass)` : ''}</td></tr>`;
}

function comparisonSection(c: AbComparison, ci: number, r: AbReport, max: number): string {
  const title = ci === 0 ? 'patched kernel against its base' : `bisection step: the first ${text(c.id.replace(/^k/, ''), 10)} patches`;
  const findings = c.newFindings.length
    ? `<p>New console findings on B:</p><ul>${c.newFindings.map((f) => `<li>${text(f.title, max)} <span class="dim">[${text(f.kind, 40)}] in ${f.where.slice(0, 10).map((w) => text(w, max)).join(', ')}${f.where.length > 10 ? ` (+${f.where.length - 10})` : ''}</span></li>`).join('')}</ul>`
    : '<p class="dim">No console finding new on B.</p>';
  const failures = c.newFailures.length
    ? `<p>New failures on B (passed on every A boot):</p><ul>${c.newFailures.map((f) => `<li><code>${text(f.item, max)}</code>: ${f.statuses.map((s) => text(s, 20)).join(', ')}</li>`).join('')}</ul>`
    : '<p class="dim">No item failing only on B.</p>';
  // Bisection steps only need plots where something moved.
  const plotted = c.metrics.map((m, mi) => [m, mi] as const).filter(([m]) => ci === 0 || m.verdict !== 'no change');
  const figs = plotted.map(([m, mi]) => metricFigure(m, c, ci, mi, max)).join('\n');
  return `<section class="abcmp" data-comparison="${plain(c.id, 40)}" id="ab-${escapeHtml(encodeURIComponent(c.id))}">
<h3>${text(c.id, 40)} <span class="dim">${title}</span> ${badge(c.outcome, max)}</h3>
<table class="kv">${kernelRow('A', c.a, c.boots.a, c.excluded.a, max)}${kernelRow('B', c.b, c.boots.b, c.excluded.b, max)}<tr><th>wall time</th><td>${(c.wallMs / 1000).toFixed(0)} s</td></tr></table>
${findings}
${failures}
${(c.caveats ?? []).map((cv) => `<p class="cut">caveat: ${text(cv, max * 2)}</p>`).join('')}
${metricTable(c, ci, r, max)}
${figs ? `<div class="abfigs">${figs}</div>` : ''}
</section>`;
}

// ---- plots ----

const W = 330;
const H = 200;
const PAD = { left: 66, right: 12, top: 22, bottom: 32 };
const FRAME: Frame = { w: W, h: H, pad: PAD };
const R = 3.5;

function point(b: { side: 'A' | 'B'; boot: number; value: number }, x: number, y: number, unit: string): string {
  const paint = b.side === 'A' ? `fill="${COLORS.A}"` : `fill="#fff" stroke="${COLORS.B}" stroke-width="1.6"`;
  return dot(x, y, R, `${paint} data-side="${b.side}" data-boot="${b.boot}" data-value="${raw(b.value)}"`, `${b.side} boot ${b.boot}: ${plain(formatValue(b.value, unit), 40)}`);
}

function abSvgOpen(kind: string, m: AbMetric, title: string, max: number): string {
  return svgOpen(`class="abplot" data-kind="${kind}" data-key="${plain(m.key, max * 4)}"`, FRAME, title);
}

function missingNote(n: number): string {
  return n ? `<text x="${W - PAD.right}" y="${PAD.top - 8}" text-anchor="end" font-size="10.5" fill="#8e1b16">${n} not a number, not plotted</text>` : '';
}

/** (a) Per-boot values of each side in its own column, jittered by a fixed sequence, median tick. */
function stripPlot(m: AbMetric, c: AbComparison, s: Scale, max: number): string {
  const plotW = W - PAD.left - PAD.right;
  const cols = { A: PAD.left + plotW * 0.3, B: PAD.left + plotW * 0.72 };
  const parts: string[] = [];
  for (const side of ['A', 'B'] as const) {
    const cx = cols[side];
    const mine = m.boots.filter((b) => b.side === side && finite(b.value));
    // Golden-ratio steps spread any number of points without a random source.
    mine.forEach((b, i) => parts.push(point(b, cx + ((((i + 1) * 0.6180339887) % 1) * 2 - 1) * plotW * 0.11, s.y(b.value), m.unit)));
    const med = side === 'A' ? m.a.median : m.b.median;
    if (finite(med) && (!s.log || med > 0)) {
      parts.push(`<line class="median" data-side="${side}" x1="${f1(cx - plotW * 0.17)}" x2="${f1(cx + plotW * 0.17)}" y1="${f1(s.y(med))}" y2="${f1(s.y(med))}" stroke="#1d2329" stroke-width="2"><title>median ${side}: ${plain(formatValue(med, m.unit), 40)}</title></line>`);
    }
    const k = side === 'A' ? c.a : c.b;
    parts.push(`<text x="${f1(cx)}" y="${H - PAD.bottom + 15}" text-anchor="middle" font-size="11" fill="${COLORS[side]}">${side}: ${plain(k.name, 24)} (${mine.length})</text>`);
  }
  const missing = m.boots.filter((b) => !finite(b.value)).length;
  return `${abSvgOpen('strip', m, `${plain(m.key, max)}: per-boot values of A and B`, max)}${yAxis(s, m.unit, FRAME)}${parts.join('')}${missingNote(missing)}</svg>`;
}

/** (b) Values in run order, both sides on one axis: a drift of the host shows as a slope. */
function orderPlot(m: AbMetric, c: AbComparison, s: Scale, max: number): string {
  const x0 = PAD.left + 8;
  const x1 = W - PAD.right - 8;
  const n = m.boots.length;
  const x = (i: number): number => (n <= 1 ? (x0 + x1) / 2 : x0 + (i * (x1 - x0)) / (n - 1));
  const pts: string[] = [];
  const trail: Record<'A' | 'B', string[]> = { A: [], B: [] };
  m.boots.forEach((b, i) => {
    if (!finite(b.value)) return;
    pts.push(point(b, x(i), s.y(b.value), m.unit));
    trail[b.side].push(`${f1(x(i))},${f1(s.y(b.value))}`);
  });
  const lines = (['A', 'B'] as const).map((side) => (trail[side].length > 1 ? `<polyline points="${trail[side].join(' ')}" fill="none" stroke="${COLORS[side]}" stroke-opacity="0.35"/>` : '')).join('');
  // A handful of boot numbers along x: first, last, evenly between.
  const shown = new Set(Array.from({ length: Math.min(n, 5) }, (_, j) => (n <= 5 ? j : Math.round((j * (n - 1)) / 4))));
  const xt = m.boots.map((b, i) => (shown.has(i) ? `<text x="${f1(x(i))}" y="${H - PAD.bottom + 13}" text-anchor="middle">${b.boot}</text>` : '')).join('');
  const axis = `<g font-size="10.5" fill="#4a535c"><line x1="${PAD.left}" y1="${H - PAD.bottom}" x2="${W - PAD.right}" y2="${H - PAD.bottom}" stroke="#8a939c"/>${xt}<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 4}" text-anchor="middle" fill="#8a939c">boot, in run order</text></g>`;
  const legend = `<text x="${W - PAD.right}" y="12" text-anchor="end" font-size="10.5"><tspan fill="${COLORS.A}">● A ${plain(c.a.name, 20)}</tspan> <tspan fill="${COLORS.B}">○ B ${plain(c.b.name, 20)}</tspan></text>`;
  return `${abSvgOpen('order', m, `${plain(m.key, max)}: per-boot values in run order`, max)}${yAxis(s, m.unit, FRAME)}${axis}${lines}${pts.join('')}${legend}</svg>`;
}

function metricFigure(m: AbMetric, c: AbComparison, ci: number, mi: number, max: number): string {
  const values = m.boots.map((b) => b.value).filter(finite);
  const s = yScale(values, FRAME);
  return `<figure class="abfig" id="abfig-${ci}-${mi}"><figcaption><code>${text(m.key, max)}</code> ${badge(m.verdict, max)} <span class="dim">${text(c.id, 40)} · ${signedPct(m.changePct)}</span></figcaption><div class="abplots">${stripPlot(m, c, s, max)}${orderPlot(m, c, s, max)}</div></figure>`;
}

// ---- bisection and patches ----

function patchItem(p: SeriesPatch, culprit: number | undefined, max: number): string {
  return `<li value="${Number.isInteger(p.index) ? p.index : 0}"${p.index === culprit ? ' class="culprit"' : ''}>${text(p.subject, max)} <span class="dim">${text(p.file, max)}</span></li>`;
}

function bisectionSection(b: Bisection, r: AbReport, max: number): string {
  const known = new Set(r.comparisons.map((c) => c.id));
  const steps = b.steps
    .map((s) => {
      const cmp = known.has(s.comparison) ? `<a href="#ab-${escapeHtml(encodeURIComponent(s.comparison))}">${text(s.comparison, 40)}</a>` : text(s.comparison, 40);
      return `<tr><td>${s.k}</td><td>${cmp}</td><td>${badge(s.outcome, max)}</td><td>${text(s.detail, max * 2)}</td></tr>`;
    })
    .join('');
  const n = r.series.length;
  const result = b.culprit
    ? `<p class="abculprit">First bad patch: <b>${b.culprit.index}/${n}</b> ${text(b.culprit.subject, max)} <span class="dim">(${text(b.culprit.file, max)})</span></p>`
    : `<p class="abrange">Not narrowed to one patch: the regression is in patches ${b.range.good + 1}..${b.range.bad} of ${n} (the first ${b.range.good} are good${b.range.good === 0 ? ': the base' : ''}).</p>`;
  const targets = [...b.targets.metrics.map((k) => `<code>${text(k, max)}</code>`), ...b.targets.findings.map((f) => text(f, max))].join(', ') || '–';
  return `<section class="abbisect"><h3>Bisection ${badge(b.status, max)}</h3>
<p>targets: ${targets}</p>
${result}
<p class="dim">${text(b.reason, max * 2)}</p>
<table class="grid"><thead><tr><th>first k patches</th><th>comparison</th><th>outcome</th><th>detail</th></tr></thead><tbody>${steps}</tbody></table>
</section>`;
}

/** The A/B section; the report page puts it first. */
export function renderAbSection(r: AbReport, opts: AbRenderOptions = {}): string {
  const max = opts.maxCell ?? 300;
  const s = r.settings;
  const reps = Object.entries(s.repetitions ?? {}).map(([k, v]) => `${text(k, max)} ${v}`).join(', ') || '–';
  const settings = [
    `threshold ±${+(s.threshold * 100).toPrecision(3)}%`,
    `alpha ${s.alpha}`,
    `${Math.round(s.confidence * 100)}% intervals (${s.resamples} resamples)`,
    `seed ${s.seed}`,
    `${s.bootsPerSide} boots per side`,
    `repetitions ${reps}`,
    `${s.warmup} warm-up`,
    `accelerator ${text(r.accel.accel, 20)}${r.accel.tcgThread ? ` thread=${text(r.accel.tcgThread, 10)}` : ''}${r.accel.clock ? `, clock ${text(r.accel.clock, 10)}` : ''}`,
    text(s.design, 60),
    ...(s.budgetMs ? [`budget ${(s.budgetMs / 60000).toFixed(0)} min`] : []),
  ];
  const main = r.comparisons[0];
  const culprit = r.bisection?.culprit?.index;
  const series = r.series.length ? `<h3>Patches</h3><ol class="abseries">${r.series.map((p) => patchItem(p, culprit, max)).join('')}</ol>` : '';
  return `<section class="ab" id="ab">
<h2>A/B comparison ${main ? badge(main.outcome, max) : ''}</h2>
<p class="abverdict"><b>${text(r.verdict, max * 2)}</b></p>
<p class="dim absettings">${settings.join(' · ')}</p>
${r.comparisons.map((c, i) => comparisonSection(c, i, r, max)).join('\n')}
${r.bisection ? bisectionSection(r.bisection, r, max) : ''}
${series}
</section>`;
}
