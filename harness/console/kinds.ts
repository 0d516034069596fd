// Report headers: the one line that opens each kind of kernel report, and how that report ends.
// Facts come from the kernel's own printk formats (kernel/locking/lockdep.c, lib/bug.c,
// arch/x86/mm/fault.c, kernel/hung_task.c, kernel/watchdog.c, kernel/rcu/tree_stall.h,
// mm/kasan/report.c, lib/ubsan.c, kernel/panic.c), 6.1 and 6.12.

/**
 * How a report ends:
 * - trace: at `---[ end trace ... ]---` (WARN, BUG, oops, UBSAN)
 * - task:  at the `</TASK>` that closes its stack (lockdep, hung task, lockups, panic)
 * - rule:  at a line of `=` (KASAN; UBSAN on older kernels)
 * - locks: after the "N locks held by" list (lockdep reports without a stack)
 * - line:  the header line is the whole report
 */
export type EndRule = 'trace' | 'task' | 'rule' | 'locks' | 'line';

export interface Header {
  kind: string;
  end: EndRule;
  /** Title words fixed by the header; the title adds "in FUNC" when there is a guilty frame. */
  prefix: string;
  /** Guilty function named by the header itself (WARN site, KASAN access). */
  fn?: string;
  /** Lines with no stack trace after which a `task` report is over anyway. */
  noTraceLimit?: number;
  cpu?: number;
  pid?: number;
  comm?: string;
}

type Make = (m: RegExpExecArray) => Header;

interface Spec {
  re: RegExp;
  make: Make;
}

const fixed =
  (kind: string, end: EndRule, prefix: string, noTraceLimit?: number): Make =>
  () =>
    noTraceLimit === undefined ? { kind, end, prefix } : { kind, end, prefix, noTraceLimit };

// Lockdep prints one of these after a line of '=' (the reports switch lockdep off afterwards).
const LOCKDEP: Spec[] = [
  { re: /^WARNING: possible circular locking dependency detected/, make: fixed('lockdep-circular', 'task', 'possible deadlock') },
  { re: /^WARNING: possible recursive locking detected/, make: fixed('lockdep-recursive', 'task', 'possible deadlock') },
  { re: /^WARNING: possible irq lock inversion dependency detected/, make: fixed('lockdep-irq-inversion', 'task', 'possible deadlock') },
  { re: /^WARNING: [A-Z]+-safe -> [A-Z]+-unsafe lock order detected/, make: fixed('lockdep-irq-order', 'task', 'possible deadlock') },
  { re: /^WARNING: inconsistent lock state/, make: fixed('lockdep-inconsistent', 'task', 'inconsistent lock state') },
  { re: /^WARNING: suspicious RCU usage/, make: fixed('lockdep-rcu', 'task', 'suspicious RCU usage') },
  { re: /^WARNING: bad unlock balance detected!/, make: fixed('lockdep-bad-unlock', 'task', 'bad unlock balance') },
  { re: /^WARNING: held lock freed!/, make: fixed('lockdep-held-freed', 'task', 'held lock freed') },
  { re: /^WARNING: lock held when returning to user space!/, make: fixed('lockdep-held-return', 'locks', 'lock held when returning to user space') },
  { re: /^WARNING: Nested lock was not taken/, make: fixed('lockdep-nested', 'task', 'nested lock was not taken') },
  { re: /^WARNING: bad contention detected!/, make: fixed('lockdep-bad-contention', 'task', 'bad contention') },
  { re: /^\[ BUG: Invalid wait context \]/, make: fixed('lockdep-invalid-wait', 'task', 'invalid wait context') },
  { re: /^BUG: (MAX_[A-Z_]+) too low!/, make: (m) => ({ kind: 'lockdep-exhausted', end: 'task', prefix: `BUG: ${m[1]} too low`, noTraceLimit: 4 }) },
  { re: /^INFO: trying to register non-static key\./, make: fixed('lockdep-nonstatic-key', 'task', 'trying to register non-static key', 12) },
  { re: /^BUG: looking up invalid subclass/, make: fixed('lockdep-bad-subclass', 'task', 'looking up invalid lock subclass', 6) },
  { re: /^turning off the locking correctness validator\./, make: fixed('lockdep-off', 'line', 'lockdep turned off') },
];

const WARNING = /^WARNING: (?:CPU: (\d+) PID: (\d+) )?at ([\w./+-]+):(\d+) ([A-Za-z_.$][\w.$]*)/;

