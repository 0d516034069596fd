// Runs for the export tests (test/export-*.test.ts), rebuilt from real captured data the way
// `daxlab export` reads them (events.jsonl through RunRecorder), and the XML checks they share.
import type { ExecutionContext } from 'ava';
import { DOMParser, type Document, type Element } from '@xmldom/xmldom';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { validateXML } from 'xmllint-wasm';
import { parseConsoleText } from '../harness/console/parser.ts';
import { RunRecorder } from '../harness/engine/recorder.ts';
import type { RunEvent } from '../harness/results/events.ts';
import { runFindings } from '../harness/results/findings.ts';
import type { KernelRecord, RunSummary, StepResult } from '../harness/results/types.ts';

const DATA = join(import.meta.dirname, 'data');
export const SEGV_RUN = join(DATA, 'runs', 'segv-and-pass');
export const TWO_GUESTS_LOG = join(DATA, 'events', 'tl-quick-two-guests.jsonl');
const JUNIT_XSD = join(DATA, 'junit', 'junit-ci.xsd');

export function scratch(t: ExecutionContext): string {
  const d = mkdtempSync(join(tmpdir(), 'daxlab-export-'));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A copy of a run directory (or of a bare event log as one), as the CLI would be pointed at. */
export function copyRun(t: ExecutionContext, from: string): string {
  const dir = join(scratch(t), 'run');
  if (from.endsWith('.jsonl')) {
    mkdirSync(dir);
    cpSync(from, join(dir, 'events.jsonl'));
  } else {
    cpSync(from, dir, { recursive: true });
  }
  return dir;
}

export function summaryOf(dir: string): RunSummary {
  const rec = RunRecorder.open(dir);
  rec.close();
  return rec.summary;
}

export function readEvents(dir: string): RunEvent[] {
  return readFileSync(join(dir, 'events.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as RunEvent);
}

export function writeEvents(dir: string, events: RunEvent[]): void {
  writeFileSync(join(dir, 'events.jsonl'), events.map((e) => JSON.stringify(e) + '\n').join(''));
}

/** Every kind of character a guest can send that a CI parser or a terminal must not see raw. */
export const HOSTILE =
  'killed by \u0000NUL \u0007BEL \u001b[31mred\u001b[0m C1:\u0085 lone:\ud800 nonchar:\ufffe cdata:]]> tag:</failure><script>alert(1)</script> amp:& quote:" apos:\' crlf:\r\nsecond line';

export const HOSTILE_TITLE = 'WARNING in evil<b>&"fn"';

/**
 * The segv-and-pass run with guest-controlled text made hostile: the crashing step's reason,
 * output and stderr, a metric name and unit, and a console finding whose report is 100 KB.
 */
export function hostileRun(t: ExecutionContext): string {
  const dir = copyRun(t, SEGV_RUN);
  const out: RunEvent[] = [];
  for (const e of readEvents(dir)) {
    if (e.type === 'step-ended' && e.status === 'error') {
      out.push({ v: e.v, at: e.at, type: 'metric', boot: e.boot, key: e.key, name: `m<&"x"\u0001${HOSTILE.slice(0, 20)}`, value: 1.5, unit: 'ms\u001b[0m' });
      out.push({ v: e.v, at: e.at, type: 'finding', boot: e.boot, where: e.key, title: HOSTILE_TITLE, kind: 'warning', consoleLog: 'console-1.log', line: 240, corrupted: false, text: `${HOSTILE}\n${'A'.repeat(100_000)}\nEND-OF-REPORT`, frames: [] });
      out.push({ ...e, reason: HOSTILE, output: [HOSTILE, 'x'.repeat(20_000)], stderr: [HOSTILE], findings: [{ kind: 'warning', title: HOSTILE_TITLE, corrupted: false, line: 240, allowed: false }] });
    } else {
      out.push(e);
    }
  }
  writeEvents(dir, out);
  return dir;
}

const seriesSteps = (): StepResult[] => (JSON.parse(readFileSync(join(DATA, 'runs', 'series-lockdep-2-steps.json'), 'utf8')) as { steps: StepResult[] }).steps;

/** The real patches of the lockdep series' first two patches, as the A/B run applied them. */
export const LOCKDEP_PATCHES = ['0001-dax-fix-the-end-of-range-comment-in-dax_layout_busy_.patch', '0002-dax-take-two-test-locks-in-opposite-orders-on-trunca.patch'].map((f) =>
  join(import.meta.dirname, '..', 'images', 'patches', 'ab', 'series-lockdep-2', f),
);
export const sha256File = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

/**
 * A two-kernel run: the 16 real steps of an A/B run of debug-6.12 (`base`) against it plus the
 * first two patches of series-lockdep-2 (`patched`, whose first DAX step hit a lock inversion),
 * on the run record of segv-and-pass. The steps keep only the finding's title; its report text
 * is a real 6.12 lockdep circular-dependency report (another lock pair, test/data/console).
 * `kernelDir` stands for the patched kernel's cache entry (its patches.json), as boots point at it.
 */
export function lockdepSummary(t: ExecutionContext, kernelDir = join(scratch(t), 'kernel')): RunSummary {
  const s = summaryOf(copyRun(t, SEGV_RUN));
  const k0 = s.kernels[0] as KernelRecord;
  const identity = { source: 'debian-src', package: 'linux-source-6.12', version: '6.12.117-1~deb12u1', base: 'tinyconfig', config: '677b6ed88bcf8bc4' };
  const hashes = LOCKDEP_PATCHES.map(sha256File);
  mkdirSync(kernelDir, { recursive: true });
  writeFileSync(join(kernelDir, 'patches.json'), JSON.stringify(LOCKDEP_PATCHES.map((p, i) => ({ patch: basename(p), sha256: hashes[i], method: 'git am' }))));
  const kernel = (name: string, patches: string): KernelRecord => ({ ...k0, name, spec: `images/kernels/debug-6.12.yaml${patches ? ' + images/patches/ab/series-lockdep-2 [1..2]' : ''}`, release: '6.12.117', identity: { ...identity, patches } });
  const boot0 = s.boots[0];
  if (!boot0) throw new Error('segv-and-pass has a boot');
  const argv = (bz: string): string[] => boot0.argv.map((a, i) => (boot0.argv[i - 1] === '-kernel' ? bz : a));
  const steps = seriesSteps();
  const real = parseConsoleText(readFileSync(join(DATA, 'console', 'splat-6.12-mixed.log'), 'utf8')).find((f) => f.kind === 'lockdep-circular');
  if (!real) throw new Error('splat-6.12-mixed.log has a lockdep report');
  const first = steps.find((x) => x.findings.length);
  const f = first?.findings[0];
  if (!first || !f) throw new Error('the series has a finding');
  return {
    ...s,
    kernels: [kernel('patched', hashes.map((h) => h.slice(0, 16)).join(',')), kernel('base', '')],
    phases: { ...s.phases, 'patched/kernelMs': 1520, 'base/kernelMs': 12 },
    boots: [
      { ...boot0, index: 1, kernel: 'patched', argv: argv(join(kernelDir, 'bzImage')), items: steps.filter((x) => x.boot === 1).map((x) => x.key) },
      { ...boot0, index: 2, kernel: 'base', argv: argv('/nonexistent/bzImage'), items: steps.filter((x) => x.boot === 2).map((x) => x.key) },
    ],
    steps,
    findings: runFindings([{ ...real, title: f.title, kind: f.kind, line: f.line, where: first.key, boot: 1, consoleLog: 'console-1.log' }]),
  };
}

/** Parse as a strict XML 1.0 parser does: any warning or error throws. */
export function parseXml(xml: string): Document {
  return new DOMParser({
    onError: (level, msg) => {
      throw new Error(`${level}: ${msg}`);
    },
  }).parseFromString(xml, 'text/xml');
}

/** libxml2 (xmllint) against the CI reporters' JUnit shape (test/data/junit/junit-ci.xsd). */
export async function xmllint(xml: string): Promise<{ valid: boolean; errors: string[] }> {
  const r = await validateXML({ xml: [{ fileName: 'junit.xml', contents: xml }], schema: [{ fileName: 'junit-ci.xsd', contents: readFileSync(JUNIT_XSD, 'utf8') }] });
  return { valid: r.valid, errors: r.errors.map((e) => e.rawMessage) };
}

export function children(el: Element | Document, name: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) if (n.nodeType === 1 && (n as Element).tagName === name) out.push(n as Element);
  return out;
}

export function child(el: Element | Document, name: string): Element {
  const c = children(el, name)[0];
  if (!c) throw new Error(`no <${name}> in <${'tagName' in el ? el.tagName : '#document'}>`);
  return c;
}

export function props(el: Element): Map<string, string> {
  const p = children(el, 'properties')[0];
  return new Map(p ? children(p, 'property').map((x) => [x.getAttribute('name') ?? '', x.getAttribute('value') ?? '']) : []);
}
