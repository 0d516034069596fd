// Console line prefixes and stack frame shapes (unit level; the report tests use real logs).
import test from 'ava';
import { parseAt, parseFrame, parseRip } from '../harness/console/frames.ts';
import { scrub, splitLine } from '../harness/console/line.ts';
import { guiltyFunction } from '../harness/console/title.ts';
import { matchHeader } from '../harness/console/kinds.ts';

test('printk prefixes: timestamp, caller id, both, neither, syslog level, \\r', (t) => {
  t.like(splitLine('[   12.345678] daxlab: step 3 begin\r'), { text: 'daxlab: step 3 begin', timed: true });
  t.like(splitLine('[   12.345678][  T123] WARNING: CPU: 0 PID: 123 at fs/dax.c:1 f+0x1/0x2'), { text: 'WARNING: CPU: 0 PID: 123 at fs/dax.c:1 f+0x1/0x2', caller: 'T123' });
  t.like(splitLine('[    C1] rcu: INFO: rcu_sched self-detected stall on CPU'), { text: 'rcu: INFO: rcu_sched self-detected stall on CPU', caller: 'C1', timed: false });
  t.like(splitLine('<4>[    1.000000] Oops: 0000 [#1] SMP'), { text: 'Oops: 0000 [#1] SMP' });
  t.is(splitLine(' __schedule+0x4e0/0xbf0').text, ' __schedule+0x4e0/0xbf0', 'no prefix: untouched (frames keep their indent)');
  t.is(splitLine('[   18.324920]  __schedule+0x4e0/0xbf0').text, ' __schedule+0x4e0/0xbf0');
  t.is(splitLine('[<ffffffff81234567>] foo+0x1/0x2').text, '[<ffffffff81234567>] foo+0x1/0x2', 'an address is not a prefix');
  t.is(splitLine('[mem 0x0000-0xffff] usable').text, '[mem 0x0000-0xffff] usable');
  t.is(splitLine('x'.repeat(5000)).raw.length, 1024, 'lines are capped');
  t.is(scrub('a\x1b[31mred\x1b[0m\x07b\tc'), 'aredb\tc');
});

test('frame shapes', (t) => {
  t.deepEqual(parseFrame(' dax_iomap_rw+0x1a3/0x2c0'), { fn: 'dax_iomap_rw', offset: '0x1a3', size: '0x2c0', unreliable: false });
  t.deepEqual(parseFrame(' ? __pfx_foo+0x10/0x10'), { fn: '__pfx_foo', offset: '0x10', size: '0x10', unreliable: true });
  t.deepEqual(parseFrame(' ext4_setattr+0x4f4/0x9d0 [ext4]'), { fn: 'ext4_setattr', offset: '0x4f4', size: '0x9d0', module: 'ext4', unreliable: false });
  t.deepEqual(parseFrame(' do_execveat_common.isra.0+0x17f/0x1e0'), { fn: 'do_execveat_common.isra.0', offset: '0x17f', size: '0x1e0', unreliable: false });
  t.deepEqual(parseFrame(' dax_x fs/dax.c:12 [inline]'), { fn: 'dax_x', file: 'fs/dax.c', line: 12, inlined: true, unreliable: false });
  t.deepEqual(parseFrame(' dax_y+0x1/0x2 (fs/dax.c:34)'), { fn: 'dax_y', offset: '0x1', size: '0x2', file: 'fs/dax.c', line: 34, unreliable: false });
  t.deepEqual(parseFrame('[<ffffffff81234567>] _raw_spin_unlock_irq+0x24/0x40'), { fn: '_raw_spin_unlock_irq', offset: '0x24', size: '0x40', unreliable: false });
  for (const notFrame of ['Call Trace:', ' <TASK>', 'Modules linked in: ext4', 'RAX: 0000 RBX: 0000', 'Code: 48 89 07', 'Hardware name: QEMU', 'sh']) {
    t.is(parseFrame(notFrame), undefined, notFrame);
  }
  t.is(parseRip('RIP: 0010:put_page+0xf/0x80')?.fn, 'put_page');
  t.is(parseRip('RIP: 0033:0x461857'), undefined, 'user-space RIP has no symbol');
  t.is(parseAt('ffffffff82e5c0a8 (daxlab_a){+.+.}-{4:4}, at: daxlab_lock_ba+0x1d/0x40')?.fn, 'daxlab_lock_ba');
});

