// The history page (history.html): every series (kernel name, scenario, variant, metric) night
// by night as an inline SVG plot, with the change points the nightly alerting found and the
// nights the kernel name started standing for another kernel, so the two can be lined up. Pure.
// Same look and rules as report.html: the page forbids scripts, everything from the database
// (kernel releases and specs, metric names a reproducer printed) is escaped and capped.
import type { ChangePoint } from '../history/changepoint.ts';
import type { NightValue, SeriesKey } from '../history/db/queries.ts';
import { alertText, type Alert, type MetricAlert } from '../nightly/alerts.ts';
import { variantName } from '../plan/plan.ts';
import { formatValue } from '../stats/summary.ts';
import { CSS, escapeHtml, htmlPage, text } from './html.ts';
import { dot, f1, finite, plain, raw, svgOpen, yAxis, yScale, type Frame, type Scale } from './svg.ts';

export interface HistorySeries {
  key: SeriesKey;
  /** Oldest first, as db/queries.ts metricSeries returns them. */
  nights: NightValue[];
  /** detectChangePoints over the nights' values. */
  changePoints: ChangePoint[];
}

export interface HistoryPageOptions {
  /** The night the page was written for (nightly, merge --db). */
  runId?: string | undefined;
  /** The database, as messages name it (no password). */
  source?: string | undefined;
  /** Tonight's alerts: their series come first, flagged; finding alerts are listed. */
  alerts?: readonly Alert[] | undefined;
  /** Link back to the night's report (relative). */
  reportHref?: string | undefined;
  /** Characters of one label or title. */
  maxCell?: number | undefined;
}

const FRAME: Frame = { w: 560, h: 230, pad: { left: 66, right: 14, top: 36, bottom: 34 } };
const COLOR = { night: '#2166ac', cp: '#c0392b', id: '#8a5a00', level: '#c0392b' } as const;

export const HISTORY_CSS = `
.histfigs{display:flex;flex-wrap:wrap;gap:6px 18px}
figure.histfig{margin:8px 0;flex:0 0 auto}figure.histfig figcaption{font-size:12.5px;margin-bottom:2px;max-width:560px;overflow-wrap:anywhere}
svg.histplot{border:1px solid #e1e5ea;border-radius:4px;background:#fff}
figure.alerted svg.histplot{border:2px solid #c0392b}
ul.alerts li{margin:3px 0}.legend span{margin-right:14px;white-space:nowrap}
p.nav a{margin-right:12px}.lg-night{color:#2166ac}.lg-cp{color:#c0392b}.lg-id{color:#8a5a00}
`;

/** Series id for anchors and data attributes. */
export function seriesId(k: SeriesKey): string {
  return [k.kernel, k.scenario, variantName(k.variant), k.metric].join('/');
}

/** "+38.2% p=0.005": the size of a change point and its permutation p; a spread change says so. */
export function changeLabel(c: ChangePoint): string {
  const size = c.direction === 'none' ? 'spread' : c.relChange === null ? 'change' : `${c.relChange >= 0 ? '+' : ''}${(100 * c.relChange).toFixed(1)}%`;
  return `${size} p=${Number(c.p.toPrecision(2))}`;
}

/**
 * What differs between the kernel a name stood for on one night and the next: release, spec,
 * and each identity field (source commit or package version, config hash, patch hashes).
 */
export function kernelChanges(before: NightValue['kernel'], after: NightValue['kernel']): string[] {
  const out: string[] = [];
  if (before.release !== after.release) out.push(`release ${before.release} -> ${after.release}`);
  if (before.spec !== after.spec) out.push(`spec ${before.spec} -> ${after.spec}`);
  for (const f of [...new Set([...Object.keys(before.identity), ...Object.keys(after.identity)])].sort()) {
    const a = before.identity[f];
    const b = after.identity[f];
    if (a !== b) out.push(`${f} ${a ?? '(none)'} -> ${b ?? '(none)'}`);
  }
  return out;
}

