// JUnit XML of real runs (harness/export/junit.ts): parsed back by a strict XML parser, checked by
// libxml2 against the shape CI reporters read (test/data/junit/junit-ci.xsd), and read for what
// a CI page shows: verdicts, findings as failures, metrics as properties, hostile guest text.
import test from 'ava';
import { JUNIT_OUTCOME, REPORT_CHARS, renderJunit } from '../harness/export/junit.ts';
import { child, children, copyRun, HOSTILE_TITLE, hostileRun, lockdepSummary, parseXml, props, SEGV_RUN, summaryOf, TWO_GUESTS_LOG, xmllint } from './export-data.ts';

test('segv-and-pass: the SIGSEGV step is an <error>, the pass a plain testcase with its samples and metrics as properties', async (t) => {
  const s = summaryOf(copyRun(t, SEGV_RUN));
  const j = renderJunit(s);
  t.deepEqual(await xmllint(j.xml), { valid: true, errors: [] });
  const root = child(parseXml(j.xml), 'testsuites');
  t.is(root.getAttribute('tests'), '2');
  t.is(root.getAttribute('errors'), '1');
  t.is(root.getAttribute('failures'), '0');
  t.deepEqual(children(root, 'testsuite').map((x) => x.getAttribute('name')), ['segv', 'tl-one'], 'one suite per scenario; one kernel, so no kernel prefix');

  const [segv, tl] = children(root, 'testsuite').map((x) => child(x, 'testcase'));
  if (!segv || !tl) return t.fail();
  t.is(segv.getAttribute('name'), 'debian:6.12/segv:ext4:always:r1', 'the work item key');
  t.is(segv.getAttribute('classname'), 'debian:6.12/segv');
  t.is(segv.getAttribute('time'), '0.420');
  const err = child(segv, 'error');
  t.is(err.getAttribute('message'), 'killed by SIGSEGV');
  t.regex(err.textContent ?? '', /exit code: 139/);
  t.deepEqual(children(segv, 'failure'), []);
  t.is(props(segv).get('sample.before_crash.n'), '1', 'what a crashing step measured before it died is kept');

  t.deepEqual([...children(tl, 'error'), ...children(tl, 'failure'), ...children(tl, 'skipped')], []);
  const p = props(tl);
  t.is(p.get('sample.truncate.n'), '10');
  t.is(p.get('sample.truncate.unit'), 'ns');
  // The ten real samples: median 180769 ns (the results table's p50), p99 near the 5.47 ms outlier.
  t.is(p.get('sample.truncate.p50'), '180769');
  t.is(Number(p.get('sample.truncate.p99')).toFixed(0), '5390963');
  t.is(p.get('metric.truncate_total'), '0.011575927');
  t.is(p.get('metric.truncate_total.unit'), 's');
  t.is(p.get('status'), 'pass');

  const suite = props(child(root, 'testsuite'));
  t.is(suite.get('kernel.identity.version'), '6.12.117-1~deb12u1');
  t.is(suite.get('accel'), 'tcg');
  t.is(suite.get('run.id'), s.runId);
});

test('every daxlab verdict maps to what a CI reporter counts: failures for the kernel, errors for the harness', (t) => {
  t.deepEqual(JUNIT_OUTCOME, { pass: 'pass', fail: 'failure', hung: 'failure', crashed: 'failure', error: 'error', timeout: 'error', skip: 'skipped' });
  const s = summaryOf(copyRun(t, SEGV_RUN));
  const base = s.steps[1];
  if (!base) return t.fail();
  const steps = (['fail', 'hung', 'crashed', 'timeout', 'skip'] as const).map((status, i) => ({ ...base, key: `${base.key}-${status}`, status, reason: `${status} reason ${i}` }));
  const doc = parseXml(renderJunit({ ...s, steps }).xml);
  const cases = children(child(child(doc, 'testsuites'), 'testsuite'), 'testcase');
  t.deepEqual(
    cases.map((c) => [c.getAttribute('name')?.split('-').pop(), ['failure', 'error', 'skipped'].filter((tag) => children(c, tag).length).join()]),
    [['fail', 'failure'], ['hung', 'failure'], ['crashed', 'failure'], ['timeout', 'error'], ['skip', 'skipped']],
  );
  t.is(child(cases[4] as never, 'skipped').getAttribute('message'), 'skip reason 4');
});

test('a lockdep finding is a <failure> with its kind and report; two kernels give kernel/scenario suites', async (t) => {
  const s = lockdepSummary(t);
  const j = renderJunit(s);
  t.deepEqual(await xmllint(j.xml), { valid: true, errors: [] });
  const root = child(parseXml(j.xml), 'testsuites');
  const suites = children(root, 'testsuite');
  t.deepEqual(suites.map((x) => x.getAttribute('name')), ['patched/truncate-latency', 'base/truncate-latency']);
  t.deepEqual(suites.map((x) => [x.getAttribute('tests'), x.getAttribute('failures'), x.getAttribute('errors')]), [['8', '1', '0'], ['8', '0', '0']]);
  t.is(props(suites[0] as never).get('kernel.identity.patches'), s.kernels[0]?.identity['patches']);

  const bad = children(suites[0] as never, 'testcase').find((c) => c.getAttribute('name') === 'patched/truncate-latency:ext4:always:r0@1');
  if (!bad) return t.fail();
  const failures = children(bad, 'failure');
  t.is(failures.length, 2, 'the verdict and the finding');
  t.regex(failures[0]?.getAttribute('message') ?? '', /^kernel reported: possible deadlock in dax_layout_busy_page_range/);
  t.is(failures[1]?.getAttribute('type'), 'lockdep-circular');
  t.is(failures[1]?.getAttribute('message'), 'possible deadlock in dax_layout_busy_page_range');
  t.regex(failures[1]?.textContent ?? '', /console-1\.log line 237/);
  t.regex(failures[1]?.textContent ?? '', /WARNING: possible circular locking dependency detected/, "the kernel's own report");
  t.is(props(bad).get('slot'), '1');
  t.is(props(bad).get('sample.truncate.n'), '100');
  t.is(j.failures, 1);
  t.is(j.tests, 16);
});

