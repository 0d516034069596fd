// Real reports from the splat-test kernel (images/patches/test/splat-kernel.yaml: debug-6.12 with
// lockdep, plus this repo's test patches), captured by test/data/console/capture-splat-kernel.sh.
// That kernel is a tinyconfig build with the guess unwinder: every frame is printed with "? ".
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConsoleText, type Finding } from '../harness/console/parser.ts';
import { dedupFindings } from '../harness/console/dedup.ts';
import { stepFindingVerdict } from '../harness/console/verdict.ts';

const DATA = join(import.meta.dirname, 'data', 'console');
const load = (name: string): string => readFileSync(join(DATA, name), 'latin1');
const brief = (fs: Finding[]): string[] => fs.map((f) => `${f.step ?? '-'} ${f.kind} | ${f.title}${f.corrupted ? ' (corrupted)' : ''}`);

const MIXED = [
  '2 lockdep-rcu | suspicious RCU usage in daxlab_test_write',
  '4 lockdep-circular | possible deadlock in daxlab_lock_ba',
  '5 warning | WARNING in dax_layout_busy_page_range',
  '6 warning | WARNING in dax_layout_busy_page_range',
  '7 sleep-in-atomic | BUG: sleeping function called from invalid context in daxlab_sleep_atomic',
  ...Array<string>(5).fill('9 hung-task | INFO: task hung in daxlab_test_write'),
  '10 soft-lockup | BUG: soft lockup in daxlab_spin_busy',
  '10 soft-lockup | BUG: soft lockup in daxlab_spin_busy',
  '10 rcu-stall | INFO: rcu detected stall in daxlab_spin_busy',
  ...Array<string>(5).fill('10 soft-lockup | BUG: soft lockup in daxlab_spin_busy'),
  '11 kernel-bug | kernel BUG in daxlab_bug',
  '12 page-fault | BUG: kernel NULL pointer dereference in daxlab_deref',
  '13 gpf | general protection fault in daxlab_deref',
  '14 panic | kernel panic: sysrq triggered crash',
];

test('mixed boot: every kind, titled, in the step that caused it; steps 3 (lock order ab) and 8 give nothing', (t) => {
  const fs = parseConsoleText(load('splat-6.12-mixed.log'));
  t.deepEqual(brief(fs), MIXED);
});

test('lock inversion: full report, lock names, task, both chains; title from the acquire site', (t) => {
  const f = parseConsoleText(load('splat-6.12-mixed.log')).find((x) => x.kind === 'lockdep-circular') as Finding;
  t.regex(f.text, /^\[[ \d.]+\] =+\n\[[ \d.]+\] WARNING: possible circular locking dependency detected/);
  for (const s of ['(daxlab_a)', '(daxlab_b)', '-> #1', '-> #0', '*** DEADLOCK ***', 'stack backtrace:']) t.true(f.text.includes(s), s);
  t.true(f.text.trimEnd().endsWith('</TASK>'));
  t.is(f.comm, 'sh');
  t.is(f.taint, '');
  t.is(typeof f.pid, 'number');
  t.true(f.frames.some((x) => x.fn === 'daxlab_lock_ba'));
  t.false(f.corrupted);
});

test('WARN on truncate: message location, taint after the first, RIP first among the frames', (t) => {
  const ws = parseConsoleText(load('splat-6.12-mixed.log')).filter((x) => x.kind === 'warning');
  t.is(ws.length, 2);
  const [a, b] = ws as [Finding, Finding];
  t.true(a.text.includes('------------[ cut here ]------------'));
  t.true(a.text.includes('fs/dax.c:701'));
  t.deepEqual(a.frames[0], { fn: 'dax_layout_busy_page_range', offset: '0x63' });
  t.true(a.frames.some((x) => x.fn === 'ext4_setattr'), 'the truncate path is in the stack');
  t.is(b.taint, 'G W', 'the second WARN sees the taint of the first');
  t.not(a.pid, b.pid);
});

test('soft lockup and RCU stall carry the CPU and task; the kernel panic without a stack is complete', (t) => {
  const fs = parseConsoleText(load('splat-6.12-mixed.log'));
  const lock = fs.find((x) => x.kind === 'soft-lockup') as Finding;
  t.is(lock.comm, 'sh');
  t.is(typeof lock.cpu, 'number');
  t.true(lock.taint?.includes('W'));
  const stall = fs.find((x) => x.kind === 'rcu-stall') as Finding;
  t.is(stall.frames[0]?.fn, 'delay_tsc', 'RIP of the spinning CPU');
  t.is(stall.cpu, lock.cpu);
  const panic = fs.at(-1) as Finding;
  t.false(panic.corrupted);
  t.deepEqual(panic.frames, []);
});