const night = (n: NightValue): string => n.startedAt.slice(0, 10);

function pageOrder(series: readonly HistorySeries[], alerted: ReadonlyMap<string, MetricAlert>): HistorySeries[] {
  const k = (s: HistorySeries): string => [alerted.has(seriesId(s.key)) ? 0 : 1, s.key.metric, s.key.kernel, s.key.scenario, variantName(s.key.variant)].join('\0');
  return [...series].sort((a, b) => (k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0));
}

/** x of each night: one slot a night, so a change point sits on its night whatever the calendar did. */
function slots(n: number): { x: (i: number) => number; slot: number } {
  const x0 = FRAME.pad.left;
  const slot = (FRAME.w - FRAME.pad.right - x0) / Math.max(n, 1);
  return { x: (i) => x0 + (i + 0.5) * slot, slot };
}

function xAxis(nights: readonly NightValue[], x: (i: number) => number, max: number): string {
  const n = nights.length;
  const y = FRAME.h - FRAME.pad.bottom;
  // A handful of dates: first, last, evenly between.
  const shown = [...new Set(Array.from({ length: Math.min(n, 5) }, (_, j) => (n <= 5 ? j : Math.round((j * (n - 1)) / 4))))];
  // A date near either edge is anchored inward, not cut off by the frame.
  const anchor = (cx: number): string => (cx < FRAME.pad.left + 30 ? 'start' : cx > FRAME.w - 40 ? 'end' : 'middle');
  // Nights on one date (runs minutes apart) are told apart by their time.
  const dates = shown.map((i) => night(nights[i] as NightValue));
  const label = new Set(dates).size < dates.length ? (n: NightValue): string => n.startedAt.slice(5, 16).replace('T', ' ') : night;
  const labels = shown.map((i) => `<text x="${f1(x(i))}" y="${y + 13}" text-anchor="${anchor(x(i))}">${plain(label(nights[i] as NightValue), max)}</text>`).join('');
  return `<g class="xaxis" font-size="10.5" fill="#4a535c"><line x1="${FRAME.pad.left}" y1="${y}" x2="${FRAME.w - FRAME.pad.right}" y2="${y}" stroke="#8a939c"/>${labels}<text x="${(FRAME.pad.left + FRAME.w - FRAME.pad.right) / 2}" y="${FRAME.h - 4}" text-anchor="middle" fill="#8a939c">night (run start)</text></g>`;
}

/** A dotted amber line and a triangle under the axis where the kernel name's identity, or how it was measured, changed. */
function identityMarks(nights: readonly NightValue[], x: (i: number) => number, max: number): string {
  const top = FRAME.pad.top;
  const bottom = FRAME.h - FRAME.pad.bottom;
  return nights
    .map((n, i) => {
      const prev = nights[i - 1];
      const what = prev ? [...kernelChanges(prev.kernel, n.kernel), ...(prev.conditions !== n.conditions ? [`measured ${prev.conditions} -> ${n.conditions}`] : [])] : [];
      if (!what.length) return '';
      const cx = f1(x(i));
      const title = `kernel ${plain(n.kernel.release, max)} from ${plain(n.runId, 64)} (${plain(night(n), 16)}): ${what.map((w) => plain(w, max)).join('; ')}`;
      return `<g class="idchange" data-run="${plain(n.runId, 64)}" data-index="${i}"><line x1="${cx}" y1="${top}" x2="${cx}" y2="${bottom}" stroke="${COLOR.id}" stroke-dasharray="2 3"/><path d="M${cx},${bottom - 8} l-5,8 h10 z" fill="${COLOR.id}"/><title>${title}</title></g>`;
    })
    .join('');
}

