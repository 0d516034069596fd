// The event log and the views rebuilt from it, on a real run's log (two guests at once, Debian
// 6.12 under TCG): what the engine held in memory at the end is what the log rebuilds.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEventLog } from '../harness/results/event-log.ts';
import type { RunEvent } from '../harness/results/events.ts';
import { RunView } from '../harness/results/view.ts';
import { UserError } from '../harness/util/errors.ts';

const FILE = join(import.meta.dirname, 'data', 'events', 'tl-quick-two-guests.jsonl');
const TEXT = readFileSync(FILE, 'utf8');
const events = (): RunEvent[] => parseEventLog(TEXT, FILE).events;
const K = 'debian:6.12';

test('a real run log rebuilds its summary: steps with streamed samples, boots, kernels, status', (t) => {
  const s = RunView.of(events()).summary;
  t.is(s.schema, 2);
  t.is(s.status, 'completed');
  t.regex(s.statusReason ?? '', /^2 steps: 2 pass; 2 boots$/);
  t.deepEqual(s.kernels.map((k) => [k.name, k.accel.accel, k.accel.tcgThread]), [[K, 'tcg', 'single']]);
  t.is(s.concurrency, 2);
  t.deepEqual(s.steps.map((x) => [x.key, x.kernel, x.status]).sort(), [[`${K}/tl-quick:ext4:always:r1`, K, 'pass'], [`${K}/tl-quick:xfs:always:r1`, K, 'pass']]);
  for (const st of s.steps) {
    t.is(st.samples['truncate']?.values.length, 20, 'every sample event lands in its step');
    t.is(st.metrics['iterations']?.value, 20);
  }
  t.deepEqual(s.boots.map((b) => [b.index, b.kernel, b.end]), [[1, K, 'poweroff'], [2, K, 'poweroff']]);
  t.true(s.boots.every((b) => b.setup.some((x) => x.label === 'create fsdax namespace' && x.exitCode === 0)));
  t.deepEqual(s.pending, []);
  t.true((s.phases['totalMs'] ?? 0) > 0);
});

test('a log cut mid-line (the writer died) reads up to the last whole event', (t) => {
  const cut = TEXT.slice(0, TEXT.indexOf('"type":"step-ended"') + 10);
  const r = parseEventLog(cut, FILE);
  t.true(r.truncatedTail);
  const s = RunView.of(r.events).summary;
  t.is(s.status, 'running');
  t.is(s.steps.length, 0);
  t.is(s.pending.length, 2, 'nothing ended: both items still to run');
});

test('a corrupt line is named by file and line; nothing after it is trusted', (t) => {
  const lines = TEXT.split('\n');
  lines[4] = lines[4]?.replace('"boot":', '"boot":"x","was":') ?? '';
  const e = t.throws(() => parseEventLog(lines.join('\n'), FILE), { instanceOf: UserError });
  t.regex(e?.message ?? '', /tl-quick-two-guests\.jsonl:5: /);
  t.throws(() => parseEventLog(TEXT.replace('"v":1', '"v":2'), FILE), { message: /:1: event version 2 is not 1/ });
});

test('late events change the view: a revised verdict, a discarded result back to pending, a retry', (t) => {
  const v = RunView.of(events());
  const key = `${K}/tl-quick:ext4:always:r1`;
  const at = '2026-12-01T19:40:00.000Z';
  v.apply({ v: 1, at, type: 'verdict-revised', boot: 1, key, status: 'fail', reason: 'kernel reported: WARNING in f', findings: [{ kind: 'warning', title: 'WARNING in f', corrupted: false, line: 9, allowed: false }], cause: 'late' });
  const st = v.summary.steps.find((x) => x.key === key);
  t.is(st?.status, 'fail');
  t.deepEqual(st?.revisions?.map((r) => r.status), ['fail']);
  t.is(st?.samples['truncate']?.values.length, 20, 'a revision keeps the samples');
  v.apply({ v: 1, at, type: 'step-discarded', boot: 1, key, reason: 'emulator artifact' });
  t.false(v.summary.steps.some((x) => x.key === key));
  t.deepEqual(v.summary.pending, [key]);
  v.apply({ v: 1, at, type: 'retry', boot: 1, scope: 'step', reason: 'emulator artifact', items: [key] });
  t.deepEqual(v.summary.retries?.map((r) => r.items), [[key]]);
});

test('open steps: a step that began and was not ended in a cancelled boot is what an interruption names', (t) => {
  const evs = events().filter((e) => !(e.type === 'step-ended' && e.boot === 2) && !(e.type === 'boot-ended' && e.boot === 2) && e.type !== 'run-ended');
  const v = RunView.of(evs);
  t.deepEqual(v.openSteps(), [`${K}/tl-quick:xfs:always:r1`]);
  v.apply({ v: 1, at: '2026-12-01T19:40:00.000Z', type: 'boot-ended', boot: 2, end: 'aborted', qemuExitCode: null, qemuSignal: 'SIGKILL', qemuStderr: '', timings: { exitMs: 1 }, warnings: [] });
  t.deepEqual(v.openSteps(), [`${K}/tl-quick:xfs:always:r1`], 'still open after an aborted boot');
  t.deepEqual(v.summary.pending, [`${K}/tl-quick:xfs:always:r1`]);
});
