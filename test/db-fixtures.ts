// Nights for the history-database tests, made from real captured runs: the two-guest truncate
// run and segv-and-pass as they were, and variants of them the way later nights differ (slower
// samples, a second boot of the same variant, a kernel report, another kernel name). The
// reports are real 6.12 console reports (test/data/console), put where a run records them.
import type { ExecutionContext } from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConsoleText, type Finding } from '../harness/console/parser.ts';
import type { RunEvent } from '../harness/results/events.ts';
import { quantile } from '../harness/stats/summary.ts';

const DATA = join(import.meta.dirname, 'data');
export const SEGV_RUN = join(DATA, 'runs', 'segv-and-pass');
export const TWO_GUESTS_LOG = join(DATA, 'events', 'tl-quick-two-guests.jsonl');

export function scratch(t: ExecutionContext, prefix = 'daxlab-db-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

export function readEvents(file: string): RunEvent[] {
  return readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as RunEvent);
}

export function writeRun(root: string, events: RunEvent[]): string {
  const start = events[0];
  if (start?.type !== 'run-started') throw new Error('an event log starts with run-started');
  const dir = join(root, start.runId);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'events.jsonl'), events.map((e) => JSON.stringify(e) + '\n').join(''));
  return dir;
}

const DAY_MS = 24 * 3600 * 1000;

/** The same run on another night: a new run id, every time shifted by `days`. */
export function laterNight(events: RunEvent[], runId: string, days: number): RunEvent[] {
  return events.map((e) => {
    const at = new Date(Date.parse(e.at) + days * DAY_MS).toISOString();
    return e.type === 'run-started' ? { ...e, at, runId } : { ...e, at };
  });
}

/** A real console report (splat-6.12-mixed.log) by kind. */
export function consoleReport(kind: string): Finding {
  const f = parseConsoleText(readFileSync(join(DATA, 'console', 'splat-6.12-mixed.log'), 'utf8')).find((x) => x.kind === kind);
  if (!f) throw new Error(`splat-6.12-mixed.log has no ${kind} report`);
  return f;
}

/** A finding event as the engine writes one, for a report seen at `where` in `boot`. */
export function findingEvent(at: string, boot: number, where: string, f: Finding): RunEvent {
  const frames = f.frames.map((x) => ({ fn: x.fn, ...(x.offset !== undefined ? { offset: x.offset } : {}) }));
  return { v: 1, at, type: 'finding', boot, where, title: f.title, kind: f.kind, consoleLog: `console-${boot}.log`, line: f.line, corrupted: f.corrupted, text: f.text, frames };
}

/** Finding events added when their boot ends, where the engine writes a boot's console findings. */
export function withFindings(events: RunEvent[], add: { boot: number; where: string; report: Finding }[]): RunEvent[] {
  const out: RunEvent[] = [];
  for (const e of events) {
    out.push(e);
    if (e.type === 'boot-ended') for (const a of add.filter((x) => x.boot === e.boot)) out.push(findingEvent(e.at, a.boot, a.where, a.report));
  }
  return out;
}

/** Every sample value scaled (a kernel that got slower on every truncate). */
export function scaledSamples(events: RunEvent[], factor: number): RunEvent[] {
  return events.map((e) => (e.type === 'sample' ? { ...e, value: e.value * factor } : e));
}

/** A work item renamed to another variant and repetition (both boots then run ext4 always). */
export function renamedItem(events: RunEvent[], from: string, to: { key: string; fs: 'ext4' | 'xfs'; rep: number }): RunEvent[] {
  return events.map((e) => {
    if (e.type === 'items-planned') return { ...e, items: e.items.map((it) => (it.key === from ? { ...it, key: to.key, variant: { ...it.variant, fs: to.fs }, rep: to.rep } : it)) };
    if (e.type === 'boot-started') return { ...e, items: e.items.map((k) => (k === from ? to.key : k)) };
    if ('key' in e && e.key === from) return { ...e, key: to.key };
    return e;
  });
}

