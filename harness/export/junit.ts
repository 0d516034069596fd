// A run as JUnit XML, the test report format Jenkins, GitLab and GitHub's test reporters read.
// One <testsuite> per scenario (per kernel and scenario when the run has several kernels), one
// <testcase> per step named by its work item key; a failing verdict is a <failure>, one that says
// nothing about the kernel (the reproducer crashed, timed out, or never ran) an <error>; each
// console finding the scenario does not allow is a <failure> of its own with the report. The
// structure is that of Jenkins' junit-10.xsd, with one widespread extension: a testcase's
// metrics and sample summaries in its own <properties> (as googletest and pytest write them;
// the junit-10.xsd reader of Jenkins' xUnit plugin would refuse that, the JUnit plugin, GitLab
// and the GitHub actions ignore it). Pure: the caller writes the file.
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type { KernelRecord, RunSummary, StepResult, StepStatus } from '../results/types.ts';
import { findingsByTitle, notRunReason, pendingItems, sampleSummaries, setupFindings, stepStart } from './facts.ts';
import { cleanText, oneLine, tailLines } from './text.ts';

/** Characters of kernel report text per failure, and of output per system-out/err. */
export const REPORT_CHARS = 8 * 1024;
export const OUTPUT_CHARS = 8 * 1024;

/** How each verdict is reported: the kernel misbehaved (failure) or the step could not tell (error). */
export const JUNIT_OUTCOME: Record<StepStatus, 'pass' | 'failure' | 'error' | 'skipped'> = {
  pass: 'pass',
  fail: 'failure',
  // Stuck in the kernel past SIGKILL, or the kernel went down: the tested code is at fault.
  hung: 'failure',
  crashed: 'failure',
  // The reproducer died or ran out of time: nothing is known about the kernel.
  error: 'error',
  timeout: 'error',
  skip: 'skipped',
};

