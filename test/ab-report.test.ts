// The A/B section of report.html, checked where it matters: in a real browser. The page allows no
// script, so the plots are inline SVG drawn in TypeScript; only a browser says whether they are
// drawn, where the points land, and that hostile patch subjects stay text. Debian's chromium
// driven by playwright-core; without it these tests fail (the CI installs it).
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { openHtml, scratchDir } from './browser.ts';
import { AB_SCHEMA, type AbMetric, type AbReport } from '../harness/ab/types.ts';
import { ciText, pText, renderAbSection, signedPct, spreadText, valueText } from '../harness/report/ab-html.ts';
import { writeRunReport } from '../harness/report/command.ts';
import { renderRunHtml } from '../harness/report/html.ts';
import type { RunSummary } from '../harness/results/types.ts';
import { formatValue } from '../harness/stats/summary.ts';

const SAMPLE = new URL('data/ab/sample-ab.json', import.meta.url);

function sample(): AbReport {
  return JSON.parse(readFileSync(SAMPLE, 'utf8')) as AbReport;
}

/** The run around the comparison: just enough for the rest of the page. */
function summary(r: AbReport): RunSummary {
  const kernels = [...new Map(r.comparisons.flatMap((c) => [c.a, c.b]).map((k) => [k.name, k])).values()];
  return {
    schema: 2,
    runId: r.runId,
    status: 'completed',
    startedAt: '2026-11-23T10:15:00Z',
    finishedAt: r.createdAt,
    command: r.command,
    host: { hostname: 'ci', release: '6.1.0-28-amd64', cpus: 2, memBytes: 8 * 2 ** 30, node: 'v20.20.2', qemu: 'QEMU emulator version 7.2.15' },
    kernels: kernels.map((k) => ({ ...k, banner: `Linux version ${k.release}`, accel: { accel: 'kvm', reason: '/dev/kvm usable', cached: true }, image: { key: 'img', bytes: 12 * 2 ** 20, modules: [], hit: true } })),
    scenarios: [],
    guest: { cpus: 2, memBytes: 2 * 2 ** 30, pmemBytes: 256 * 2 ** 20 },
    concurrency: 1,
    phases: { kernelMs: 1200 },
    boots: [],
    steps: [],
    findings: [],
    pending: [],
  };
}

// One browser for the file; each test gets its own page.
interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}
interface PlotInfo {
  comparison: string;
  key: string;
  kind: string;
  title: string;
  box: Box;
  circles: { side: string; boot: number; value: string; box: Box }[];
  nanAttrs: number;
}

/** Every plot with its drawn box and the box of each point, as the browser laid them out. */
function plots(page: Page): Promise<PlotInfo[]> {
  // Inline arrows only: tsx names declared functions with a helper the page does not have.
  return page.$$eval('svg.abplot', (svgs) =>
    svgs.map((svg) => {
      const b = svg.getBoundingClientRect();
      return {
        comparison: (svg.closest('section.abcmp') as HTMLElement | null)?.dataset['comparison'] ?? '',
        key: svg.getAttribute('data-key') ?? '',
        kind: svg.getAttribute('data-kind') ?? '',
        title: svg.querySelector(':scope > title')?.textContent ?? '',
        box: { x: b.x, y: b.y, w: b.width, h: b.height },
        circles: [...svg.querySelectorAll('circle')].map((c) => {
          const r = c.getBoundingClientRect();
          return { side: c.getAttribute('data-side') ?? '', boot: Number(c.getAttribute('data-boot')), value: c.getAttribute('data-value') ?? '', box: { x: r.x, y: r.y, w: r.width, h: r.height } };
        }),
        nanAttrs: [...svg.querySelectorAll('*')].filter((e) => [...e.attributes].some((a) => /NaN|Infinity/.test(a.value) && a.name !== 'data-value')).length,
      };
    }),
  );
}

function inside(p: Box, o: Box): boolean {
  return p.w > 0 && p.h > 0 && p.x >= o.x && p.y >= o.y && p.x + p.w <= o.x + o.w && p.y + p.h <= o.y + o.h;
}