const OTHER: Spec[] = [
  {
    re: WARNING,
    make: (m) => {
      const h: Header = { kind: 'warning', end: 'trace', prefix: 'WARNING', fn: m[5] as string };
      if (m[1] !== undefined) h.cpu = Number(m[1]);
      if (m[2] !== undefined) h.pid = Number(m[2]);
      return h;
    },
  },
  { re: /^BUG: sleeping function called from invalid context/, make: fixed('sleep-in-atomic', 'task', 'BUG: sleeping function called from invalid context') },
  { re: /^BUG: scheduling while atomic/, make: fixed('sched-atomic', 'task', 'BUG: scheduling while atomic') },
  { re: /^kernel BUG at [\w./+-]+:\d+!/, make: fixed('kernel-bug', 'trace', 'kernel BUG') },
  { re: /^BUG: kernel NULL pointer dereference/, make: fixed('page-fault', 'trace', 'BUG: kernel NULL pointer dereference') },
  { re: /^BUG: unable to handle kernel NULL pointer dereference/, make: fixed('page-fault', 'trace', 'BUG: kernel NULL pointer dereference') },
  { re: /^BUG: unable to handle (?:page fault|kernel paging request)/, make: fixed('page-fault', 'trace', 'BUG: unable to handle page fault') },
  { re: /^(?:Oops: )?general protection fault/, make: fixed('gpf', 'trace', 'general protection fault') },
  {
    re: /^BUG: KASAN: ([\w-]+) in ([A-Za-z_.$][\w.$]*)/,
    make: (m) => ({ kind: 'kasan', end: 'rule', prefix: `KASAN: ${m[1]}`, fn: m[2] as string }),
  },
  { re: /^UBSAN: ([\w-]+) in /, make: (m) => ({ kind: 'ubsan', end: 'trace', prefix: `UBSAN: ${m[1]}` }) },
  {
    re: /^INFO: task (.{1,64}):(\d+) blocked for more than \d+ seconds\./,
    make: (m) => ({ kind: 'hung-task', end: 'task', prefix: 'INFO: task hung', comm: m[1] as string, pid: Number(m[2]) }),
  },
  {
    re: /^(?:watchdog: )?BUG: soft lockup - CPU#(\d+) stuck for \d+s! \[(.{1,64}):(\d+)\]/,
    make: (m) => ({ kind: 'soft-lockup', end: 'task', prefix: 'BUG: soft lockup', cpu: Number(m[1]), comm: m[2] as string, pid: Number(m[3]) }),
  },
  { re: /^(?:watchdog: )?Watchdog detected hard LOCKUP on cpu (\d+)/, make: (m) => ({ kind: 'hard-lockup', end: 'task', prefix: 'hard LOCKUP', cpu: Number(m[1]) }) },
  { re: /^(?:rcu: )?INFO: rcu_\w+ (?:detected stalls|self-detected stall|detected expedited stalls)/, make: fixed('rcu-stall', 'task', 'INFO: rcu detected stall', 60) },
  { re: /^Kernel panic - not syncing: /, make: fixed('panic', 'task', 'kernel panic', 30) },
  // A bare oops (no BUG line before it, e.g. an invalid opcode outside BUG()).
  // The trap name ("int3", "invalid opcode") is stable and says what happened; the error code is not.
  {
    re: /^Oops: (?!general protection)(?:Oops: )?(?:([a-z][a-z0-9 ]{1,30}): )?/,
    make: (m) => ({ kind: 'oops', end: 'trace', prefix: m[1] ? `Oops: ${m[1]}` : 'Oops' }),
  },
  // Any other "BUG: what" (spinlock debugging, bad page state, workqueue lockup, ...).
  { re: /^BUG: ([A-Za-z][\w -]{2,60})/, make: (m) => ({ kind: 'bug', end: 'task', prefix: `BUG: ${bugWhat(m[1] as string)}`, noTraceLimit: 30 }) },
];

/** "workqueue lockup - pool cpus" -> "workqueue lockup": the words before any detail. */
function bugWhat(s: string): string {
  return s.split(/ - | on CPU| in | at | for /)[0]?.trim() ?? s.trim();
}

const SPECS: Spec[] = [...LOCKDEP, ...OTHER];

// Cheap test first: almost no console line can start a report.
const MAYBE = /^(?:WARNING|BUG|INFO|\[ BUG|kernel BUG|Oops|general|UBSAN|watchdog|rcu: INFO|Kernel panic|turning off)/;

/** The header this line opens, if it opens a report. */
export function matchHeader(text: string): Header | undefined {
  if (!MAYBE.test(text)) return undefined;
  for (const s of SPECS) {
    const m = s.re.exec(text);
    if (m) return s.make(m);
  }
  return undefined;
}

/**
 * Headers that, inside an open report of `openKind`, are part of it rather than a new report:
 * the Oops line after a BUG line, lockdep's "turning off" note, a panic the report caused.
 */
export function continues(openKind: string, h: Header): boolean {
  if (h.kind === 'lockdep-off' || h.kind === 'panic') return true;
  if (h.kind === 'oops') return openKind === 'kernel-bug' || openKind === 'page-fault' || openKind === 'gpf' || openKind === 'oops';
  if (h.kind === 'gpf') return openKind === 'page-fault';
  return false;
}