export interface JunitReport {
  xml: string;
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

type Prop = [name: string, value: string | number | undefined];

interface Case {
  suite: string;
  kernel: string;
  name: string;
  classname: string;
  seconds: number;
  start?: Date;
  props: Prop[];
  outcome: 'pass' | 'failure' | 'error' | 'skipped';
  verdict?: { type: string; message: string; body: string };
  findings: { type: string; message: string; body: string }[];
  out: string;
  err: string;
}

export function renderJunit(summary: RunSummary): JunitReport {
  const multi = summary.kernels.length > 1;
  const suiteOf = (kernel: string, scenario: string): string => (multi ? `${kernel}/${scenario}` : scenario);
  const reports = findingsByTitle(summary);
  const cases: Case[] = [];

  for (const st of summary.steps) {
    const outcome = JUNIT_OUTCOME[st.status];
    const findings = st.findings.filter((f) => !f.allowed).map((f) => {
      const r = reports.get(f.title);
      const where = r ? `${r.consoleLog} line ${f.line}` : `console line ${f.line}`;
      return {
        type: oneLine(f.kind, 100),
        message: oneLine(f.title),
        body: cleanText(`${f.kind} in ${where}${f.corrupted ? ' (report interleaved with other output)' : ''}\n\n${r?.text ?? ''}`, REPORT_CHARS),
      };
    });
    const allowed = st.findings.filter((f) => f.allowed).map((f) => `allowed by the scenario: ${f.title} [${f.kind}] (console line ${f.line})`);
    cases.push({
      suite: suiteOf(st.kernel, st.scenario),
      kernel: st.kernel,
      name: st.key,
      classname: `${st.kernel}/${st.scenario}`,
      seconds: st.durationMs / 1000,
      start: stepStart(st),
      props: stepProps(st),
      outcome,
      ...(outcome === 'failure' || outcome === 'error' || outcome === 'skipped'
        ? { verdict: { type: st.status, message: oneLine(st.reason || st.status), body: verdictBody(st) } }
        : {}),
      findings,
      out: tailLines([...allowed, ...st.infos, ...st.output], OUTPUT_CHARS),
      err: tailLines(st.stderr, OUTPUT_CHARS),
    });
  }

  const notRun = notRunReason(summary);
  for (const p of pendingItems(summary)) {
    cases.push({
      suite: suiteOf(p.kernel, p.scenario),
      kernel: p.kernel,
      name: p.key,
      classname: `${p.kernel}/${p.scenario}`,
      seconds: 0,
      props: [['fs', p.variant.fs], ['dax', p.variant.dax], ['rep', p.rep], ['status', 'not run']],
      outcome: 'error',
      verdict: { type: 'not-run', message: notRun, body: notRun },
      findings: [],
      out: '',
      err: '',
    });
  }

  // A kernel report during mkfs, mount or namespace setup belongs to no step, and still fails the run.
  for (const sf of setupFindings(summary)) {
    const f = sf.finding;
    const setup = summary.boots.find((b) => b.index === sf.boot)?.setup.find((s) => s.label === sf.label);
    cases.push({
      suite: suiteOf(sf.kernel, 'setup'),
      kernel: sf.kernel,
      name: `boot ${sf.boot}: ${sf.label}`,
      classname: `${sf.kernel}/setup`,
      seconds: (setup?.ms ?? 0) / 1000,
      props: [['boot', sf.boot]],
      outcome: 'failure',
      findings: [{ type: oneLine(f.kind, 100), message: oneLine(f.title), body: cleanText(`${f.kind} in ${f.consoleLog} line ${f.line}\n\n${f.text}`, REPORT_CHARS) }],
      out: '',
      err: '',
    });
  }

  const suites = new Map<string, Case[]>();
  for (const c of cases) {
    if (!suites.has(c.suite)) suites.set(c.suite, []);
    suites.get(c.suite)?.push(c);
  }

  const isError = (c: Case): boolean => c.outcome === 'error';
  const isFailure = (c: Case): boolean => !isError(c) && (c.outcome === 'failure' || c.findings.length > 0);
  const count = (cs: Case[], p: (c: Case) => boolean): number => cs.filter(p).length;
  const total = { tests: cases.length, failures: count(cases, isFailure), errors: count(cases, isError), skipped: count(cases, (c) => c.outcome === 'skipped' && c.findings.length === 0) };

  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  const root = doc.ele('testsuites', attrs({ name: `daxlab run ${summary.runId}`, tests: total.tests, failures: total.failures, errors: total.errors, time: seconds(cases.reduce((a, c) => a + c.seconds, 0)) }));
  let id = 0;
  for (const [name, cs] of suites) {
    const starts = cs.flatMap((c) => (c.start ? [c.start.getTime()] : []));
    const suite = root.ele(
      'testsuite',
      attrs({
        name: oneLine(name),
        tests: cs.length,
        failures: count(cs, isFailure),
        errors: count(cs, isError),
        skipped: count(cs, (c) => c.outcome === 'skipped' && c.findings.length === 0),
        time: seconds(cs.reduce((a, c) => a + c.seconds, 0)),
        // Ant's form (no zone); the run's clock is UTC, as run.started says.
        timestamp: new Date(starts.length ? Math.min(...starts) : Date.parse(summary.startedAt)).toISOString().slice(0, 19),
        hostname: oneLine(summary.host.hostname, 255),
        id: id++,
      }),
    );
    addProps(suite, suiteProps(summary, summary.kernels.find((k) => k.name === cs[0]?.kernel)));
    for (const c of cs) addCase(suite, c);
  }
  return { xml: doc.end({ prettyPrint: true, wellFormed: true }), ...total };
}

function addCase(suite: XMLBuilder, c: Case): void {
  const tc = suite.ele('testcase', attrs({ name: oneLine(c.name), classname: oneLine(c.classname), time: seconds(c.seconds) }));
  addProps(tc, c.props);
  if (c.verdict) {
    const tag = c.outcome === 'skipped' ? 'skipped' : c.outcome === 'error' ? 'error' : 'failure';
    tc.ele(tag, attrs({ type: c.verdict.type, message: c.verdict.message })).txt(c.verdict.body);
  }
  for (const f of c.findings) tc.ele('failure', attrs({ type: f.type, message: f.message })).txt(f.body);
  if (c.out) tc.ele('system-out').txt(c.out);
  if (c.err) tc.ele('system-err').txt(c.err);
}

function verdictBody(st: StepResult): string {
  const lines = [`status: ${st.status}`, `reason: ${st.reason}`, `exit code: ${st.exitCode ?? 'none'}`, `boot: ${st.boot}`];
  for (const r of st.revisions ?? []) lines.push(`revised to ${r.status} (${r.cause}): ${r.reason}`);
  return cleanText(lines.join('\n'), OUTPUT_CHARS);
}

/** The step's facts, its sample summaries (n, p50, p99, unit) and its scalar metrics (value, unit). */
function stepProps(st: StepResult): Prop[] {
  const props: Prop[] = [['status', st.status], ['fs', st.variant.fs], ['dax', st.variant.dax], ['rep', st.rep], ['boot', st.boot]];
  if (st.slot !== undefined) props.push(['slot', st.slot]);
  if (st.exitCode !== null) props.push(['exit_code', st.exitCode]);
  for (const s of sampleSummaries(st)) {
    const n = `sample.${s.name}`;
    props.push([`${n}.n`, s.n], [`${n}.p50`, s.p50], [`${n}.p99`, s.p99], [`${n}.unit`, s.unit]);
  }
  for (const [name, m] of Object.entries(st.metrics)) props.push([`metric.${name}`, m.value], [`metric.${name}.unit`, m.unit]);
  return props;
}

/** What the suite ran on: the run, its kernel (identity, accelerator) and the guest's shape. */
function suiteProps(s: RunSummary, k: KernelRecord | undefined): Prop[] {
  const props: Prop[] = [['run.id', s.runId], ['run.status', s.status], ['run.started', s.startedAt], ['host.qemu', s.host.qemu]];
  if (k) {
    props.push(['kernel.name', k.name], ['kernel.spec', k.spec], ['kernel.release', k.release]);
    for (const [a, v] of Object.entries(k.identity)) props.push([`kernel.identity.${a}`, v]);
    props.push(['accel', k.accel.accel], ['accel.reason', k.accel.reason], ['accel.tcg_thread', k.accel.tcgThread]);
  }
  props.push(['guest.cpus', s.guest.cpus], ['guest.mem_bytes', s.guest.memBytes], ['guest.pmem_bytes', s.guest.pmemBytes], ['guest.clock', s.guest.clock ?? 'host']);
  return props;
}

function addProps(parent: XMLBuilder, props: Prop[]): void {
  const kept = props.filter((p): p is [string, string | number] => p[1] !== undefined && (typeof p[1] === 'string' || Number.isFinite(p[1])));
  if (!kept.length) return;
  const el = parent.ele('properties');
  for (const [name, value] of kept) el.ele('property', { name: oneLine(name, 256), value: oneLine(String(value)) });
}

/** Seconds as junit-10.xsd's SUREFIRE_TIME accepts them: plain decimals, no exponent. */
function seconds(s: number): string {
  return (Number.isFinite(s) && s > 0 ? s : 0).toFixed(3);
}

function attrs(o: Record<string, string | number | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = typeof v === 'number' ? String(v) : oneLine(v);
  return out;
}