/** Each plot drawn; one visible point per finite per-boot value, inside the plot, carrying its boot. */
function assertPlots(t: ExecutionContext, r: AbReport, got: PlotInfo[]): void {
  const expected = r.comparisons.flatMap((c, i) => c.metrics.filter((m) => i === 0 || m.verdict !== 'no change').flatMap((m) => ['strip', 'order'].map((kind) => `${c.id} ${m.key} ${kind}`)));
  t.deepEqual(got.map((p) => `${p.comparison} ${p.key} ${p.kind}`).sort(), expected.sort(), 'a strip plot and a run-order plot per metric (bisection steps: those that moved)');
  for (const p of got) {
    const what = `${p.comparison} ${p.key} ${p.kind}`;
    const m = r.comparisons.find((c) => c.id === p.comparison)?.metrics.find((x) => x.key === p.key) as AbMetric;
    t.true(p.box.w > 0 && p.box.h > 0, `${what}: drawn`);
    t.true(p.title.includes(p.key), `${what}: titled`);
    t.is(p.nanAttrs, 0, `${what}: no NaN coordinates`);
    const finite = m.boots.filter((b) => typeof b.value === 'number' && Number.isFinite(b.value));
    t.is(p.circles.length, finite.length, `${what}: one point per boot with a value`);
    t.deepEqual(
      p.circles.map((c) => `${c.side}${c.boot}=${c.value}`).sort(),
      finite.map((b) => `${b.side}${b.boot}=${JSON.stringify(b.value)}`).sort(),
      `${what}: points carry their side, boot and exact value`,
    );
    const outside = p.circles.filter((c) => !inside(c.box, p.box));
    t.deepEqual(outside, [], `${what}: every point visible inside the plot`);
  }
}

type Field = 'a.median' | 'a.stddev' | 'changePct' | 'b.median' | 'b.stddev' | 'ci' | 'p' | 'hl';
const FIELDS: Field[] = ['a.median', 'a.stddev', 'changePct', 'b.median', 'b.stddev', 'ci', 'p', 'hl'];

function rawOf(m: AbMetric, f: Field): unknown {
  const v = f === 'a.median' ? m.a.median : f === 'a.stddev' ? m.a.stddev : f === 'b.median' ? m.b.median : f === 'b.stddev' ? m.b.stddev : m[f];
  return v ?? null;
}

/** What a reader should see: medians and the shift in the metric's units (formatValue). */
function textOf(m: AbMetric, f: Field): string {
  const num = (v: number | null): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  switch (f) {
    case 'a.median':
    case 'b.median': {
      const v = num(f === 'a.median' ? m.a.median : m.b.median);
      return v === null ? '–' : formatValue(v, m.unit);
    }
    case 'hl': {
      const v = num(m.hl);
      return v === null ? '–' : v === 0 ? formatValue(0, m.unit) : `${v > 0 ? '+' : '-'}${formatValue(Math.abs(v), m.unit)}`;
    }
    case 'a.stddev':
      return spreadText(m.a.stddev, m.a.median, m.unit);
    case 'b.stddev':
      return spreadText(m.b.stddev, m.b.median, m.unit);
    case 'changePct':
      return signedPct(m.changePct);
    case 'ci':
      return ciText(m.ci);
    case 'p':
      return pText(m.p);
  }
}

type Rows = Record<string, Record<string, Record<string, { value: string; text: string }>>>;

/** comparison -> metric key -> field -> the cell's data-value and visible text. */
function tableCells(page: Page): Promise<Rows> {
  return page.$$eval('section.abcmp tr[data-key]', (trs) => {
    const out: Record<string, Record<string, Record<string, { value: string; text: string }>>> = {};
    for (const tr of trs) {
      const cmp = (tr.closest('section.abcmp') as HTMLElement).dataset['comparison'] ?? '';
      const cells: Record<string, { value: string; text: string }> = {};
      for (const td of tr.querySelectorAll('td[data-field]')) cells[td.getAttribute('data-field') ?? ''] = { value: td.getAttribute('data-value') ?? '', text: (td as HTMLElement).innerText };
      (out[cmp] ??= {})[tr.getAttribute('data-key') ?? ''] = cells;
    }
    return out;
  });
}