/** Each change point: a dashed red line on the first night of the new level, labelled with its size and p. */
function changeMarks(s: HistorySeries, x: (i: number) => number, max: number): string {
  const top = FRAME.pad.top;
  const bottom = FRAME.h - FRAME.pad.bottom;
  const unit = s.nights[0]?.unit ?? '';
  return s.changePoints
    .map((c, j) => {
      const n = s.nights[c.index];
      if (!n) return '';
      const cx = x(c.index);
      const right = cx > FRAME.w - 130;
      // Neighbouring labels alternate between two rows.
      const ly = top - 20 + (j % 2) * 11;
      const label = `<text x="${f1(right ? cx - 3 : cx + 3)}" y="${ly}" text-anchor="${right ? 'end' : 'start'}" font-size="10.5" font-weight="600" fill="${COLOR.cp}">${plain(changeLabel(c), 40)}</text>`;
      const title = `change point: new level from ${plain(n.runId, 64)} (${plain(night(n), 16)}, ${plain(n.kernel.release, max)}): median ${plain(formatValue(c.before.median, unit), 40)} -&gt; ${plain(formatValue(c.after.median, unit), 40)}, ${plain(changeLabel(c), 40)}`;
      return `<g class="cp" data-run="${plain(n.runId, 64)}" data-index="${c.index}"><line x1="${f1(cx)}" y1="${ly + 3}" x2="${f1(cx)}" y2="${bottom}" stroke="${COLOR.cp}" stroke-width="1.5" stroke-dasharray="5 3"/>${label}<title>${title}</title></g>`;
    })
    .join('');
}

/** The median of each segment between change points, a faint level line across its nights. */
function levels(s: HistorySeries, sc: Scale, x: (i: number) => number, slot: number): string {
  return s.changePoints
    .flatMap((c, j) => (j === 0 ? [c.before, c.after] : [c.after]))
    .filter((g) => finite(g.median) && (!sc.log || g.median > 0))
    .map((g) => `<line class="level" x1="${f1(x(g.start) - slot / 2)}" x2="${f1(x(g.end - 1) + slot / 2)}" y1="${f1(sc.y(g.median))}" y2="${f1(sc.y(g.median))}" stroke="${COLOR.level}" stroke-opacity="0.35" stroke-width="2"/>`)
    .join('');
}

/** Per-boot values, faint and spread a little around their night; then the nights' values, joined. */
function points(s: HistorySeries, sc: Scale, x: (i: number) => number, slot: number, max: number): string {
  const ok = (v: number): boolean => finite(v) && (!sc.log || v > 0);
  const boots = s.nights.flatMap((n, i) =>
    n.boots.filter(ok).map((v, b) => {
      const dx = n.boots.length > 1 ? ((((b + 1) * 0.6180339887) % 1) * 2 - 1) * Math.min(slot * 0.3, 8) : 0;
      return dot(x(i) + dx, sc.y(v), 2.2, `class="boot" fill="${COLOR.night}" fill-opacity="0.28" data-value="${raw(v)}"`, `${plain(n.runId, 64)} boot ${b + 1} of ${n.boots.length}: ${plain(formatValue(v, n.unit), 40)}`);
    }),
  );
  const shown = s.nights.map((n, i) => [n, i] as const).filter(([n]) => ok(n.value));
  const line = shown.length > 1 ? `<polyline points="${shown.map(([n, i]) => `${f1(x(i))},${f1(sc.y(n.value))}`).join(' ')}" fill="none" stroke="${COLOR.night}" stroke-opacity="0.5"/>` : '';
  const nights = shown.map(([n, i]) =>
    dot(x(i), sc.y(n.value), 3.5, `class="night" fill="${COLOR.night}" data-run="${plain(n.runId, 64)}" data-index="${i}" data-value="${raw(n.value)}"`, `${plain(n.runId, 64)} (${plain(night(n), 16)}) ${plain(n.kernel.release, max)}: ${plain(formatValue(n.value, n.unit), 40)}, median of ${n.boots.length} boot${n.boots.length === 1 ? '' : 's'}`),
  );
  return `${boots.join('')}${line}${nights.join('')}`;
}

