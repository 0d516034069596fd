// Console and reproducer output are data: escaped in HTML, stripped of terminal controls in text,
// size-capped everywhere, never interpreted. Pure parts get hostile input directly (markup, ESC
// sequences, OSC 52, BEL, NUL, invalid UTF-8, 100 MB lines); one real guest run prints the same
// from a reproducer and /dev/kmsg and every view of the run is checked.
import test from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LineSplitter, parseAgentLine } from '../harness/agent/protocol.ts';
import { CappedLog } from '../harness/console/capture.ts';
import { ConsoleParser } from '../harness/console/parser.ts';
import { readTail } from '../harness/report/command.ts';
import { renderRunHtml } from '../harness/report/html.ts';
import { parseReproOutput } from '../harness/results/output.ts';
import { renderTable, tableRows } from '../harness/results/table.ts';
import type { RunSummary, StepResult } from '../harness/results/types.ts';
import { daxlab } from './helpers.ts';

const MB = 1024 * 1024;
const CLEAR = '\x1b[2J\x1b[H';
const OSC52 = '\x1b]52;c;ZXZpbA==\x07';
const BEL = '\x07';
/** What `Buffer.toString('utf8')` makes of bytes that are not UTF-8, plus a lone surrogate. */
const BAD_UTF8 = Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0xc3, 0x28]).toString('utf8') + '\ud800';
const SCRIPT = "<script>alert('x')</script>";
const HOSTILE = `${SCRIPT}${CLEAR}${OSC52}${BEL}nul:\0:${BAD_UTF8}<img src=x onerror=alert(1)></pre></td></table>`;
/** Terminal controls a table or log line must never carry (tab and newline are layout). */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

/** A temp dir removed when the test ends (some hold tens of MB). */
function scratchDir(t: import('ava').ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'daxlab-untrusted-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function rssMB(): number {
  gc();
  return process.memoryUsage().rss / MB;
}

function step(over: Partial<StepResult> = {}): StepResult {
  return {
    key: 'k/hostile:ext4:always:r1',
    kernel: HOSTILE,
    scenario: 'hostile',
    variant: { fs: 'ext4', dax: 'always' },
    rep: 1,
    boot: 1,
    status: 'fail',
    reason: HOSTILE,
    exitCode: 1,
    durationMs: 1234,
    samples: { [HOSTILE]: { unit: CLEAR, values: [1, 2, 3] } },
    metrics: { [HOSTILE]: { unit: BEL, value: 7 } },
    infos: [HOSTILE],
    output: [HOSTILE, 'x'.repeat(100 * MB)],
    stderr: [HOSTILE],
    findings: [{ kind: 'warning', title: `WARNING in ${HOSTILE}`, corrupted: false, line: 3, allowed: false }],
    finishedAt: '2026-11-23T00:00:00Z',
    ...over,
  };
}

function summary(): RunSummary {
  return {
    schema: 2,
    runId: '20261123-000000-abcdef',
    status: 'completed',
    statusReason: HOSTILE,
    startedAt: '2026-11-23T00:00:00Z',
    finishedAt: '2026-11-23T00:01:00Z',
    command: ['run', HOSTILE],
    host: { hostname: 'h', release: '6.1', cpus: 2, memBytes: 2 * 1024 * MB, node: 'v20', qemu: 'QEMU 7.2' },
    kernels: [
      {
        name: HOSTILE,
        spec: 'debian:6.12',
        release: `6.12${HOSTILE}`,
        banner: HOSTILE,
        identity: { source: HOSTILE },
        accel: { accel: 'tcg', reason: HOSTILE, cached: false, tcgThread: HOSTILE },
        image: { key: 'k', bytes: 1, modules: [], hit: true },
      },
    ],
    scenarios: [{ id: 'hostile', title: HOSTILE, file: 'f', reproducer: HOSTILE, allowFindings: [] }],
    guest: { cpus: 2, memBytes: 2 * 1024 * MB, pmemBytes: 256 * MB, append: [HOSTILE] },
    concurrency: 1,
    phases: { kernelMs: 1 },
    boots: [
      {
        index: 1,
        kernel: HOSTILE,
        argv: ['qemu', HOSTILE],
        end: 'poweroff',
        qemuExitCode: 0,
        qemuSignal: null,
        qemuStderr: HOSTILE,
        timings: { helloMs: 1000, exitMs: 2000 },
        consoleLog: 'console-1.log',
        agentLog: 'agent-1.log',
        guestRelease: HOSTILE,
        setup: [{ n: 1, label: HOSTILE, group: 'g', status: 'done', exitCode: 1, ms: 1, output: [HOSTILE] }],
        warnings: [HOSTILE],
        items: ['k/hostile:ext4:always:r1'],
        artifacts: [{ rule: HOSTILE, why: HOSTILE, title: HOSTILE, line: 1, step: 1, fromStep: 1 }],
      },
    ],
    steps: [step(), step({ key: 'k/hostile:ext4:always:r2', rep: 2, status: 'pass', reason: '' })],
    findings: [
      {
        title: `WARNING in ${HOSTILE}`,
        kind: 'warning',
        count: 2,
        where: [HOSTILE],
        boot: 1,
        consoleLog: 'console-1.log',
        line: 3,
        corrupted: false,
        text: `WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0/0x1\n${HOSTILE}\n${'y'.repeat(100 * MB)}`,
        frames: [],
      },
    ],
    pending: [HOSTILE],
    retries: [{ boot: 1, scope: 'boot', reason: HOSTILE, items: [HOSTILE] }],
  };
}

