// Console parser on real captures from the project's own guests (test/data/console/*.log; see
// capture.ts there for how each was made) and on edge cases derived from them.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleParser, parseConsoleText, type Finding } from '../harness/console/parser.ts';
import { dedupFindings } from '../harness/console/dedup.ts';
import { BootFindings, FULL_FINDINGS_PER_TITLE } from '../harness/console/boot-findings.ts';

const DATA = join(import.meta.dirname, 'data', 'console');
const load = (name: string): string => readFileSync(join(DATA, name), 'latin1');
const brief = (fs: Finding[]): string[] => fs.map((f) => `${f.step ?? '-'} ${f.kind} | ${f.title}${f.corrupted ? ' (corrupted)' : ''}`);

for (const series of ['6.12', '6.1']) {
  const file = `debian-${series}-sysrq-hung-panic.log`;
  test(`debian ${series}: boot log and SysRq w/t task dumps give no findings; hung task and panic do`, (t) => {
    const fs = parseConsoleText(load(file));
    // Step 1 is setup, step 2 is `echo w; echo t > /proc/sysrq-trigger`: hundreds of task stacks, no report.
    t.deepEqual(
      brief(fs),
      [
        '3 hung-task | INFO: task hung in mnt_want_write',
        '3 hung-task | INFO: task hung in mnt_want_write',
        '3 hung-task | INFO: task hung in mnt_want_write',
        '4 panic | kernel panic: sysrq triggered crash',
      ],
    );
    const hung = fs[0] as Finding;
    t.is(hung.comm, 'sh');
    t.true(typeof hung.pid === 'number' && hung.pid > 1);
    t.true(hung.text.includes('blocked for more than 2 seconds'));
    t.true(hung.text.trimEnd().endsWith('</TASK>'), 'report ends with its stack');
    t.deepEqual(hung.frames.slice(0, 2).map((f) => f.fn), ['__schedule', 'schedule']);
    t.true(hung.frames.some((f) => f.fn === 'mnt_want_write' && f.offset !== undefined));
    t.false(hung.frames.some((f) => f.fn.startsWith('__pfx_')), 'unreliable "? " frames are not kept');
    const panic = fs[3] as Finding;
    t.is(panic.comm, 'sh');
    t.is(typeof panic.cpu, 'number');
    t.true(panic.frames.some((f) => f.fn === 'sysrq_handle_crash'));
    t.false(panic.corrupted);
  });
}

test('debian 6.12 int3 oops during exec (seen in a real run): titled by the trap and RIP function', (t) => {
  const fs = parseConsoleText(load('../artifacts/debian-6.12-oops-int3.log'));
  t.deepEqual(brief(fs), ['1 oops | Oops: int3 in put_page']);
  const f = fs[0] as Finding;
  t.is(f.taint, 'G E');
  t.is(f.cpu, 0);
  t.is(f.comm, 'exe');
  t.deepEqual(f.frames[0], { fn: 'put_page', offset: '0xf' });
  t.true(f.text.includes('---[ end trace'));
});

test('streaming line by line (with \\r) gives the same findings as the whole-text parse', (t) => {
  const text = load('debian-6.12-sysrq-hung-panic.log');
  const p = new ConsoleParser();
  const streamed: Finding[] = [];
  const stepsSeen = new Set<number | undefined>();
  for (const l of text.split('\n')) {
    streamed.push(...p.push(l + '\r'));
    stepsSeen.add(p.currentStep);
  }
  streamed.push(...p.end());
  t.deepEqual(streamed, parseConsoleText(text));
  t.deepEqual([...stepsSeen].sort(), [1, 2, 3, 4, undefined], 'currentStep follows the agent markers');
  // Findings come out as soon as the report ends, not at EOF.
  const p2 = new ConsoleParser();
  const lines = text.split('\n');
  const firstAt = lines.findIndex((l) => p2.push(l).length > 0);
  t.true(firstAt > 0 && firstAt < lines.length - 100);
  t.regex(lines[firstAt] ?? '', /<\/TASK>/);
});

test('dedup: the three hung-task reports are one bug, counted, with their step', (t) => {
  const fs = [...parseConsoleText(load('debian-6.12-sysrq-hung-panic.log')), ...parseConsoleText(load('debian-6.1-sysrq-hung-panic.log'))];
  const groups = dedupFindings(fs);
  t.deepEqual(
    groups.map((g) => [g.title, g.kind, g.count, g.steps]),
    [
      ['INFO: task hung in mnt_want_write', 'hung-task', 6, [3]],
      ['kernel panic: sysrq triggered crash', 'panic', 2, [4]],
    ],
  );
  t.is(groups[0]?.first.line, fs[0]?.line);
});

