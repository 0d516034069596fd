// One-shot reports in shared boots (results/once.ts), on the steps of a real A/B run whose patched
// kernel has a lock inversion: lockdep reported it in the first DAX step of the boot and was off for
// the seven steps after it, which then passed.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { oneShotNotes, oneShotReason, oneShotText } from '../harness/results/once.ts';
import type { StepResult } from '../harness/results/types.ts';

const { steps } = JSON.parse(readFileSync(new URL('data/runs/series-lockdep-2-steps.json', import.meta.url), 'utf8')) as { steps: StepResult[] };

test('a lockdep report in a shared boot names the later steps that could not show it', (t) => {
  const notes = oneShotNotes(steps);
  t.is(notes.length, 1, 'boot 1 (patched) only; boot 2 (base) had no report');
  const n = notes[0];
  t.is(n?.boot, 1);
  t.is(n?.where, 'patched/truncate-latency:ext4:always:r0@1');
  t.is(n?.title, 'possible deadlock in dax_layout_busy_page_range');
  t.is(n?.later.length, 7);
  t.true(n?.later.includes('patched/truncate-latency:xfs:always:r1@1'), 'the xfs DAX steps passed with lockdep already off');
  t.regex(oneShotText(n as NonNullable<typeof n>), /lockdep turns itself off after its first report, so the 7 later steps of that boot could not show it again: .*\(\+4\)\. For one boot per variant: --boot-per-variant/);
});

test('the last step of a boot, and repeating reports, need no note', (t) => {
  const boot1 = steps.filter((s) => s.boot === 1);
  const last = boot1[boot1.length - 1] as StepResult;
  const firstFinding = boot1[0]?.findings[0];
  t.truthy(firstFinding);
  t.deepEqual(oneShotNotes([{ ...last, findings: firstFinding ? [firstFinding] : [] }]), []);
  t.is(oneShotReason('hung-task'), undefined, 'khungtaskd reports again');
  t.is(oneShotReason('lockdep-off'), undefined);
  t.truthy(oneShotReason('warning'));
  t.truthy(oneShotReason('kasan'));
});