/** Where `re` matches in a huge page, with a little context: ava would print the whole page. */
function none(t: import('ava').ExecutionContext, html: string, re: RegExp, what: string): void {
  const m = re.exec(html);
  t.is(m ? `${what} at ${m.index}: ${JSON.stringify(html.slice(Math.max(0, m.index - 80), m.index + 80))}` : '', '', what);
}

/** Tags in the page: only the report's own, never one from the data. */
function assertInertHtml(t: import('ava').ExecutionContext, html: string): void {
  none(t, html, /<script/i, 'a script tag');
  none(t, html, /<img/i, 'an img tag');
  none(t, html, /<[^>]*\sonerror=/i, 'an event handler attribute');
  none(t, html, CONTROL, 'a raw control character');
  none(t, html, /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/, 'a lone surrogate');
  t.is((html.match(/<pre[ >]/g) ?? []).length, (html.match(/<\/pre>/g) ?? []).length, 'every <pre> closed by the page itself');
  t.is((html.match(/<table[ >]/g) ?? []).length, (html.match(/<\/table>/g) ?? []).length);
  t.true(html.includes(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`), 'scripts forbidden by policy');
}

test('renderRunHtml escapes, marks controls and caps everything a guest wrote', (t) => {
  const html = renderRunHtml(summary(), [{ boot: 1, file: 'console-1.log', text: `${HOSTILE}\n${'z'.repeat(100 * MB)}`, skippedBytes: 5 }]);
  assertInertHtml(t, html);
  t.true(html.includes("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), 'markup shown as text');
  t.true(html.includes('&lt;img src=x onerror=alert(1)&gt;&lt;/pre&gt;'), 'closing tags in the data stay text');
  t.true(html.includes('<span class="ctl">\\x1b</span>[2J'), 'ESC shown as a mark');
  t.true(html.includes('<span class="ctl">\\x07</span>'), 'BEL shown as a mark');
  t.true(html.includes('nul:<span class="ctl">\\x00</span>:'), 'NUL shown as a mark');
  t.true(html.includes('bad\ufffd\ufffd\ufffd(\ufffd'), 'invalid UTF-8 and the lone surrogate shown as replacement characters');
  // Three 100 MB strings (step output, finding text, console tail) went in.
  t.true(html.length < 2 * MB, `page is ${html.length} characters`);
  t.true(html.includes('more characters not shown'));
});

test('console tails: the serial console\'s CRLF line ends are not shown as controls; a lone CR is', async (t) => {
  // A real capture: QEMU's serial console ends every line with \r\n.
  const log = join(import.meta.dirname, 'data', 'console', 'debian-6.12-sysrq-hung-panic.log');
  const tail = await readTail(log, 64 * 1024);
  if (!tail) return t.fail('no tail');
  t.true(tail.text.includes('\r\n'), 'the capture has CRLF line ends');
  const html = renderRunHtml(summary(), [{ boot: 1, file: 'console-1.log', text: tail.text + 'spinner\rdone\n', skippedBytes: tail.skippedBytes }]);
  const consolePre = html.slice(html.indexOf('<pre class="console">'));
  t.false(consolePre.includes('\\x0d</span>\n'), 'no \\x0d mark at line ends');
  t.true(consolePre.includes('sysrq: Show Blocked State\n'));
  t.true(consolePre.includes('spinner<span class="ctl">\\x0d</span>done'), 'a CR inside a line is still marked');
});

test('renderTable: no terminal controls and bounded cells, whatever the reproducer named its metrics', (t) => {
  const long = `m${'x'.repeat(100 * MB)}`;
  const rows = tableRows([step(), step({ metrics: { [long]: { unit: OSC52, value: 1 } }, rep: 2 })]);
  const out = renderTable(rows);
  t.notRegex(out, CONTROL);
  t.true(out.includes(SCRIPT), 'text stays text: a terminal shows markup literally');
  for (const line of out.split('\n')) t.true(line.length < 2000, `line of ${line.length} characters`);
});

test('parseReproOutput keeps hostile lines as data and names cannot reach Object.prototype', (t) => {
  const lines = [
    HOSTILE,
    '{"type":"sample","name":"__proto__","value":1,"unit":"ns"}',
    '{"type":"sample","name":"constructor","value":2,"unit":"ns"}',
    '{"type":"metric","name":"toString","value":3,"unit":"\\u001b[2J"}',
    '{"type":"metric","name":"__proto__","value":4,"unit":""}',
    `{"type":"verdict","verdict":"pass","reason":${JSON.stringify(HOSTILE)}}`,
    `{${'"a":1,'.repeat(1000)}`, // malformed JSON: kept as text
  ];
  const out = parseReproOutput(lines);
  t.deepEqual(Object.keys(out.samples).sort(), ['__proto__', 'constructor']);
  t.deepEqual(out.samples['constructor']?.values, [2]);
  t.deepEqual(out.samples['__proto__']?.values, [1]);
  t.is(out.metrics['toString']?.value, 3);
  t.is(out.metrics['__proto__']?.value, 4);
  t.is(({} as Record<string, unknown>)['value'], undefined, 'Object.prototype untouched');
  t.is(out.verdict?.reason, HOSTILE);
  t.deepEqual(out.text, [HOSTILE, lines[6]]);
  // Whatever went in, the summary round-trips through JSON.
  t.deepEqual(JSON.parse(JSON.stringify(out)).samples.__proto__.values, [1]);
});

test('parseReproOutput on a 100 MB line does not throw', (t) => {
  const big = `{"type":"info","msg":"${'q'.repeat(100 * MB)}`;
  t.notThrows(() => parseReproOutput([big]));
});

test('LineSplitter cuts a 100 MB line once, drops its rest, and memory stays flat', (t) => {
  const sp = new LineSplitter();
  const chunk = 'A'.repeat(64 * 1024 - 7) + '@@DX 1 ';
  const before = rssMB();
  const got: string[] = [];
  got.push(...sp.push('@@DX 2 out '));
  for (let i = 0; i < 1600; i++) got.push(...sp.push(chunk)); // ~100 MB, no newline
  got.push(...sp.push('end done 0 1\n@@DX 2 end done 0 5\n'));
  const grown = rssMB() - before;
  t.is(got.length, 2, 'the cut line and the next real line');
  t.is(got[0]?.length, 64 * 1024);
  t.deepEqual(parseAgentLine(got[1] ?? ''), { step: 2, event: 'end', status: 'done', exitCode: 0, ms: 5 });
  t.false(got.some((l) => parseAgentLine(l)?.event === 'end' && parseAgentLine(l)?.step === 1), 'no forged event from the middle of a line');
  t.true(grown < 64, `rss grew ${grown.toFixed(0)} MB`);
});

test('CappedLog stores bytes as they came and stops at the cap with a marker', async (t) => {
  const dir = scratchDir(t);
  const file = join(dir, 'console.log');
  const log = new CappedLog(file, MB);
  const raw = Buffer.concat([Buffer.from(HOSTILE, 'latin1'), Buffer.from([0x00, 0xff, 0x1b, 0x07, 0x0a])]);
  log.write(raw);
  const block = Buffer.alloc(MB, 0x41);
  for (let i = 0; i < 100; i++) log.write(block);
  await log.close();
  const data = readFileSync(file);
  t.true(data.subarray(0, raw.length).equals(raw), 'hostile bytes stored verbatim, not interpreted');
  t.is(log.bytesDropped, raw.length + 100 * MB - MB);
  t.true(statSync(file).size < MB + 200);
  t.regex(data.subarray(MB).toString(), /\[daxlab: console truncated at 1048576 bytes; \d+ bytes dropped\]/);
});

test('ConsoleParser: 100 MB lines inside a report keep memory bounded and the report small', (t) => {
  const p = new ConsoleParser();
  const before = rssMB();
  p.push('[    1.000000] ------------[ cut here ]------------');
  p.push('[    1.000001] WARNING: CPU: 0 PID: 1 at mm/x.c:1 victim_fn+0x0/0x10');
  // Distinct huge lines, each dropped after the push: if the parser kept any of them (or a
  // slice that pins it), memory would grow by 100 MB per line.
  for (let i = 0; i < 5; i++) {
    let big: string | undefined = `[    1.00000${i}] ${HOSTILE}${String.fromCharCode(0x61 + i).repeat(100 * MB)}`;
    p.push(big);
    big = undefined;
  }
  const findings = [...p.push('[    1.000009] ---[ end trace 0000000000000000 ]---'), ...p.end()];
  const grown = rssMB() - before;
  t.is(findings.length, 1);
  const f = findings[0];
  t.is(f?.title, 'WARNING in victim_fn');
  t.true((f?.text.length ?? Infinity) < 64 * 1024, `report text ${f?.text.length} characters`);
  t.notRegex(f?.text ?? '', /[\x00-\x08\x0b-\x1f\x7f]/, 'report text scrubbed of controls');
  t.true(grown < 250, `rss grew ${grown.toFixed(0)} MB over 500 MB of input`);
});

test('readTail reads only the end of a huge log and starts at a whole line', async (t) => {
  const dir = scratchDir(t);
  const file = join(dir, 'console-1.log');
  // 20 MB of multi-byte characters, so the cut lands inside one, then a last hostile line.
  writeFileSync(file, Buffer.concat([Buffer.from('é'.repeat(10 * MB) + '\n'), Buffer.from(`last: ${SCRIPT}${CLEAR}\n`)]));
  const tail = await readTail(file, 4096);
  t.truthy(tail);
  t.is(tail?.text, `last: ${SCRIPT}${CLEAR}\n`, 'the partial first line (and half character) dropped');
  t.is(tail?.skippedBytes, 20 * MB + 1);
  t.is(await readTail(join(dir, 'missing.log')), undefined);
});

test('daxlab report writes a bounded, inert page from a run directory', async (t) => {
  const dir = join(scratchDir(t), 'run');
  mkdirSync(dir);
  const s = summary();
  // summary.json as a run writes it: outputs already capped by the runner, still hostile.
  for (const st of s.steps) st.output = [HOSTILE, 'o'.repeat(64 * 1024)];
  for (const f of s.findings) f.text = `${HOSTILE}\n${'f'.repeat(64 * 1024)}`;
  s.boots[0]!.consoleLog = '../../../etc/passwd'; // a path from a file on disk must not leave the run dir
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(s));
  writeFileSync(join(dir, 'passwd'), `${'c'.repeat(30 * MB)}\nconsole tail ${SCRIPT}${OSC52}\n`);
  const r = await daxlab(['report', dir]);
  t.is(r.exitCode, 0, String(r.all));
  t.regex(String(r.stdout), /^\S+\/run\/report\.html \(\d+ KiB\)$/);
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  assertInertHtml(t, html);
  t.true(html.includes('console tail &lt;script&gt;'), 'tail of the log (basename only) shown, escaped');
  t.false(html.includes('root:x:0:0'), 'no file outside the run directory read');
  t.true(statSync(join(dir, 'report.html')).size < 1 * MB);
});

test('a real guest run of a hostile reproducer: completes, and no view of it carries the guest\'s markup or controls', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'daxlab-test-')), 'hostile');
  const r = await daxlab(['run', 'test/data/scenarios/hostile', '--out', out]);
  t.is(r.exitCode, 0, String(r.all));
  const stdout = String(r.stdout);
  t.notRegex(stdout, /[\x00-\x08\x0b-\x1f\x7f]/, 'printed table and summary carry no ESC/BEL/NUL');
  t.notRegex(String(r.stderr), /[\x00-\x08\x0b-\x1f\x7f]/, 'progress log carries none either');
  t.regex(stdout, /hostile\s+ext4-dax=always\s+pass/);

  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
  t.is(s.status, 'completed');
  t.is(s.steps.length, 1, 'a line forging "@@DX 1 end" did not end anything');
  const st = s.steps[0];
  t.is(st?.status, 'pass');
  t.regex(st?.reason ?? '', /<script>alert\('verdict'\)<\/script>/, 'kept as data in summary.json');
  t.true(st?.output.includes("<script>alert('stdout')</script>"));
  t.true((st?.output.find((l) => l.startsWith('AAAA'))?.length ?? Infinity) <= 64 * 1024, 'long line cut');
  t.deepEqual(st?.samples['__proto__']?.values, [3]);
  t.is(st?.metrics['constructor']?.value, 2);
  t.true(s.findings.some((f) => f.kind === 'warning' && f.text.includes("<script>alert('modules')</script>")));

  const html = readFileSync(join(out, 'report.html'), 'utf8');
  assertInertHtml(t, html);
  for (const who of ['stdout', 'stderr', 'verdict', 'modules']) t.true(html.includes(`&lt;script&gt;alert(&#39;${who}&#39;)&lt;/script&gt;`), who);
  t.true(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
  const consoleLog = readFileSync(join(out, 'console-1.log'), 'latin1');
  t.regex(consoleLog, /hostile: <script>alert\('kmsg'\)<\/script>/, 'the console log keeps the raw bytes');
  t.true(html.includes('hostile: &lt;script&gt;alert(&#39;kmsg&#39;)&lt;/script&gt;'), 'console tail in the report, escaped');
});