// Hand-written (synthetic-*.log): kinds this machine's kernels cannot produce cheaply (KASAN needs
// a KASAN build; table exhaustion needs a huge lock graph) and a 5.x-era format.
test('synthetic KASAN: title from the access type and the function in the header; symbolized frames parsed', (t) => {
  const fs = parseConsoleText(load('synthetic-kasan.log'));
  t.deepEqual(brief(fs), ['7 kasan | KASAN: slab-use-after-free Read in dax_iomap_iter']);
  const f = fs[0] as Finding;
  t.deepEqual(f.frames.find((x) => x.fn === 'dax_iomap_copy_around'), { fn: 'dax_iomap_copy_around', file: 'fs/dax.c', line: 1401, inlined: true });
  t.deepEqual(f.frames.find((x) => x.fn === 'dax_iomap_rw'), { fn: 'dax_iomap_rw', offset: '0x1a3', file: 'fs/dax.c', line: 1560 });
  t.false(f.frames.some((x) => x.fn === 'ext4_alloc_inode'), 'only the report stack, not the allocation stack');
  t.true(f.text.includes('Memory state around the buggy address'), 'the report runs to its closing rule');
  t.is(f.taint, '');
  t.is(f.pid, 321);
});

test('synthetic lockdep table exhaustion and a bare "turning off" note', (t) => {
  const fs = parseConsoleText(load('synthetic-lockdep-exhausted.log'));
  t.deepEqual(brief(fs), ['2 lockdep-exhausted | BUG: MAX_LOCKDEP_CHAINS too low', '3 lockdep-off | lockdep turned off']);
  t.true(fs[0]?.text.includes('turning off the locking correctness validator'), 'the note after the BUG line is part of that report');
  t.is(fs[0]?.comm, 'kworker/0:2');
});

test('synthetic 5.x format: no timestamps, no <TASK> markers, module frames, WARN message kept', (t) => {
  const fs = parseConsoleText(load('synthetic-old-format.log'));
  t.deepEqual(brief(fs), ['4 warning | WARNING in dax_disassociate_entry', '4 hung-task | INFO: task hung in ext4_break_layouts']);
  const w = fs[0] as Finding;
  t.true(w.text.startsWith('------------[ cut here ]------------\ndax entry refcount underflow\nWARNING: CPU: 1'), 'preamble and WARN message included');
  t.is(w.line, 2);
  t.is(w.taint, 'G W');
  t.deepEqual(w.frames.find((x) => x.fn === 'ext4_setattr'), { fn: 'ext4_setattr', offset: '0x4f4' });
  const h = fs[1] as Finding;
  t.false(h.corrupted, 'an unmarked trace ends at the step marker');
  t.is(h.frames.at(-1)?.fn, 'entry_SYSCALL_64_after_hwframe');
  t.is(h.comm, 'repro');
  t.is(h.pid, 813);
});

// Edge cases derived from the real Debian 6.12 capture by derive.ts.
test('printk.time=0: the same findings, titles and steps as with timestamps', (t) => {
  const timed = parseConsoleText(load('debian-6.12-sysrq-hung-panic.log'));
  const untimed = parseConsoleText(load('derived-notime-debian-6.12.log'));
  t.deepEqual(brief(untimed), brief(timed));
  t.deepEqual(untimed.map((f) => f.frames), timed.map((f) => f.frames));
  t.deepEqual(untimed.map((f) => [f.line, f.pid, f.comm, f.taint]), timed.map((f) => [f.line, f.pid, f.comm, f.taint]));
});

test('two hung-task reports interleaved without caller ids: both flagged corrupted, nothing invented', (t) => {
  const fs = parseConsoleText(load('derived-interleaved-debian-6.12.log'));
  t.deepEqual(brief(fs), [
    '3 hung-task | INFO: task hung (corrupted)',
    '3 hung-task | INFO: task hung in mnt_want_write (corrupted)',
    '3 hung-task | INFO: task hung in mnt_want_write',
    '4 panic | kernel panic: sysrq triggered crash',
  ]);
});

test('a report cut by a reboot is corrupted; the next boot starts outside any step', (t) => {
  const text = load('derived-reboot-debian-6.12.log');
  const p = new ConsoleParser();
  const fs: Finding[] = [];
  let stepAfterBanner: number | undefined = -1;
  let banners = 0;
  for (const l of text.split('\n')) {
    fs.push(...p.push(l));
    if (l.includes('Linux version ') && ++banners === 2) stepAfterBanner = p.currentStep;
  }
  fs.push(...p.end());
  t.deepEqual(brief(fs), ['3 hung-task | INFO: task hung in mnt_want_write (corrupted)']);
  t.is(stepAfterBanner, undefined);
  t.false(fs[0]?.text.includes('Linux version'), 'the new boot is not part of the cut report');
});

test('a guest repeating one report forever: counts stay exact, memory does not grow with it', (t) => {
  const hung = load('debian-6.12-sysrq-hung-panic.log').split('\n').slice(1562, 1591);
  const b = new BootFindings();
  for (let i = 0; i < 200; i++) for (const l of hung) b.push(l);
  b.end();
  t.is(b.all.length, 200);
  t.true(b.all.every((f) => f.title === 'INFO: task hung in mnt_want_write'));
  t.is(b.all.filter((f) => f.text !== '').length, FULL_FINDINGS_PER_TITLE);
  t.is(dedupFindings(b.all)[0]?.count, 200);
});

test('synthetic UBSAN (6.12 format, with caller ids): titled by the first frame outside the sanitizer', (t) => {
  const fs = parseConsoleText(load('synthetic-ubsan.log'));
  t.deepEqual(brief(fs), ['8 ubsan | UBSAN: array-index-out-of-bounds in daxlab_ubsan']);
  t.true(fs[0]?.text.includes("index 5 is out of range for type 'int [4]'"));
  t.is(fs[0]?.pid, 203);
});