function assertTable(t: ExecutionContext, r: AbReport, rows: Rows): void {
  for (const c of r.comparisons) {
    t.deepEqual(Object.keys(rows[c.id] ?? {}).sort(), c.metrics.map((m) => m.key).sort(), `${c.id}: one row per metric`);
    for (const m of c.metrics) {
      for (const f of FIELDS) {
        const cell = rows[c.id]?.[m.key]?.[f];
        t.deepEqual(cell === undefined ? undefined : JSON.parse(cell.value), rawOf(m, f), `${c.id} ${m.key} ${f}: data-value is ab.json's`);
        t.is(cell?.text, textOf(m, f), `${c.id} ${m.key} ${f}: shown text`);
      }
    }
  }
}

test('report.html with ab.json in chromium: plots drawn, one visible point per boot, table values exact, subjects inert', async (t) => {
  const started = Date.now();
  const r = sample();
  const { page, errors } = await openHtml(t, renderRunHtml(summary(r), [], { ab: r }));

  const got = await plots(page);
  t.is(got.length, 10, 'main: 4 metrics x 2 plots; k2: the regressed metric x 2');
  assertPlots(t, r, got);
  // Both plots of a metric side by side.
  const [strip, order] = got.filter((p) => p.comparison === 'main' && p.key === r.comparisons[0]?.metrics[0]?.key).sort((a, b) => a.box.x - b.box.x);
  t.true(!!strip && !!order && strip.kind === 'strip' && order.kind === 'order' && Math.abs(strip.box.y - order.box.y) < 1 && strip.box.x + strip.box.w <= order.box.x, 'strip and run-order plots side by side');

  assertTable(t, r, await tableCells(page));
  // The format itself, pinned on the 200x regression (LKP's shape, formatValue's units).
  const reg = (await tableCells(page))['main']?.['truncate-latency:ext4:always:truncate'];
  t.deepEqual(
    FIELDS.map((f) => reg?.[f]?.text),
    ['2.103 us', '±1.0%', '+19867%', '419.8 us', '±0.6%', '+19602% … +20138%', '0.0022', '+417.7 us'],
  );

  const page2 = await page.evaluate(() => ({
    scripts: document.querySelectorAll('script').length,
    text: document.body.innerText,
    firstH2: document.querySelector('h2')?.textContent ?? '',
    culprit: document.querySelector('.abculprit')?.textContent ?? '',
    verdicts: [...document.querySelectorAll('tr[data-key] .badge')].map((b) => b.textContent),
  }));
  t.is(page2.scripts, 0, 'no script element: subjects and titles stayed text');
  const subject = r.series[1]?.subject ?? '';
  t.true(subject.includes('<script>') && subject.includes('&'));
  t.true(page2.culprit.includes(`2/4 ${subject}`), `culprit shown literally: ${page2.culprit}`);
  t.true(page2.text.includes(subject), 'subject in the patch list, literally');
  t.true(page2.text.includes(r.comparisons[0]?.newFindings[0]?.title ?? '?'), 'new finding title literally');
  t.true(page2.text.includes(r.verdict), 'verdict line literally');
  t.true(page2.firstH2.startsWith('A/B comparison'), 'the A/B section comes first');
  t.deepEqual(page2.verdicts, r.comparisons.flatMap((c) => c.metrics.map((m) => m.verdict)));
  t.deepEqual(errors, [], 'no console errors');
  t.log(`browser check: ${Date.now() - started} ms`);
});