test('dedup and verdicts over the mixed boot', (t) => {
  const fs = parseConsoleText(load('splat-6.12-mixed.log'));
  const groups = dedupFindings(fs);
  t.deepEqual(
    groups.map((g) => `${g.count}x ${g.title} ${JSON.stringify(g.steps)}`),
    [
      '1x suspicious RCU usage in daxlab_test_write [2]',
      '1x possible deadlock in daxlab_lock_ba [4]',
      '2x WARNING in dax_layout_busy_page_range [5,6]',
      '1x BUG: sleeping function called from invalid context in daxlab_sleep_atomic [7]',
      '5x INFO: task hung in daxlab_test_write [9]',
      '7x BUG: soft lockup in daxlab_spin_busy [10]',
      '1x INFO: rcu detected stall in daxlab_spin_busy [10]',
      '1x kernel BUG in daxlab_bug [11]',
      '1x BUG: kernel NULL pointer dereference in daxlab_deref [12]',
      '1x general protection fault in daxlab_deref [13]',
      '1x kernel panic: sysrq triggered crash [14]',
    ],
  );
  const step = (n: number): Finding[] => fs.filter((f) => f.step === n);
  t.deepEqual(stepFindingVerdict(step(5), []), { fail: true, reasons: ['WARNING in dax_layout_busy_page_range'] });
  t.false(stepFindingVerdict(step(5), ['WARNING in dax_layout_busy_page_range']).fail);
  t.false(stepFindingVerdict(step(4), ['lockdep']).fail);
  t.deepEqual(stepFindingVerdict(step(10), ['soft-lockup']).reasons, ['INFO: rcu detected stall in daxlab_spin_busy']);
  t.false(stepFindingVerdict(step(3), []).fail);
});

test('an earlier boot that oopsed first: the hung task detector stays quiet after the oops', (t) => {
  const fs = parseConsoleText(load('splat-6.12-mixed-oops-first.log'));
  t.false(fs.some((f) => f.kind === 'hung-task'));
  t.deepEqual(
    [...new Set(fs.map((f) => f.kind))],
    ['lockdep-rcu', 'lockdep-circular', 'warning', 'sleep-in-atomic', 'kernel-bug', 'page-fault', 'gpf', 'soft-lockup', 'rcu-stall', 'panic'],
  );
});

// One boot per lockdep kind: lockdep switches itself off after its first report.
const PER_KIND: [string, string[]][] = [
  ['recursive', ['2 lockdep-recursive | possible deadlock in daxlab_read_twice']],
  ['inconsistent', ['2 lockdep-inconsistent | inconsistent lock state in daxlab_timer_fn']],
  ['unlock', ['2 lockdep-bad-unlock | bad unlock balance in daxlab_unlock_unheld']],
  ['freed', ['2 lockdep-held-freed | held lock freed in daxlab_test_write']],
  ['userret', ['2 lockdep-held-return | lock held when returning to user space in daxlab_test_write']],
  [
    'sleep',
    [
      '2 sleep-in-atomic | BUG: sleeping function called from invalid context in daxlab_sleep_atomic',
      '2 lockdep-invalid-wait | invalid wait context in daxlab_sleep_atomic',
    ],
  ],
];
for (const [k, want] of PER_KIND) {
  test(`lockdep ${k}: one boot, only that report (boot log and SysRq dumps give nothing)`, (t) => {
    const fs = parseConsoleText(load(`splat-6.12-lockdep-${k}.log`));
    t.deepEqual(brief(fs), want);
    for (const f of fs) {
      t.true(f.frames.length > 0 || f.kind === 'lockdep-held-return', 'a stack');
      t.is(f.comm === 'sh' || f.comm?.startsWith('swapper') || f.comm === undefined, true);
    }
  });
}

test('inconsistent lock state from softirq: the interrupt part of the stack names the timer', (t) => {
  const f = parseConsoleText(load('splat-6.12-lockdep-inconsistent.log'))[0] as Finding;
  t.true(f.text.includes('{SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W}'));
  t.true(f.frames.some((x) => x.fn === 'daxlab_timer_fn'));
});

// Derived from splat-6.12-mixed.log by derive.ts.
test('lock inversion and WARN printed at once: separated by caller ids, flagged without them', (t) => {
  const withIds = parseConsoleText(load('derived-interleaved-callers-splat-6.12.log'));
  t.deepEqual(brief(withIds).slice(0, 3), [
    '2 lockdep-rcu | suspicious RCU usage in daxlab_test_write',
    '4 warning | WARNING in dax_layout_busy_page_range',
    '4 lockdep-circular | possible deadlock in daxlab_lock_ba',
  ]);
  const original = parseConsoleText(load('splat-6.12-mixed.log'));
  const circ = (fs: Finding[]): Finding => fs.find((f) => f.kind === 'lockdep-circular') as Finding;
  t.deepEqual(circ(withIds).frames, circ(original).frames, 'the same stack as printed alone');
  const without = parseConsoleText(load('derived-interleaved-splat-6.12.log'));
  t.deepEqual(brief(without).slice(1, 3), ['4 lockdep-circular | possible deadlock (corrupted)', '4 warning | WARNING in dax_layout_busy_page_range (corrupted)']);
});

test('printk.time=0 and a reboot in the middle of the lock inversion report', (t) => {
  t.deepEqual(brief(parseConsoleText(load('derived-notime-splat-6.12.log'))), MIXED);
  const cut = parseConsoleText(load('derived-reboot-splat-6.12.log'));
  t.deepEqual(brief(cut), ['2 lockdep-rcu | suspicious RCU usage in daxlab_test_write', '4 lockdep-circular | possible deadlock in daxlab_lock_ba (corrupted)']);
});