function plot(s: HistorySeries, max: number): string {
  const unit = s.nights[0]?.unit ?? '';
  const sc = yScale([...s.nights.flatMap((n) => n.boots), ...s.nights.map((n) => n.value)].filter(finite), FRAME);
  const { x, slot } = slots(s.nights.length);
  const title = `${plain(seriesId(s.key), max)}: ${s.nights.length} night${s.nights.length === 1 ? '' : 's'}, ${s.changePoints.length} change point${s.changePoints.length === 1 ? '' : 's'}`;
  return `${svgOpen(`class="histplot" data-series="${plain(seriesId(s.key), max * 4)}"`, FRAME, title)}${yAxis(sc, unit, FRAME)}${xAxis(s.nights, x, max)}${identityMarks(s.nights, x, max)}${levels(s, sc, x, slot)}${changeMarks(s, x, max)}${points(s, sc, x, slot, max)}</svg>`;
}

function alertFlag(a: MetricAlert): string {
  const pct = a.changePct === null ? '' : ` ${a.changePct >= 0 ? '+' : ''}${a.changePct.toFixed(1)}%`;
  return `<span class="badge bad">regression${pct}</span> <span class="dim">since ${text(a.since.runId, 64)} (${text(a.since.startedAt.slice(0, 10), 16)}), seen by ${text(a.by.join(' and '), 60)}</span>`;
}

function figure(s: HistorySeries, alert: MetricAlert | undefined, max: number): string {
  const last = s.nights[s.nights.length - 1];
  const latest = last ? ` · last ${text(formatValue(last.value, last.unit), 40)} on ${text(last.kernel.release, max)}` : '';
  const caption = `<code>${text(`${s.key.scenario}:${variantName(s.key.variant)}`, max)}</code> <b>${text(s.key.kernel, max)}</b> <code>${text(s.key.metric, max)}</code> ${alert ? alertFlag(alert) : ''}<br><span class="dim">${s.nights.length} night${s.nights.length === 1 ? '' : 's'}${latest}</span>`;
  return `<figure class="histfig${alert ? ' alerted' : ''}" id="series-${escapeHtml(encodeURIComponent(seriesId(s.key)))}"><figcaption>${caption}</figcaption>${plot(s, max)}</figure>`;
}

function alertList(alerts: readonly Alert[], shown: ReadonlySet<string>, max: number): string {
  if (!alerts.length) return '';
  const item = (a: Alert): string => {
    const [first = '', ...rest] = alertText(a).split('\n');
    const id = a.kind === 'regression' ? seriesId(a.key) : undefined;
    const head = id !== undefined && shown.has(id) ? `<a href="#series-${escapeHtml(encodeURIComponent(id))}">${text(first, max * 2)}</a>` : text(first, max * 2);
    return `<li>${head}${rest.length ? `<br><span class="dim">${rest.map((l) => text(l.trim(), max * 2)).join('<br>')}</span>` : ''}</li>`;
  };
  return `<h2>Tonight's alerts <span class="badge bad">${alerts.length}</span></h2><ul class="alerts">${alerts.map(item).join('')}</ul>`;
}

const LEGEND = `<p class="legend dim"><span><b class="lg-night">●</b> the night's value (median of its boots), faint: each boot</span> <span><b class="lg-cp">┆</b> change point: first night of the new level, its size and permutation p</span> <span><b class="lg-id">▲</b> the kernel name stood for another kernel (release, spec or patches) from this night</span></p>`;

/** Two or more nights, every boot the same value (is_dax, iterations): a line, not a plot. */
export function isConstant(s: HistorySeries): boolean {
  const v = s.nights[0]?.boots[0];
  return s.nights.length > 1 && s.nights.every((n) => n.boots.every((b) => b === v));
}

function constantList(series: readonly HistorySeries[], max: number): string {
  if (!series.length) return '';
  const row = (s: HistorySeries): string => {
    const n = s.nights[0] as NightValue;
    return `<li id="series-${escapeHtml(encodeURIComponent(seriesId(s.key)))}"><code>${text(`${s.key.scenario}:${variantName(s.key.variant)}`, max)}</code> <b>${text(s.key.kernel, max)}</b> <code>${text(s.key.metric, max)}</code> = ${text(formatValue(n.value, n.unit), 40)} <span class="dim">on all ${s.nights.length} nights</span></li>`;
  };
  return `<h2 id="constant">Constant</h2><p class="dim">Series whose every boot on every night had the same value: not plotted.</p><ul class="constant">${series.map(row).join('')}</ul>`;
}