/** The kernel known by another name (keys, kernel records and boots). */
export function renamedKernel(events: RunEvent[], from: string, to: string): RunEvent[] {
  const text = events.map((e) => JSON.stringify(e)).join('\n');
  return text
    .split(`"${from}/`)
    .join(`"${to}/`)
    .split(`"name":"${from}"`)
    .join(`"name":"${to}"`)
    .split(`"kernel":"${from}"`)
    .join(`"kernel":"${to}"`)
    .split('\n')
    .map((l) => JSON.parse(l) as RunEvent);
}

/**
 * Per boot, the median over its repetitions of each step's median sample `name`, straight from
 * the events of passing steps: what the database's per-boot values must say.
 */
export function expectedBootMedians(events: RunEvent[], key: RegExp, name: string): Map<number, number> {
  const passed = new Set(events.filter((e) => e.type === 'step-ended' && e.status === 'pass').map((e) => (e.type === 'step-ended' ? e.key : '')));
  const perStep = new Map<string, { boot: number; values: number[] }>();
  for (const e of events) {
    if (e.type !== 'sample' || e.name !== name || !key.test(e.key) || !passed.has(e.key)) continue;
    const s = perStep.get(e.key) ?? { boot: e.boot, values: [] };
    s.values.push(e.value);
    perStep.set(e.key, s);
  }
  const perBoot = new Map<number, number[]>();
  for (const s of perStep.values()) perBoot.set(s.boot, [...(perBoot.get(s.boot) ?? []), quantile(s.values, 0.5)]);
  return new Map([...perBoot].map(([b, reps]) => [b, quantile(reps, 0.5)]));
}

export interface Nights {
  root: string;
  /** Run dirs by night name. */
  dirs: Record<'n1' | 'n2' | 'n3' | 'n4', string>;
  ids: Record<'n1' | 'n2' | 'n3' | 'n4', string>;
  events: Record<'n1' | 'n2' | 'n3' | 'n4', RunEvent[]>;
  /** The two reports' titles: A (lockdep) in n3 and n2, B (WARNING) in n2 (setup) and n4. */
  titles: { a: string; b: string };
}

/**
 * n1 (Dec 1 19:32): the two-guest run as captured, kernel debian:6.12.
 * n3 (Dec 2 00:57): segv-and-pass as captured, plus the lockdep report A in its passing step.
 * n2 (Dec 2 19:32): n1 a day later, samples twice as slow, its xfs item run as ext4 repetition 2
 *     (so ext4/always has two boots), A again in a step and B during boot 2's setup.
 * n4 (Dec 3 19:32): n1 two days later on the kernel name `mainline`, with B.
 */
export function nights(t: ExecutionContext): Nights {
  const root = scratch(t);
  const a = consoleReport('lockdep-circular');
  const b = consoleReport('warning');
  const tl = readEvents(TWO_GUESTS_LOG);
  const ids = { n1: '20261201-193212-974aa3', n2: '20261202-193212-aaaa02', n3: '20261202-005721-9eb4aa', n4: '20261203-193212-aaaa04' };
  const n1 = tl;
  const n2 = withFindings(
    renamedItem(scaledSamples(laterNight(tl, ids.n2, 1), 2), 'debian:6.12/tl-quick:xfs:always:r1', { key: 'debian:6.12/tl-quick:ext4:always:r2', fs: 'ext4', rep: 2 }),
    [
      { boot: 1, where: 'debian:6.12/tl-quick:ext4:always:r1', report: a },
      { boot: 2, where: 'boot 2: mkfs.ext4', report: b },
    ],
  );
  const n3 = withFindings(readEvents(join(SEGV_RUN, 'events.jsonl')), [{ boot: 1, where: 'debian:6.12/tl-one:ext4:always:r1', report: a }]);
  const n4 = withFindings(renamedKernel(laterNight(tl, ids.n4, 2), 'debian:6.12', 'mainline'), [{ boot: 1, where: 'mainline/tl-quick:ext4:always:r1', report: b }]);
  const events = { n1, n2, n3, n4 };
  const dirs = { n1: writeRun(root, n1), n2: writeRun(root, n2), n3: writeRun(root, n3), n4: writeRun(root, n4) };
  return { root, dirs, ids, events, titles: { a: a.title, b: b.title } };
}
