// A run as one self-contained HTML page (results/<run-id>/report.html). Pure. Everything in it
// that came from a guest (console text, reproducer output, finding titles, even step keys built
// from scenario files) is untrusted: it is escaped, stripped of control characters, and capped,
// and the page forbids scripts outright so a missed escape still cannot run anything.
import { phasesText } from '../results/boot-phases.ts';
import type { AbReport } from '../ab/types.ts';
import { formatFrame } from '../console/symbolize.ts';
import { variantName } from '../plan/plan.ts';
import { oneShotText } from '../results/once.ts';
import { describeOverrides } from '../scenario/overrides.ts';
import { runOutcome, tableRows } from '../results/table.ts';
import type { BootRecord, RunFinding, RunSummary, StepResult } from '../results/types.ts';
import { describe, formatValue } from '../stats/summary.ts';
import { AB_CSS, renderAbSection } from './ab-html.ts';

/** The tail of one boot's console log, as read by the caller (bounded there too). */
export interface ConsoleExcerpt {
  boot: number;
  file: string;
  /** Text of the excerpt; capped again here. */
  text: string;
  /** Bytes of the log before the excerpt that are not shown. */
  skippedBytes: number;
}

export interface RenderOptions {
  /** Characters of one <pre> block (a finding's report, an excerpt, a step's output). */
  maxBlock?: number;
  /** Characters of one table cell or title. */
  maxCell?: number;
  /** Output/stderr lines shown per step. */
  maxStepLines?: number;
}

const DEFAULTS: Required<RenderOptions> = { maxBlock: 64 * 1024, maxCell: 300, maxStepLines: 200 };

/**
 * Shown, not interpreted: C0/C1 controls (ESC of terminal sequences, BEL, NUL...) become a
 * visible `\xNN` mark; tab and newline stay. Input must already be HTML-escaped.
 */