test('guilty function skips printing, locking, scheduling and clone suffixes', (t) => {
  const fr = (fn: string, unreliable = false) => ({ fn, unreliable });
  t.is(guiltyFunction([fr('dump_stack_lvl'), fr('__might_resched'), fr('__mutex_lock'), fr('mutex_lock_nested'), fr('daxlab_sleep_atomic.constprop.0')]), 'daxlab_sleep_atomic');
  t.is(guiltyFunction([fr('__schedule'), fr('schedule'), fr('percpu_rwsem_wait'), fr('__percpu_down_read'), fr('mnt_want_write')]), 'mnt_want_write');
  t.is(guiltyFunction([fr('dax_foo', true), fr('kfree'), fr('dax_bar')]), 'dax_bar', 'unreliable frames are never guilty');
  t.is(guiltyFunction([fr('dump_stack'), fr('panic')]), undefined);
});

test('headers of kinds with no captured sample: recognised, with stable title words', (t) => {
  const cases: [string, string, string][] = [
    ['WARNING: possible irq lock inversion dependency detected', 'lockdep-irq-inversion', 'possible deadlock'],
    ['WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected', 'lockdep-irq-order', 'possible deadlock'],
    ['INFO: trying to register non-static key.', 'lockdep-nonstatic-key', 'trying to register non-static key'],
    ['BUG: MAX_LOCKDEP_ENTRIES too low!', 'lockdep-exhausted', 'BUG: MAX_LOCKDEP_ENTRIES too low'],
    ['BUG: scheduling while atomic: sh/123/0x00000002', 'sched-atomic', 'BUG: scheduling while atomic'],
    ['watchdog: Watchdog detected hard LOCKUP on cpu 1', 'hard-lockup', 'hard LOCKUP'],
    ['BUG: unable to handle page fault for address: ffffc90000000000', 'page-fault', 'BUG: unable to handle page fault'],
    ['general protection fault, probably for non-canonical address 0xdead000000000108: 0000 [#1] SMP', 'gpf', 'general protection fault'],
    ['Oops: invalid opcode: 0000 [#1] PREEMPT SMP', 'oops', 'Oops: invalid opcode'],
    ['BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!', 'bug', 'BUG: workqueue lockup'],
    ['BUG: spinlock recursion on CPU#0, sh/12', 'bug', 'BUG: spinlock recursion'],
    ['rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:', 'rcu-stall', 'INFO: rcu detected stall'],
  ];
  for (const [line, kind, prefix] of cases) t.like(matchHeader(line), { kind, prefix }, line);
  for (const quiet of ['WARNING: unmet direct dependencies', 'INFO: lockdep is turned off.', 'task:sh state:D stack:0 pid:265', 'sysrq: Show Blocked State', 'BUG', 'Showing all locks held in the system:']) {
    t.is(matchHeader(quiet), undefined, quiet);
  }
});

test('the printk timestamp as a number, with or without a caller id; none when untimed', (t) => {
  t.is(splitLine('[    5.850863] Run /init as init process').timeS, 5.850863);
  const withCaller = splitLine('[    2.000100][    T1] Run /init as init process');
  t.is(withCaller.timeS, 2.0001);
  t.is(withCaller.text, 'Run /init as init process');
  t.is(splitLine('[    T1] Run /init as init process').timeS, undefined);
  t.is(splitLine('Probing EDD (edd=off to disable)... ok').timeS, undefined);
});
