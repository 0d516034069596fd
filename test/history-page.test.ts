// The history page (report/history-html.ts). Pure: a seeded step series whose change point the
// real detector finds, kernel identity changes, hostile releases and metric names, an alerted
// series. Then the whole path without guests: twelve nights made from a real captured run
// (samples 40% slower from night 10, the kernel's release bumped the same night) in a real
// SQLite history file, tonight judged by judgeNight (the nightly's judge), its history.html and
// report.html opened in chromium; and `daxlab history --html` over the same database.
import test, { type ExecutionContext } from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectChangePoints } from '../harness/history/changepoint.ts';
import { openHistoryDb } from '../harness/history/db/connect.ts';
import { importSummary } from '../harness/history/db/import.ts';
import type { NightValue, SeriesKey } from '../harness/history/db/queries.ts';
import { parseDbTarget } from '../harness/history/db/target.ts';
import { syntheticSeries } from '../harness/history/synthetic.ts';
import { metricAlert, type MetricAlert } from '../harness/nightly/alerts.ts';
import { judgeNight, NIGHTLY_AB } from '../harness/nightly/evaluate.ts';
import { loadRunSummary, writeRunReport } from '../harness/report/command.ts';
import { renderHistoryHtml, seriesId, type HistorySeries } from '../harness/report/history-html.ts';
import type { RunEvent } from '../harness/results/events.ts';
import { loadScenarioFile } from '../harness/scenario/load.ts';
import { openFile, openHtml } from './browser.ts';
import { laterNight, readEvents, scaledSamples, scratch, TWO_GUESTS_LOG, writeRun } from './db-fixtures.ts';
import { daxlab, root } from './helpers.ts';

const HOSTILE_RELEASE = '6.12.118</svg><script>document.body.dataset.pwned="release"</script>';
const HOSTILE_METRIC = '</svg><script>document.body.dataset.pwned="metric"</script>iterations';

const kernel = (release: string, patches = 'a1b2c3'): NightValue['kernel'] => ({ spec: 'images/kernels/debug-6.12.yaml', release, identity: { source: 'debian-src', version: '6.12.117-1', patches } });

/** Nights of a series, 3 boots each around the night's value, the kernel as `kernelAt` says. */
function nightsOf(values: readonly number[], kernelAt: (i: number) => NightValue['kernel']): NightValue[] {
  return values.map((v, i) => ({
    runId: `night-${String(i + 1).padStart(2, '0')}`,
    startedAt: `2026-11-${String(i + 1).padStart(2, '0')}T02:00:00Z`,
    value: v,
    boots: [v * 0.995, v, v * 1.004],
    unit: 'us',
    kernel: kernelAt(i),
    conditions: 'tcg thread=single clock=icount cpus=2 mem=2048M',
  }));
}

const series = (key: SeriesKey, nights: NightValue[]): HistorySeries => ({ key, nights, changePoints: detectChangePoints(nights.map((n) => n.value)) });

/** attribute values of every `<tag class="cls" ...>` in document order. */
function marks(html: string, cls: string): { run: string; index: number; title: string }[] {
  return [...html.matchAll(new RegExp(`<g class="${cls}" data-run="([^"]*)" data-index="(\\d+)">.*?<title>([^<]*)</title></g>`, 'g'))].map((m) => ({ run: m[1] ?? '', index: Number(m[2]), title: m[3] ?? '' }));
}