test('an allowed finding does not fail the step: it is noted in system-out', (t) => {
  const s = lockdepSummary(t);
  const steps = s.steps.map((x) => ({ ...x, status: 'pass' as const, findings: x.findings.map((f) => ({ ...f, allowed: true })) }));
  const doc = parseXml(renderJunit({ ...s, steps }).xml);
  const bad = children(children(child(doc, 'testsuites'), 'testsuite')[0] as never, 'testcase')[0];
  if (!bad) return t.fail();
  t.deepEqual(children(bad, 'failure'), []);
  t.regex(child(bad, 'system-out').textContent ?? '', /^allowed by the scenario: possible deadlock in dax_layout_busy_page_range \[lockdep-circular\] \(console line 237\)/);
});

test('hostile guest text: control characters and non-characters gone, markup stays text, reports capped', async (t) => {
  const s = summaryOf(hostileRun(t));
  const j = renderJunit(s);
  t.deepEqual(await xmllint(j.xml), { valid: true, errors: [] });
  t.false(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]/u.test(j.xml), 'nothing XML 1.0 forbids, no C1, no lone surrogate');
  t.false(j.xml.includes('<script>'), 'markup from the guest is escaped');
  const tc = child(child(child(parseXml(j.xml), 'testsuites'), 'testsuite'), 'testcase');
  const err = child(tc, 'error');
  // The reason is one line: the CR LF became a space; the ESC sequence went whole.
  t.is(err.getAttribute('message'), 'killed by NUL BEL red C1: lone: nonchar: cdata:]]> tag:</failure><script>alert(1)</script> amp:& quote:" apos:\' crlf: second line');
  const f = child(tc, 'failure');
  t.is(f.getAttribute('message'), HOSTILE_TITLE);
  const body = f.textContent ?? '';
  t.true(body.length <= REPORT_CHARS, `report capped (${body.length})`);
  t.regex(body, /tag:<\/failure><script>alert\(1\)<\/script>/, 'the text survives as text');
  t.regex(body, /\[\.\.\. \d+ more characters cut\]$/);
  t.false(body.includes('END-OF-REPORT'));
  const out = child(tc, 'system-out').textContent ?? '';
  t.true(out.length < 8300, `output capped (${out.length})`);
  t.true([...props(tc).keys()].some((k) => k.startsWith('metric.m<&"x"')), 'a metric name with markup is a property name, escaped');
});

test('xmllint rejects what the sanitiser removes (the check has teeth)', async (t) => {
  const r = await xmllint('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites><testsuite name="a\u0001" tests="0" failures="0" errors="0"/></testsuites>\n');
  t.false(r.valid);
  const r2 = await xmllint('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites><testsuite name="a" tests="1" failures="0" errors="0"><testcase/></testsuite></testsuites>\n');
  t.false(r2.valid, 'a testcase without a name is not what reporters read');
});

test('two guests of one run: one suite, both steps, times and a UTC timestamp in Ant form', async (t) => {
  const s = summaryOf(copyRun(t, TWO_GUESTS_LOG));
  const j = renderJunit(s);
  t.deepEqual(await xmllint(j.xml), { valid: true, errors: [] });
  const suite = child(child(parseXml(j.xml), 'testsuites'), 'testsuite');
  t.is(suite.getAttribute('name'), 'tl-quick');
  t.deepEqual(children(suite, 'testcase').map((c) => c.getAttribute('name')), s.steps.map((x) => x.key));
  t.regex(suite.getAttribute('timestamp') ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  const sum = s.steps.reduce((a, x) => a + x.durationMs, 0) / 1000;
  t.is(suite.getAttribute('time'), sum.toFixed(3));
});

test('work items a run never reached are <error>s that say why', (t) => {
  const s = summaryOf(copyRun(t, SEGV_RUN));
  const pendingKey = 'debian:6.12/tl-one:xfs:never:r2';
  const doc = parseXml(renderJunit({ ...s, status: 'interrupted', pending: [pendingKey] }).xml);
  const tc = children(children(child(doc, 'testsuites'), 'testsuite')[1] as never, 'testcase').find((c) => c.getAttribute('name') === pendingKey);
  if (!tc) return t.fail();
  t.is(child(tc, 'error').getAttribute('type'), 'not-run');
  t.regex(child(tc, 'error').getAttribute('message') ?? '', /interrupted \(daxlab run --resume \S+ runs the rest\)/);
});

test('a kernel report during setup (mkfs, mount) is a failing testcase of its own', (t) => {
  const s = summaryOf(copyRun(t, SEGV_RUN));
  const f = lockdepSummary(t).findings[0];
  if (!f) return t.fail();
  const doc = parseXml(renderJunit({ ...s, findings: [{ ...f, where: ['boot 1: mkfs ext4'] }] }).xml);
  const suite = children(child(doc, 'testsuites'), 'testsuite').find((x) => x.getAttribute('name') === 'setup');
  if (!suite) return t.fail();
  const tc = child(suite, 'testcase');
  t.is(tc.getAttribute('name'), 'boot 1: mkfs ext4');
  t.is(tc.getAttribute('time'), '0.820', "the setup step's own time");
  t.is(child(tc, 'failure').getAttribute('type'), 'lockdep-circular');
  t.is(suite.getAttribute('failures'), '1');
});