/** The whole page: alerted series first, then by metric, then kernel name; constant series listed last. */
export function renderHistoryHtml(all: readonly HistorySeries[], o: HistoryPageOptions = {}): string {
  const max = o.maxCell ?? 300;
  const alerts = o.alerts ?? [];
  const alerted = new Map(alerts.filter((a): a is MetricAlert => a.kind === 'regression').map((a) => [seriesId(a.key), a]));
  const constant = pageOrder(all.filter((s) => isConstant(s) && !alerted.has(seriesId(s.key))), alerted);
  const series = all.filter((s) => !constant.includes(s));
  const ordered = pageOrder(series, alerted);
  const groups: string[] = [];
  let group = '';
  let figs: string[] = [];
  const flush = (): void => {
    if (figs.length) groups.push(`<div class="histfigs">${figs.join('\n')}</div>`);
    figs = [];
  };
  for (const s of ordered) {
    const a = alerted.get(seriesId(s.key));
    const g = a ? 'alerted' : `${s.key.metric}\0${s.key.kernel}`;
    if (g !== group) {
      flush();
      if (a) groups.push(`<h2 id="alerted">Alerted tonight</h2>`);
      else {
        if (group === '' || group === 'alerted' || !group.startsWith(`${s.key.metric}\0`)) groups.push(`<h2 id="metric-${escapeHtml(encodeURIComponent(s.key.metric))}"><code>${text(s.key.metric, max)}</code></h2>`);
        groups.push(`<h3>${text(s.key.kernel, max)}</h3>`);
      }
      group = g;
    }
    figs.push(figure(s, a, max));
  }
  flush();
  const metrics = [...new Set(all.map((s) => s.key.metric))].sort();
  const kernels = new Set(all.map((s) => s.key.kernel));
  const what = o.runId ? `night ${text(o.runId, 80)}` : `${metrics.length} metric${metrics.length === 1 ? '' : 's'}`;
  // A metric whose every series alerted has no heading of its own: its link is the alerted one.
  const headed = [...new Set(ordered.filter((s) => !alerted.has(seriesId(s.key))).map((s) => s.key.metric))].sort();
  const nav = [
    ...(o.reportHref ? [`<a id="report-link" href="${escapeHtml(o.reportHref)}">report</a>`] : []),
    ...(ordered.some((s) => alerted.has(seriesId(s.key))) ? ['<a href="#alerted">alerted tonight</a>'] : []),
    ...headed.map((m) => `<a href="#metric-${escapeHtml(encodeURIComponent(m))}">${text(m, max)}</a>`),
    ...(constant.length ? ['<a href="#constant">constant</a>'] : []),
  ];
  const head = [
    `<h1>daxlab history <span class="dim">${what}</span></h1>`,
    `<p class="dim">${all.length} series${constant.length ? ` (${constant.length} constant)` : ''} of ${metrics.length} metric${metrics.length === 1 ? '' : 's'} on ${kernels.size} kernel name${kernels.size === 1 ? '' : 's'}${o.source ? ` from ${text(o.source, max)}` : ''}; change points by E-Divisive over the nights' values</p>`,
    nav.length ? `<p class="nav">${nav.join(' ')}</p>` : '',
    LEGEND,
  ];
  const body = all.length ? `${groups.join('\n')}\n${constantList(constant, max)}` : '<p>No series: the history database has no per-boot values for this.</p>';
  return htmlPage(`daxlab history: ${what}`, `${CSS}${HISTORY_CSS}`, `${head.join('\n')}\n${alertList(alerts, new Set(series.map((s) => seriesId(s.key))), max)}\n${body}`);
}