test('renderer: the change point on the night the new level starts, identity changes marked, hostile text inert, the alerted series first', (t) => {
  // Seed 4: one +6-sigma step at night 12 (index); the release changes there too, the patches at night 7.
  const step = syntheticSeries('step', { n: 24, effect: 6, seed: 4, margin: 6 });
  t.deepEqual(step.truth, [12]);
  const key = (metric: string, kernelName = 'mainline-dax'): SeriesKey => ({ kernel: kernelName, scenario: 'truncate-latency', variant: { fs: 'ext4', dax: 'always' }, metric });
  const stepSeries = series(key('truncate.p50'), nightsOf(step.values, (i) => (i >= 12 ? kernel('6.12.118-daxlab-1', 'a1b2c3,d4e5f6') : kernel('6.12.117-daxlab-1', i >= 7 ? 'a1b2c3,d4e5f6' : 'a1b2c3'))));
  t.deepEqual(stepSeries.changePoints.map((c) => c.index), [12], 'the detector finds the step');
  // Flat, on a hostile kernel release from night 5 and under a hostile metric name.
  const flat = syntheticSeries('null', { n: 10, effect: 0, seed: 2 });
  const hostile = series(key(HOSTILE_METRIC, 'stable'), nightsOf(flat.values, (i) => kernel(i >= 4 ? HOSTILE_RELEASE : '6.12.117')));
  // 15 quiet nights then 3 at +10%: the nightly alert fires from the change point.
  const late = nightsOf([...Array(15).fill(100), 110, 110.4, 109.7].map((v, i) => v * (1 + 0.002 * Math.sin(i))), () => kernel('6.12.117'));
  const lateSeries = series(key('truncate_total', 'stable'), late);
  const alert = metricAlert(lateSeries.key, late, 'lower', NIGHTLY_AB) as MetricAlert;
  t.true(alert?.by.includes('change-point'), 'the real alert fires');

  const html = renderHistoryHtml([stepSeries, hostile, lateSeries], { runId: 'night-24', source: 'sqlite:/tmp/h.sqlite', alerts: [alert, { kind: 'new-finding', kernel: 'stable', title: 'WARNING in <b>dax_insert_entry</b>', runId: 'night-18' }] });

  const figs = [...html.matchAll(/<figure class="histfig( alerted)?" id="series-([^"]*)"/g)].map((m) => ({ alerted: Boolean(m[1]), id: decodeURIComponent((m[2] ?? '').replace(/&amp;/g, '&')) }));
  t.deepEqual(figs.map((f) => f.id), [seriesId(lateSeries.key), seriesId(hostile.key), seriesId(stepSeries.key)], 'alerted first, then by metric (hostile name sorts first) and kernel');
  t.deepEqual(figs.map((f) => f.alerted), [true, false, false]);
  t.true(html.indexOf('<h2 id="alerted">Alerted tonight</h2>') < html.indexOf('<figure'), 'under its own heading');
  // Every in-page link lands on an element: truncate_total's only series alerted, so it has no
  // heading of its own and the nav points at the alerted one.
  const targets = new Set([...html.matchAll(/ id="([^"]*)"/g)].map((m) => m[1]));
  const links = [...html.matchAll(/href="#([^"]*)"/g)].map((m) => m[1]);
  t.true(links.includes('alerted'));
  t.deepEqual(links.filter((l) => !targets.has(l)), []);

  const cps = html.split('<figure').map((f) => marks(f, 'cp'));
  t.deepEqual(cps[3]?.map((c) => [c.run, c.index]), [['night-13', 12]], 'the step plot: one change point, on the first night of the new level');
  t.regex(cps[3]?.[0]?.title ?? '', /^change point: new level from night-13 \(2026-11-13, 6\.12\.118-daxlab-1\): median 1\.0\d\d ms -&gt; 1\.0\d\d ms, \+6\.\d% p=0\.005$/);
  t.regex(html, /font-weight="600" fill="#c0392b">\+6\.\d% p=0\.005<\/text>/, 'labelled with its size and p');
  t.deepEqual(cps[1]?.map((c) => c.run), ['night-16'], 'the alerted series: its change point 3 nights before tonight');

  const ids = html.split('<figure').map((f) => marks(f, 'idchange'));
  t.deepEqual(ids[3]?.map((c) => [c.run, c.index]), [['night-08', 7], ['night-13', 12]], 'patches changed on night 8, the release on night 13');
  t.is(ids[3]?.[0]?.title, 'kernel 6.12.117-daxlab-1 from night-08 (2026-11-08): patches a1b2c3 -&gt; a1b2c3,d4e5f6');
  t.is(ids[3]?.[1]?.title, 'kernel 6.12.118-daxlab-1 from night-13 (2026-11-13): release 6.12.117-daxlab-1 -&gt; 6.12.118-daxlab-1');
  t.deepEqual(ids[2]?.map((c) => c.run), ['night-05']);

  t.false(/<script/i.test(html), 'no script element from a release or a metric name');
  t.is(html.match(/<\/svg>/g)?.length, 3, 'no </svg> but the three plots\' own');
  t.true(html.includes('6.12.118&lt;/svg&gt;&lt;script&gt;document.body.dataset.pwned=&quot;release&quot;&lt;/script&gt;'));
  t.true(html.includes('WARNING in &lt;b&gt;dax_insert_entry&lt;/b&gt;'), 'finding alert listed, escaped');
  t.regex(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/);
  // A long release is capped in the tooltips.
  const long = renderHistoryHtml([series(key('x'), nightsOf(flat.values, (i) => kernel(i >= 2 ? 'r'.repeat(5000) : 'r')))], { maxCell: 100 });
  t.false(long.includes('r'.repeat(101)), 'capped');
  // Nights minutes apart on one date are labelled by their time, not the same date five times.
  const sameDay = nightsOf([1, 2, 3], () => kernel('6.12.117')).map((n, i) => ({ ...n, startedAt: `2026-12-02T04:${String(10 + i).padStart(2, '0')}:00Z` }));
  const labels = [...renderHistoryHtml([series(key('y'), sameDay)]).matchAll(/<text x="[^"]*" y="[^"]*" text-anchor="[^"]*">([^<]*)<\/text>/g)].map((m) => m[1]);
  t.true(['12-02 04:10', '12-02 04:11', '12-02 04:12'].every((l) => labels.includes(l)), labels.join('|'));
});

test('renderer in chromium: every plot drawn, markers and tooltips there, no script ran', async (t) => {
  const step = syntheticSeries('step', { n: 24, effect: 6, seed: 4, margin: 6 });
  const key: SeriesKey = { kernel: 'mainline-dax', scenario: 'truncate-latency', variant: { fs: 'xfs', dax: 'always' }, metric: HOSTILE_METRIC };
  const s = series(key, nightsOf(step.values, (i) => kernel(i >= 12 ? HOSTILE_RELEASE : '6.12.117')));
  const single = series({ ...key, kernel: 'one-night' }, nightsOf([5], () => kernel('6.12.117')));
  const { page, errors } = await openHtml(t, renderHistoryHtml([s, single]));
  await checkPage(t, page, errors, { plots: 2, cps: [{ series: seriesId(key), index: 12 }], idchanges: [{ series: seriesId(key), index: 12 }] });
});

interface Expect {
  plots: number;
  cps: { series: string; index: number }[];
  idchanges: { series: string; index: number }[];
}

/** What the browser drew: plots with a size, markers with their titles, points inside, nothing run. */
async function checkPage(t: ExecutionContext, page: Awaited<ReturnType<typeof openFile>>['page'], errors: string[], e: Expect): Promise<void> {
  // Inline arrows only, no named helpers: tsx names functions with a helper the page does not have.
  const got = await page.$$eval('svg.histplot', (svgs) =>
    svgs.map((svg) => ({
      series: svg.getAttribute('data-series') ?? '',
      box: ((r) => ({ x: r.x, y: r.y, w: r.width, h: r.height }))(svg.getBoundingClientRect()),
      cps: [...svg.querySelectorAll('g.cp')].map((g) => ({ index: Number(g.getAttribute('data-index')), title: g.querySelector('title')?.textContent ?? '', h: g.getBoundingClientRect().height })),
      ids: [...svg.querySelectorAll('g.idchange')].map((g) => ({ index: Number(g.getAttribute('data-index')), title: g.querySelector('title')?.textContent ?? '', h: g.getBoundingClientRect().height })),
      points: [...svg.querySelectorAll('circle')].map((c) => ({ ...((r) => ({ x: r.x, y: r.y, w: r.width, h: r.height }))(c.getBoundingClientRect()), title: c.querySelector('title')?.textContent ?? '' })),
      nan: [...svg.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => /NaN|Infinity/.test(a.value))).length,
    })),
  );
  t.is(got.length, e.plots);
  for (const p of got) {
    t.true(p.box.w > 100 && p.box.h > 100, `${p.series}: drawn`);
    t.is(p.nan, 0, `${p.series}: no NaN coordinates`);
    t.true(p.points.length > 0 && p.points.every((c) => c.w > 0 && c.x >= p.box.x && c.x + c.w <= p.box.x + p.box.w && c.y >= p.box.y && c.y + c.h <= p.box.y + p.box.h), `${p.series}: every point inside the plot`);
    t.true(p.points.every((c) => c.title.length > 0), `${p.series}: every point has a tooltip`);
    for (const m of [...p.cps, ...p.ids]) t.true(m.h > 50 && m.title.length > 0, `${p.series}: a marker is drawn across the plot and titled`);
  }
  const flat = (k: 'cps' | 'ids'): { series: string; index: number }[] => got.flatMap((p) => p[k].map((m) => ({ series: p.series, index: m.index })));
  t.deepEqual(flat('cps'), e.cps);
  t.deepEqual(flat('ids'), e.idchanges);
  t.true(got.flatMap((p) => p.cps).every((c) => /^change point: new level from .* p=0\.\d+$/.test(c.title)), 'change point tooltips');
  const state = await page.evaluate(() => ({ scripts: document.querySelectorAll('script').length, pwned: document.body.dataset['pwned'] ?? null, text: document.body.innerText }));
  t.is(state.scripts, 0, 'no script element');
  t.is(state.pwned, null, 'nothing ran');
  t.deepEqual(errors, [], 'no console errors');
}

// ---- the whole path, from real captured runs ----

/** Per-night factor on every sample: 1% jitter, then 40% slower from night 13 (index 12), three nights before tonight's end. */
const FACTORS = [1.0, 1.012, 0.991, 1.004, 0.987, 1.009, 0.996, 1.006, 0.993, 1.002, 0.989, 1.007, 1.41, 1.39, 1.405];
const NIGHTS = FACTORS.length;
const STEP = 12;

/** The kernel of a night: Debian's 6.12.117 package rebuilt on night 5, 6.12.118 from night 13, tonight a hostile release. */
function withKernel(events: RunEvent[], i: number): RunEvent[] {
  const release = i === NIGHTS - 1 ? HOSTILE_RELEASE : i >= STEP ? '6.12.118+deb12-amd64' : '6.12.117+deb12-amd64';
  const version = i >= STEP ? '6.12.118-1~deb12u1' : i >= 4 ? '6.12.117-1~deb12u2' : '6.12.117-1~deb12u1';
  return events.map((e) => (e.type === 'kernel-ready' ? { ...e, kernel: { ...e.kernel, release, identity: { ...e.kernel.identity, version } } } : e));
}

/** A metric name a reproducer printed: hostile. */
function hostileMetric(events: RunEvent[]): RunEvent[] {
  return events.map((e) => (e.type === 'metric' && e.name === 'iterations' ? { ...e, name: HOSTILE_METRIC } : e));
}

function historyNights(t: ExecutionContext): { root: string; dirs: string[] } {
  const dir = scratch(t, 'daxlab-history-page-');
  const tl = readEvents(TWO_GUESTS_LOG);
  const dirs = FACTORS.map((f, i) => writeRun(dir, hostileMetric(withKernel(scaledSamples(laterNight(tl, `202612${String(i + 1).padStart(2, '0')}-193212-aaaa${i.toString(16).padStart(2, '0')}`, i), f), i))));
  return { root: dir, dirs };
}

test('judgeNight writes history.html beside the night from the same database; report.html links it; daxlab history --html over every metric', async (t) => {
  const started = Date.now();
  const { root: dir, dirs } = historyNights(t);
  const target = parseDbTarget(join(dir, 'history.sqlite'));
  const h = await openHistoryDb(target);
  try {
    for (const d of dirs.slice(0, -1)) await importSummary(h, await loadRunSummary(d));
  } finally {
    await h.close();
  }
  const tonightDir = dirs[NIGHTS - 1] as string;
  const tonight = await loadRunSummary(tonightDir);
  const judged = await judgeNight(target, tonight, [await loadScenarioFile(join(root, 'test/data/scenarios/tl-quick/scenario.yaml'))], { pageDir: tonightDir });
  t.log(`${NIGHTS} nights imported and judged: ${Date.now() - started} ms`);
  const page = join(tonightDir, 'history.html');
  t.is(judged.historyPage, page);
  t.regex(judged.dbLine, /imported into sqlite:.*\nhistory page: .*history\.html$/);
  t.deepEqual(readdirSync(tonightDir).filter((f) => f.includes('.tmp-')), [], 'no temp file left');
  const alerted = judged.alerts.filter((a): a is MetricAlert => a.kind === 'regression');
  t.deepEqual(alerted.map((a) => `${seriesId(a.key)} since ${a.since.runId}`).sort(), ['debian:6.12/tl-quick/ext4-dax=always/truncate.p50', 'debian:6.12/tl-quick/xfs-dax=always/truncate.p50'].map((s) => `${s} since 20261213-193212-aaaa0c`));

  const html = readFileSync(page, 'utf8');
  t.is(html.match(/<figure class="histfig alerted"/g)?.length, 2, 'both alerted series flagged');
  // Every other series is flat over the nights (the step is in the samples only): listed, not plotted.
  t.true(html.indexOf('histfig alerted') < html.indexOf('<h2 id="constant">'), 'alerted first');
  t.is(html.match(/<figure class="histfig"/g), null);
  t.is(html.match(/<li id="series-[^"]*"><code>tl-quick:/g)?.length, 6, 'is_dax, truncate_total and the hostile one, of both variants');
  t.true(html.includes('<a id="report-link" href="report.html">'));
  await writeRunReport(tonightDir, tonight);
  const report = await openFile(t, join(tonightDir, 'report.html'));
  const href = await report.page.locator('a#history-link').getAttribute('href');
  t.is(href, 'history.html', 'report.html links the page, relatively');
  t.deepEqual(report.errors, []);

  const { page: p, errors } = await openFile(t, page);
  // The two truncate.p50 series are plotted; the flat ones (truncate_total, is_dax, the hostile one) are listed.
  const cp = (v: string): { series: string; index: number } => ({ series: `debian:6.12/tl-quick/${v}-dax=always/truncate.p50`, index: STEP });
  const ids = (v: string, m: string): { series: string; index: number }[] => [4, STEP, NIGHTS - 1].map((index) => ({ series: `debian:6.12/tl-quick/${v}-dax=always/${m}`, index }));
  const order = ['ext4', 'xfs'].map((v) => `debian:6.12/tl-quick/${v}-dax=always/truncate.p50`);
  await checkPage(t, p, errors, {
    plots: 2,
    cps: [cp('ext4'), cp('xfs')],
    idchanges: order.flatMap((s) => ids(s.split('/')[2]?.split('-')[0] ?? '', s.split('/').slice(3).join('/'))),
  });
  t.deepEqual(await p.$$eval('svg.histplot', (s) => s.map((x) => x.getAttribute('data-series'))), order, 'alerted first, then by metric and kernel');
  const cpTitle = await p.locator('svg.histplot g.cp title').first().textContent();
  t.regex(cpTitle ?? '', /^change point: new level from 20261213-193212-aaaa0c \(2026-12-13, 6\.12\.118\+deb12-amd64\): median .* -> .*, \+\d\d\.\d% p=0\.\d+$/);
  const idTitle = await p.locator('svg.histplot g.idchange title').nth(1).textContent();
  t.is(idTitle, 'kernel 6.12.118+deb12-amd64 from 20261213-193212-aaaa0c (2026-12-13): release 6.12.117+deb12-amd64 -> 6.12.118+deb12-amd64; version 6.12.117-1~deb12u2 -> 6.12.118-1~deb12u1');

  // The same database from the command line: every metric, then one.
  const all = join(dir, 'out', 'all.html');
  const cli = await daxlab(['history', '--html', all, '--db', target.display.replace(/^sqlite:/, '')]);
  t.is(cli.exitCode, 2, 'a directory that does not exist is bad input');
  t.regex(String(cli.stderr), /^daxlab: history: writing .*all\.html: ENOENT: no such file or directory$/m);
  const file = join(dir, 'all.html');
  const ok = await daxlab(['history', '--html', file, '--db', join(dir, 'history.sqlite')]);
  t.is(ok.exitCode, 0, String(ok.all));
  t.regex(String(ok.stdout), /all\.html \(8 series, \d+ KiB\)$/);
  const cliHtml = readFileSync(file, 'utf8');
  t.is(cliHtml.match(/<svg class="histplot"/g)?.length, 2, 'the 2 series that move plotted; the 6 flat ones listed');
  t.regex(cliHtml, /8 series \(6 constant\)/);
  t.false(cliHtml.includes('histfig alerted'), 'no alerts outside a night');
  t.false(/<script/i.test(cliHtml));
  const one = await daxlab(['history', 'truncate.p50', '--kernel', 'debian:6.12', '--html', file, '--db', join(dir, 'history.sqlite')]);
  t.is(one.exitCode, 0, String(one.all));
  t.is(readFileSync(file, 'utf8').match(/<svg class="histplot"/g)?.length, 2);
  const text = await daxlab(['history', '--db', join(dir, 'history.sqlite')]);
  t.is(text.exitCode, 0, String(text.all));
  t.is(String(text.stdout).match(/^debian:6\.12\/tl-quick:\S+ \S+ \(15 nights\)$/gm)?.length, 8, 'text: every series without a metric');
  t.is(String(text.stdout).match(/<- change \+\d+\.\d% p=/g)?.length, 2);
  t.false(existsSync(join(dir, 'out')));
  t.log(`whole test: ${Date.now() - started} ms`);
});