test('plots in chromium: one repeated value, a single boot on a side, values that are not numbers, a zero median', async (t) => {
  const r = sample();
  const main = r.comparisons[0];
  if (!main) throw new Error('fixture has no main comparison');
  const [truncate, fault, total] = main.metrics as [AbMetric, AbMetric, AbMetric, AbMetric];
  // A single A boot.
  const oneA = truncate.boots.find((b) => b.side === 'A');
  truncate.boots = truncate.boots.filter((b) => b.side === 'B' || b === oneA);
  truncate.a = { ...truncate.a, n: 1, stddev: 0 };
  // Values lost (NaN becomes null in JSON), and statistics that could not be computed.
  const lost = JSON.parse(JSON.stringify({ ...fault, boots: fault.boots.map((b, i) => (i % 4 === 0 ? { ...b, value: NaN } : b)), changePct: null, ratio: null, ci: null, hl: NaN, p: NaN })) as AbMetric;
  main.metrics[1] = lost;
  // All zero: median 0, a flat zero range.
  main.metrics[2] = { ...total, boots: total.boots.map((b) => ({ ...b, value: 0, reps: [0] })), a: { ...total.a, median: 0, stddev: 0 }, b: { ...total.b, median: 0, stddev: 0 } };
  // Only A boots for the last metric: B never produced it.
  const isDax = main.metrics[3] as AbMetric;
  isDax.boots = isDax.boots.filter((b) => b.side === 'A');
  const { page, errors } = await openHtml(t, renderRunHtml(summary(r), [], { ab: r }));
  assertPlots(t, r, await plots(page));
  assertTable(t, r, await tableCells(page));
  const cells = (await tableCells(page))['main']?.[lost.key];
  t.deepEqual([cells?.['changePct']?.text, cells?.['ci']?.text, cells?.['p']?.text, cells?.['hl']?.text], ['–', '–', '–', '–'], 'null and NaN shown as –');
  t.true((await page.locator('svg.abplot[data-kind="strip"]', { hasText: 'not a number' }).count()) === 1, 'lost values are counted on the plot');
  t.deepEqual(errors, []);
});

function runDir(t: ExecutionContext, ab?: unknown): string {
  const dir = scratchDir(t);
  mkdirSync(dir, { recursive: true });
  if (ab !== undefined) writeFileSync(join(dir, 'ab.json'), typeof ab === 'string' ? ab : JSON.stringify(ab));
  return dir;
}

test('writeRunReport puts ab.json first on the page, skips another schema, and the page without it is unchanged', async (t) => {
  const r = sample();
  const s = summary(r);
  const withAb = readFileSync(await writeRunReport(runDir(t, r), s), 'utf8');
  t.true(withAb.includes('<section class="ab" id="ab">'));
  t.true(withAb.indexOf('<section class="ab"') < withAb.indexOf('<h2>Results</h2>'), 'A/B section before the results');
  t.is(withAb, renderRunHtml(s, [], { ab: r }));
  t.false(/<script/i.test(withAb), 'no script tag from a subject or title');

  const plain = renderRunHtml(s);
  t.false(plain.includes('class="ab"') || plain.includes('abplot'), 'no A/B section without ab.json');
  t.is(readFileSync(await writeRunReport(runDir(t), s), 'utf8'), plain);
  t.is(readFileSync(await writeRunReport(runDir(t, { ...r, schema: AB_SCHEMA + 1 }), s), 'utf8'), plain, 'another schema is skipped');
  await t.throwsAsync(writeRunReport(runDir(t, '{"schema":1,'), s), { message: /cannot read .*ab\.json/ });
});

test('renderAbSection: a bisection that did not narrow to one patch shows the remaining range', (t) => {
  const r = sample();
  if (!r.bisection) throw new Error('fixture has no bisection');
  delete r.bisection.culprit;
  r.bisection = { ...r.bisection, status: 'inconclusive', range: { good: 1, bad: 3 }, reason: 'k2 inconclusive after the boot budget' };
  const html = renderAbSection(r);
  t.true(html.includes('the regression is in patches 2..3 of 4'));
  t.false(html.includes('abculprit'));
  t.false(/<script/i.test(html));
  t.true(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; busy-page scans &amp; truncate'), 'subject escaped');
  t.is(valueText(-1500, 'ns', true), '-1.500 us', 'a negative shift keeps its units');
  t.is(spreadText(3, 0, 'ns'), '±3.000 ns', 'spread of a zero median is absolute');
});
