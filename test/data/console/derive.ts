// Derives the edge-case logs (derived-*.log) from real captures in this directory:
//   npx tsx test/data/console/derive.ts
// - derived-notime-*:      printk.time=0 (timestamps removed)
// - derived-nocaller-*:    CONFIG_PRINTK_CALLER off (caller ids removed)
// - derived-interleaved-*: two reports printed at once by two CPUs, lines alternating in small runs,
//                          once with caller ids (separable) and once without (not separable)
// - derived-reboot-*:      a report cut in the middle by a reboot (the next boot's banner follows)
// Which reports are combined is fixed below, so the files are reproducible.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = import.meta.dirname;
const read = (n: string): string[] => readFileSync(join(dir, n), 'latin1').replace(/\r/g, '').split('\n');
const write = (n: string, lines: string[]): void => writeFileSync(join(dir, n), lines.join('\n'));

const TS = /^\[\s*\d+\.\d+\] ?/;
const CALLER = /^(\[\s*\d+\.\d+\])?\[\s*[TC]\d+\]/;
const noTime = (l: string): string => l.replace(TS, '');
const noCaller = (l: string): string => l.replace(CALLER, (_m, ts: string | undefined) => ts ?? '').replace(/^ /, ' ');

/** Lines [from, to] of the report starting at the first line matching `start` and ending at `end`. */
function span(lines: string[], start: RegExp, end: RegExp, after = 0): [number, number] {
  const a = lines.findIndex((l, i) => i >= after && start.test(l));
  if (a < 0) throw new Error(`no line matching ${start}`);
  const b = lines.findIndex((l, i) => i > a && end.test(l));
  if (b < 0) throw new Error(`no end ${end} after line ${a + 1}`);
  return [a, b];
}

/** Interleave b's lines into a's in runs of 1-3 lines (a fixed pattern, not random). */
function interleave(a: string[], b: string[]): string[] {
  const out: string[] = [];
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length || j < b.length) {
    const runA = 1 + (k % 3);
    const runB = 1 + ((k + 1) % 2);
    for (let r = 0; r < runA && i < a.length; r++) out.push(a[i++] as string);
    for (let r = 0; r < runB && j < b.length; r++) out.push(b[j++] as string);
    k++;
  }
  return out;
}

const PID = /^(?:\[\s*\d+\.\d+\] ?)?(?:CPU: \d+ (?:UID: \d+ )?PID: (\d+) |WARNING: CPU: \d+ PID: (\d+) )/;

/** The task that printed a report: the PID on its first "CPU: N PID: M" (or WARNING) line. */
function printer(report: string[]): string {
  for (const l of report) {
    const m = PID.exec(l);
    if (m) return `T${m[1] ?? m[2]}`;
  }
  throw new Error('report without a PID line');
}

/** Add a caller id after the timestamp, the way CONFIG_PRINTK_CALLER prints it. */
function withCaller(l: string, caller: string): string {
  const id = `[${caller.padStart(6)}]`;
  const m = TS.exec(l);
  return m ? `${m[0].trimEnd()}${id} ${l.slice(m[0].length)}` : `${id} ${l}`;
}

/**
 * Two reports from two tasks printed at once, as a kernel with CONFIG_PRINTK_CALLER shows it:
 * each report's lines carry its task's id, everything else the agent's (T1).
 */
export function deriveCallers(source: string, tag: string, first: { start: RegExp; end: RegExp }, second: { start: RegExp; end: RegExp }): void {
  const lines = read(source);
  const [a0, a1] = span(lines, first.start, first.end);
  const [b0, b1] = span(lines, second.start, second.end, a1);
  const a = lines.slice(a0, a1 + 1);
  const b = lines.slice(b0, b1 + 1);
  const ca = printer(a);
  const cb = printer(b);
  if (ca === cb) throw new Error('both reports come from one task');
  const tagged = (xs: string[], c: string): string[] => xs.map((l) => withCaller(l, c));
  const other = (xs: string[]): string[] => tagged(xs, 'T1');
  const merged = [...other(lines.slice(0, a0)), ...interleave(tagged(a, ca), tagged(b, cb)), ...other(lines.slice(a1 + 1, b0)), ...other(lines.slice(b1 + 1))];
  write(`derived-interleaved-callers-${tag}.log`, merged);
  write(`derived-interleaved-${tag}.log`, merged.map(noCaller));
}

export function derive(source: string, tag: string, first: { start: RegExp; end: RegExp }, second: { start: RegExp; end: RegExp }): void {
  const lines = read(source);
  write(`derived-notime-${tag}.log`, lines.map(noTime));
  const hasCallers = lines.some((l) => CALLER.test(l));
  if (hasCallers) write(`derived-nocaller-${tag}.log`, lines.map(noCaller));
  // Two reports at once: the second report's lines are pulled into the first one's place.
  const [a0, a1] = span(lines, first.start, first.end);
  const [b0, b1] = span(lines, second.start, second.end, a1);
  const a = lines.slice(a0, a1 + 1);
  const b = lines.slice(b0, b1 + 1);
  const merged = [...lines.slice(0, a0), ...interleave(a, b), ...lines.slice(a1 + 1, b0), ...lines.slice(b1 + 1)];
  write(`derived-interleaved-${tag}.log`, merged.map(noCaller));
  // A reboot in the middle of the first report: the log continues with a new boot.
  const cut = a0 + Math.floor((a1 - a0) / 2);
  const boot = lines.slice(0, Math.min(a0, 40));
  write(`derived-reboot-${tag}.log`, [...lines.slice(0, cut), ...boot]);
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  derive('debian-6.12-sysrq-hung-panic.log', 'debian-6.12', { start: /INFO: task .* blocked for more than 2 seconds/, end: /<\/TASK>/ }, { start: /INFO: task .* blocked for more than 4 seconds/, end: /<\/TASK>/ });
  // The lock inversion (sh in step 4) and the first truncate WARN (step 5) at the same time.
  const circular = { start: /WARNING: possible circular locking dependency detected/, end: /<\/TASK>/ };
  const warn = { start: /WARNING: CPU: \d+ PID: \d+ at .*dax_layout_busy_page_range/, end: /---\[ end trace/ };
  derive('splat-6.12-mixed.log', 'splat-6.12', circular, warn);
  deriveCallers('splat-6.12-mixed.log', 'splat-6.12', circular, warn);
}