export function markControls(escaped: string): string {
  return escaped.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => `<span class="ctl">\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}</span>`);
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** Cap first (so a 100 MB string is never copied whole), then make it visible and escape it. */
export function text(s: string, max: number): string {
  const cut = s.length > max;
  const head = cut ? s.slice(0, max) : s;
  // A cut through a surrogate pair would leave half a character.
  const safe = cut && /[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head;
  // Lone surrogates (JSON can carry them) are not characters: show the replacement character.
  // CRLF is the serial console's line end, not a control worth showing; a lone CR still is.
  const whole = safe.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD').replace(/\r+\n/g, '\n');
  return markControls(escapeHtml(whole)) + (cut ? `<span class="cut">… [${s.length - safe.length} more characters not shown]</span>` : '');
}

function pre(s: string, o: Required<RenderOptions>, cls = ''): string {
  return `<pre${cls ? ` class="${cls}"` : ''}>${text(s, o.maxBlock)}</pre>`;
}

function linesBlock(lines: string[], o: Required<RenderOptions>): string {
  const shown = lines.slice(0, o.maxStepLines);
  const more = lines.length - shown.length;
  // Each line is capped on its own so one huge line cannot push the others out.
  return pre(shown.map((l) => (l.length > o.maxCell * 4 ? l.slice(0, o.maxCell * 4) + ` … [${l.length - o.maxCell * 4} more characters]` : l)).join('\n'), o) + (more > 0 ? `<p class="cut">${more} more lines in steps.jsonl</p>` : '');
}

const STATUS_CLASS: Record<string, string> = { pass: 'ok', skip: 'skip', fail: 'bad', error: 'bad', timeout: 'bad', hung: 'bad', crashed: 'bad', completed: 'ok', running: 'skip', interrupted: 'bad', failed: 'bad' };

function badge(status: string, o: Required<RenderOptions>): string {
  const worst = status.split(/[ ,]/)[0] ?? status;
  return `<span class="badge ${STATUS_CLASS[worst] ?? 'skip'}">${text(status, o.maxCell)}</span>`;
}

function secs(ms: number | undefined): string {
  return ms === undefined ? '–' : `${(ms / 1000).toFixed(1)} s`;
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}

function kv(rows: [string, string][]): string {
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function resultsTable(s: RunSummary, o: Required<RenderOptions>): string {
  const byKernel = s.kernels.length > 1;
  const rows = tableRows(s.steps, { byKernel });
  if (rows.length === 0) return '<p>No step finished.</p>';
  const showFindings = rows.some((r) => r.findings);
  const head = [...(byKernel ? ['kernel'] : []), 'scenario', 'variant', 'verdict', 'metrics', ...(showFindings ? ['console findings'] : [])];
  const body = rows
    .map((r) => `<tr>${byKernel ? `<td>${text(r.kernel ?? '', o.maxCell)}</td>` : ''}<td>${text(r.scenario, o.maxCell)}</td><td>${text(r.variant, o.maxCell)}</td><td>${badge(r.verdict, o)}</td><td>${r.metrics.map((m) => text(m, o.maxCell)).join('; ')}</td>${showFindings ? `<td>${text(r.findings, o.maxCell)}</td>` : ''}</tr>`)
    .join('\n');
  return `<table class="grid"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function stepSection(st: StepResult, o: Required<RenderOptions>): string {
  const metrics = Object.entries(st.metrics).map(([k, m]) => `<li><code>${text(k, o.maxCell)}</code> = ${text(formatValue(m.value, m.unit), o.maxCell)}</li>`);
  const samples = Object.entries(st.samples).map(([k, sm]) => {
    const d = describe(sm.values);
    const f = (v: number): string => text(formatValue(v, sm.unit), o.maxCell);
    return `<li><code>${text(k, o.maxCell)}</code>: n=${d.n}, min ${f(d.min)}, p50 ${f(d.median)}, p90 ${f(d.p90)}, p99 ${f(d.p99)}, max ${f(d.max)}</li>`;
  });
  const findings = st.findings.map((f) => `<li>${text(f.title, o.maxCell)} <span class="dim">[${text(f.kind, 40)}${f.allowed ? ', allowed' : ''}${f.corrupted ? ', corrupted' : ''}] console line ${f.line}</span></li>`);
  const parts = [
    `<h3 id="step-${escapeHtml(encodeURIComponent(st.key))}">${text(st.scenario, o.maxCell)} <span class="dim">${text(variantName(st.variant), o.maxCell)} · rep ${st.rep} · boot ${st.boot}</span> ${badge(st.status, o)}</h3>`,
    kv([
      ['reason', st.reason ? text(st.reason, o.maxCell * 4) : '<span class="dim">–</span>'],
      ['exit code', st.exitCode === null ? '–' : String(st.exitCode)],
      ['duration', secs(st.durationMs)],
    ]),
  ];
  if (metrics.length || samples.length) parts.push(`<ul class="metrics">${[...metrics, ...samples].join('')}</ul>`);
  if (st.infos.length) parts.push(`<p class="dim">reproducer notes:</p>${linesBlock(st.infos, o)}`);
  if (findings.length) parts.push(`<p>console findings in this step:</p><ul>${findings.join('')}</ul>`);
  if (st.output.length) parts.push(`<details><summary>output (${st.output.length} lines)</summary>${linesBlock(st.output, o)}</details>`);
  if (st.stderr.length) parts.push(`<details${st.status === 'pass' ? '' : ' open'}><summary>stderr (${st.stderr.length} lines)</summary>${linesBlock(st.stderr, o)}</details>`);
  return `<section class="step">${parts.join('\n')}</section>`;
}

function findingSection(f: RunFinding, o: Required<RenderOptions>): string {
  const where = f.where.slice(0, 20).map((w) => text(w, o.maxCell)).join(', ') + (f.where.length > 20 ? ` (+${f.where.length - 20})` : '');
  return `<section class="finding"><h3>${text(f.title, o.maxCell)} <span class="badge bad">${text(f.kind, 40)}</span> <span class="dim">×${f.count}${f.corrupted ? ' · corrupted report' : ''}</span></h3>
<p class="dim">in ${where} · first at ${text(f.consoleLog, 80)}:${f.line} (boot ${f.boot})</p>
${pre(f.text, o)}${decodedStack(f, o)}</section>`;
}

/** The stack with file:line, when the run decoded it (console/symbolizer.ts). */
function decodedStack(f: RunFinding, o: Required<RenderOptions>): string {
  if (!f.frames.some((fr) => fr.file !== undefined)) return '';
  return `\n<p class="dim">stack with source lines:</p>${pre(f.frames.map(formatFrame).join('\n'), o, 'stack')}`;
}

function bootSection(b: BootRecord, o: Required<RenderOptions>): string {
  const t = b.timings;
  const setupBad = b.setup.filter((x) => x.status !== 'done' || (x.exitCode !== 0 && x.exitCode !== null));
  const rows: [string, string][] = [
    ['end', `${text(b.end, o.maxCell)}${b.qemuExitCode !== null ? ` (QEMU exit ${b.qemuExitCode})` : ''}${b.qemuSignal ? ` (QEMU signal ${text(b.qemuSignal, 20)})` : ''}`],
    ['agent up', secs(t.helloMs)],
    ['ready', secs(t.readyMs)],
    ['first step', secs(t.firstStepMs)],
    ['bye', secs(t.byeMs)],
    ['QEMU exit', secs(t.exitMs)],
    ...(b.phases ? ([['QEMU start → first reproducer', `${secs(b.phases.toFirstReproMs)} <span class="dim">(${escapeHtml(phasesText(b.phases))}${b.phases.furtherSetups.length ? `; further setups ${b.phases.furtherSetups.map((f) => secs(f.ms)).join(', ')}` : ''})</span>`]] as [string, string][]) : []),
    ...(b.pmem ? ([['fsdax namespace', b.pmem.how === 'template' ? `pmem template <code>${text(b.pmem.template ?? '', 40)}</code> <span class="dim">(${text(b.pmem.made ?? '', o.maxCell)}${b.setup[0]?.output[0] ? `; guest: ${text(b.setup[0].output[0], o.maxCell)}` : ''})</span>` : text(b.pmem.made ?? 'made in the guest', o.maxCell)]] as [string, string][]) : []),
    ['guest kernel', b.guestRelease ? text(b.guestRelease, o.maxCell) : '–'],
    ['runs', String(b.items.length)],
    ['logs', `${text(b.consoleLog, 80)}, ${text(b.agentLog, 80)}`],
  ];
  const parts = [`<h3>boot ${b.index}</h3>`, kv(rows)];
  if (b.warnings.length) parts.push(`<p>agent warnings:</p>${linesBlock(b.warnings, o)}`);
  for (const x of setupBad) parts.push(`<p>setup <code>${text(x.label, o.maxCell)}</code>: ${text(x.status, 20)}${x.exitCode !== null ? ` (exit ${x.exitCode})` : ''}</p>${x.output.length ? linesBlock(x.output, o) : ''}`);
  if (b.qemuStderr.trim()) parts.push(`<details><summary>QEMU stderr</summary>${pre(b.qemuStderr, o)}</details>`);
  if (b.argv.length) parts.push(`<details><summary>QEMU command line</summary>${pre(b.argv.join(' '), o)}</details>`);
  return `<section class="boot">${parts.join('\n')}</section>`;
}

/** The report pages' look; the history page uses it too. */
export const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1150px;padding:16px 24px;color:#1d2329;background:#fff}
h1{font-size:22px;margin:4px 0 2px}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #d8dee4;padding-bottom:4px}h3{font-size:14.5px;margin:14px 0 6px}
.dim{color:#626b75;font-weight:normal}code,pre{font:12.5px/1.4 ui-monospace,"DejaVu Sans Mono",monospace}
pre{background:#f5f7f9;border:1px solid #e1e5ea;border-radius:4px;padding:8px 10px;overflow:auto;max-height:420px;white-space:pre-wrap;overflow-wrap:anywhere}
table.grid{border-collapse:collapse;width:100%}table.grid th,table.grid td{border-bottom:1px solid #e1e5ea;padding:5px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
table.grid th{background:#f0f3f6;font-weight:600;white-space:nowrap}table.grid td:nth-child(-n+3){white-space:nowrap}
.ctl{color:#8e1b16;background:#fde2e1;border-radius:2px;font:11px ui-monospace,monospace;padding:0 1px}
table.kv{border-collapse:collapse}table.kv th{text-align:left;font-weight:600;padding:2px 14px 2px 0;vertical-align:top;white-space:nowrap;color:#414a53}table.kv td{padding:2px 0;overflow-wrap:anywhere}
.badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;font-weight:600;white-space:nowrap}
.ok{background:#dcf3e1;color:#14632b}.bad{background:#fde2e1;color:#8e1b16}.skip{background:#eceff2;color:#4a535c}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(330px,1fr));gap:4px 28px}
section.step,section.finding,section.boot{border-left:3px solid #e1e5ea;padding-left:12px;margin:10px 0 18px}
ul.metrics{margin:4px 0;padding-left:20px}.cut{color:#8a5a00;font-style:italic}summary{cursor:pointer;color:#30506f}
`;

/**
 * The report page. `consoleExcerpts` are tails of the console logs, shown at the end; `ab` (the
 * run's ab.json) adds the A/B comparison, first in the body; `historyHref` links the night's
 * history page (nightly runs) from the header.
 */
export function renderRunHtml(summary: RunSummary, consoleExcerpts: ConsoleExcerpt[] = [], opts: RenderOptions & { ab?: AbReport | undefined; historyHref?: string | undefined } = {}): string {
  const { ab, historyHref, ...caps } = opts;
  const o = { ...DEFAULTS, ...caps };
  const s = summary;
  // The badge is what was measured (pass/fail counts); whether the run finished sits beside it.
  const outcome = runOutcome(s.steps.map((st) => st.status));
  const phases = Object.entries(s.phases).map(([k, ms]) => `${escapeHtml(k.replace(/Ms$/, ''))} ${secs(ms)}`).join(' · ');
  const head = [
    `<h1>daxlab run ${text(s.runId, 80)} <span class="badge ${outcome.ok ? 'ok' : 'bad'}" id="outcome">${escapeHtml(outcome.text)}</span> <span class="dim" id="run-state">run ${escapeHtml(s.status)}</span></h1>`,
    ...(historyHref ? [`<p class="nav"><a id="history-link" href="${escapeHtml(historyHref)}">history</a> <span class="dim">each metric of this night's kernels over the nights, change points marked</span></p>`] : []),
    `<p class="dim">${[s.statusReason ? text(s.statusReason, o.maxCell * 2) : '', s.pending.length ? `${s.pending.length} not run (resume with <code>daxlab run --resume ${text(s.runId, 80)}</code>)` : ''].filter(Boolean).join(' · ')}</p>`,
    `<div class="cols">`,
    kv([
      ...s.kernels.flatMap((k): [string, string][] => [
        [s.kernels.length > 1 ? `kernel ${text(k.name, 64)}` : 'kernel', `${text(k.release, o.maxCell)} <span class="dim">(${text(k.spec, o.maxCell)})</span>`],
        ['banner', text(k.banner, o.maxCell)],
        ['identity', text(Object.entries(k.identity).map(([a, v]) => `${a}=${v}`).join(' '), o.maxCell * 2)],
        ['accelerator', `${text(k.accel.accel, 20)}${k.accel.tcgThread ? ` thread=${text(k.accel.tcgThread, 10)}` : ''} <span class="dim">(${text(k.accel.reason, o.maxCell)}${k.accel.cached ? ', cached verdict' : ''})</span>`],
        ['image', `${text(k.image.key, 40)}, ${bytes(k.image.bytes)}${k.image.hit ? ' (cached)' : ''}, ${k.image.modules.length} modules`],
      ]),
      ['guest', `${s.guest.cpus} CPUs, ${bytes(s.guest.memBytes)} RAM, ${bytes(s.guest.pmemBytes)} NVDIMM${s.concurrency > 1 ? `, up to ${s.concurrency} at once` : ''}`],
    ]),
    kv([
      ['host', `${text(s.host.hostname, 80)} · Linux ${text(s.host.release, 80)} · ${s.host.cpus} CPUs · ${bytes(s.host.memBytes)}`],
      ['tools', `${text(s.host.qemu, o.maxCell)} · node ${text(s.host.node, 40)}`],
      ['started', text(s.startedAt, 40)],
      ['finished', text(s.finishedAt ?? '–', 40)],
      ['command', `<code>daxlab ${text(s.command.join(' '), o.maxCell * 2)}</code>`],
      ['scenarios', s.scenarios.map((x) => `${text(x.id, 80)} <span class="dim">${text(x.reproducer, o.maxCell)}</span>`).join('<br>')],
      ...(s.overrides ? [['overrides', text(describeOverrides(s.overrides), o.maxCell * 2)] as [string, string]] : []),
    ]),
    `</div>`,
    `<p class="dim">time: ${phases || '–'}</p>`,
  ];
  const body = [
    ...(ab ? [renderAbSection(ab, { maxCell: o.maxCell })] : []),
    `<h2>Results</h2>`,
    resultsTable(s, o),
    `<h2>Console findings</h2>`,
    s.findings.length ? s.findings.map((f) => findingSection(f, o)).join('\n') : '<p>None: no lockdep report, WARN, BUG, oops, hung task or panic on the console.</p>',
    ...(s.oneShot ?? []).map((n) => `<p class="note oneshot">${text(oneShotText(n), o.maxCell * 4)}</p>`),
    `<h2>Steps</h2>`,
    s.steps.length ? s.steps.map((st) => stepSection(st, o)).join('\n') : '<p>No step finished.</p>',
    s.pending.length ? `<p>Not run: ${s.pending.map((k) => `<code>${text(k, o.maxCell)}</code>`).join(', ')}</p>` : '',
    `<h2>Boots</h2>`,
    s.boots.map((b) => bootSection(b, o)).join('\n') || '<p>No boot.</p>',
  ];
  if (consoleExcerpts.length) {
    body.push(`<h2>Console logs (tails)</h2>`);
    for (const c of consoleExcerpts) {
      body.push(`<details><summary>boot ${c.boot}: ${text(c.file, 80)}${c.skippedBytes > 0 ? ` (last part; ${bytes(c.skippedBytes)} before it not shown)` : ''}</summary>${pre(c.text, o, 'console')}</details>`);
    }
  }
  const title = `daxlab ${text(s.runId, 80)}: ${escapeHtml(outcome.text)}${s.status === 'completed' ? '' : ` (${escapeHtml(s.status)})`}`;
  return htmlPage(title, `${CSS}${ab ? AB_CSS : ''}`, `${head.join('\n')}\n${body.join('\n')}`);
}

/**
 * A whole page around escaped `title` and `body`: the policy allows inline styles and nothing
 * else, so no script runs and nothing is fetched, whatever slipped through the escaping.
 */
export function htmlPage(title: string, style: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>${style}</style></head>
<body>
${body}
</body></html>
`;
}
