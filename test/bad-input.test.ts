// Bad input through the real CLI: every case exits 2 with one clear line on stderr (naming file,
// line and field where a file is at fault) and leaves nothing behind: no results directory, no
// cache entry, no temp dir. Cases that involve a kernel build use a stand-in kernel tree
// (test/data/bad-input/ktree) so the patch and kconfig checks of the real build pipeline run in
// seconds; each gets a cache of its own so nothing half-built could hide among old entries.
import test, { type ExecutionContext } from 'ava';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { root } from './helpers.ts';

const B = 'test/data/bad-input';
const K = `${B}/kspec`;

interface Dirs {
  base: string;
  out: string;
  results: string;
  tmp: string;
  cache: string;
}

interface Case {
  name: string;
  args: (d: Dirs) => string[];
  /** The one error line. */
  expect: RegExp;
  /** Lines that follow the error line (gcc's excerpt, caret and summary), in order; default none. */
  detail?: RegExp[];
  /**
   * Work that legitimately started before the failure (kernel build steps, compiling) logs
   * progress lines (`[   1.2s] ...`) on stderr; they may precede the error line, nothing else may.
   */
  progress?: boolean;
  /** Give the run a cache of its own (DAXLAB_CACHE) and check no kernel entry appears in it. */
  ownCache?: boolean;
  /** Run as an unprivileged user, so a missing host package is reported instead of installed. */
  unprivileged?: boolean;
  setup?: (d: Dirs) => void;
  /** Extra checks that nothing was written (or that what was written is right). */
  after?: (t: ExecutionContext, d: Dirs, stderr: string) => void;
  /** Skip with a logged reason when the machine cannot present this case. */
  precondition?: () => string | undefined;
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** `file:line: field: message` with the file relative or absolute. */
const at = (file: string, line: number | string | undefined, field: string | undefined, msg: string): RegExp =>
  new RegExp(`^(?:/\\S*/)?${esc(file)}${line !== undefined ? `:${line}` : ''}:${field ? ` ${esc(field)}:` : ''} ${msg}`);
const plain = (msg: string): RegExp => new RegExp(`^daxlab: ${msg}`);

const run = (...a: string[]) => (d: Dirs) => ['run', ...a, '--out', d.out];

const cases: Case[] = [
  // Scenario files.
  { name: 'YAML syntax error', args: run(`${B}/yaml-syntax.yaml`), expect: at(`${B}/yaml-syntax.yaml`, 4, undefined, 'YAML syntax: Flow sequence') },
  { name: 'unknown key', args: run(`${B}/unknown-key.yaml`), expect: at(`${B}/unknown-key.yaml`, 3, 'filesytem', "unknown key \\(did you mean 'filesystem'\\?\\)$") },
  { name: 'wrong type', args: run(`${B}/wrong-type.yaml`), expect: at(`${B}/wrong-type.yaml`, 3, 'repetitions', "expected a number, got 'many'$") },
  { name: 'unknown reproducer file', args: run(`${B}/missing-reproducer.yaml`), expect: at(`${B}/missing-reproducer.yaml`, 2, 'reproducer', 'reproducer not found: test/data/bad-input/does-not-exist\\.c') },
  { name: 'reproducer that is not C', args: run(`${B}/not-c.yaml`), expect: at(`${B}/not-c.yaml`, 2, 'reproducer', 'reproducer must be a \\.c file') },
  { name: 'required field missing', args: run(`${B}/no-reproducer.yaml`), expect: at(`${B}/no-reproducer.yaml`, 1, 'reproducer', 'required field is missing') },
  { name: 'pmem too large', args: run(`${B}/pmem-huge.yaml`), expect: at(`${B}/pmem-huge.yaml`, 3, 'pmem', 'pmem size 100T is outside 64M\\.\\.64G') },
  { name: 'pmem too small', args: run(`${B}/pmem-tiny.yaml`), expect: at(`${B}/pmem-tiny.yaml`, 3, 'pmem', 'pmem size 1M is outside') },
  { name: 'pmem too small for xfs', args: run(`${B}/xfs-pmem-small.yaml`), expect: at(`${B}/xfs-pmem-small.yaml`, 5, 'pmem', 'pmem size 256M is too small for xfs \\(mkfs\\.xfs refuses filesystems under 300 MB; use 512M or more\\)$') },
  { name: 'pmem not 2M aligned', args: run(`${B}/pmem-unaligned.yaml`), expect: at(`${B}/pmem-unaligned.yaml`, 3, 'pmem', 'pmem size must be a multiple of 2M') },
  { name: 'pmem not a size', args: run(`${B}/pmem-not-size.yaml`), expect: at(`${B}/pmem-not-size.yaml`, 3, 'pmem', "not a size: 'lots'") },
  { name: 'duplicate YAML key', args: run(`${B}/duplicate-key.yaml`), expect: at(`${B}/duplicate-key.yaml`, 4, undefined, 'YAML syntax: Map keys must be unique') },
  { name: 'scalar where a list is expected', args: run(`${B}/scalar-for-list.yaml`), expect: at(`${B}/scalar-for-list.yaml`, 3, 'args', "expected a list, got '--iterations'$") },
  { name: 'unknown filesystem in a list', args: run(`${B}/bad-fs.yaml`), expect: at(`${B}/bad-fs.yaml`, 3, 'filesystem.1', "expected one of ext4, xfs; got 'btrfs'$") },
  { name: 'unknown DAX mode', args: run(`${B}/bad-dax.yaml`), expect: at(`${B}/bad-dax.yaml`, 3, 'dax', "expected one of always, never, inode; got 'sometimes'$") },
  { name: 'misspelt DAX mode in a list', args: run(`${B}/bad-dax-member.yaml`), expect: at(`${B}/bad-dax-member.yaml`, 3, 'dax.1', "expected one of always, never, inode; got 'nevr' \\(did you mean 'never'\\?\\)$") },
  { name: 'negative timeout', args: run(`${B}/bad-timeout.yaml`), expect: at(`${B}/bad-timeout.yaml`, 3, 'timeout', "not a duration: '-5'") },
  { name: 'bad scenario id', args: run(`${B}/bad-id.yaml`), expect: at(`${B}/bad-id.yaml`, 1, 'id', 'lower-case letters, digits') },
  { name: 'scratch_iops without scratch', args: run(`${B}/iops-no-scratch.yaml`), expect: at(`${B}/iops-no-scratch.yaml`, 3, 'scratch_iops', 'scratch_iops needs scratch: true') },
  { name: 'top level is a list', args: run(`${B}/top-level-list.yaml`), expect: at(`${B}/top-level-list.yaml`, 1, undefined, 'a scenario must be a YAML mapping') },
  { name: 'empty file', args: run(`${B}/empty.yaml`), expect: at(`${B}/empty.yaml`, 1, undefined, 'empty file') },
  {
    name: 'binary garbage file',
    setup: (d) => {
      // Deterministic noise with NULs, a clear-screen and an OSC 52 clipboard write in it.
      const b = Buffer.alloc(4096);
      let x = 7;
      for (let i = 0; i < b.length; i++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        b[i] = x >>> 24;
      }
      b.write('\x1b[2J\x1b]52;c;aGVsbG8=\x07\0', 100, 'latin1');
      writeFileSync(join(d.base, 'garbage.yaml'), b);
    },
    args: (d) => ['run', join(d.base, 'garbage.yaml'), '--out', d.out],
    expect: /garbage\.yaml:\d+: not a text file \(binary data at byte \d+\)$/,
  },
  { name: 'directory without scenario.yaml', args: run(`${B}/no-scenario`), expect: plain('test/data/bad-input/no-scenario: directory has no scenario\\.yaml') },
  { name: 'unknown scenario id', args: run('no-such-scenario'), expect: plain("no scenario 'no-such-scenario' \\(not a file, a directory, or a catalog id") },
  { name: 'misspelt catalog id', args: run('truncate-latancy'), expect: plain("no scenario 'truncate-latancy' \\(did you mean 'truncate-latency'\\?\\) \\(not a file") },
  { name: 'scenario id given twice', args: run(`${B}/good.yaml`, `${B}/good-again.yaml`), expect: at(`${B}/good-again.yaml`, undefined, 'id', "scenario id 'good' given twice \\(also in test/data/bad-input/good\\.yaml\\)") },
  {
    name: 'reproducer that does not compile: gcc error at the C file and line',
    args: run(`${B}/does-not-compile.yaml`),
    expect: at(`${B}/nocompile.c`, '5:16', undefined, 'error: .undeclared_thing. undeclared \\(first use in this function\\)$'),
    detail: [/^ {4}5 \| {9}return undeclared_thing;$/, /^ {6}\| {16}\^~{15}$/, note(`${B}/nocompile.c`, '5:16', 'each undeclared identifier'), doesNotCompile(`${B}/nocompile.c`, 0)],
    progress: true,
    after: (t, _d, stderr) => compileLog(t, stderr, [/^\$ gcc -static .*nocompile\.c$/m, /undeclared_thing/]),
  },
  {
    name: "reproducer with a misspelt identifier: gcc's did-you-mean and fix-it",
    args: run(`${B}/compile-typo.yaml`),
    expect: at(`${B}/compile-typo.c`, '6:16', undefined, 'error: .pags. undeclared \\(first use in this function\\); did you mean .pages.\\?$'),
    detail: [/^ {4}6 \| {9}return pags;$/, /^ {6}\| {16}\^~~~$/, /^ {6}\| {16}pages$/, note(`${B}/compile-typo.c`, '6:16', 'each undeclared'), doesNotCompile(`${B}/compile-typo.c`, 0)],
    progress: true,
    after: (t, _d, stderr) => compileLog(t, stderr, [/did you mean/]),
  },
  {
    name: 'reproducer with a missing semicolon: the first error, and the count of the rest',
    args: run(`${B}/compile-semicolon.yaml`),
    expect: at(`${B}/compile-semicolon.c`, '5:9', undefined, 'error: expected .,. or .;. before .return.$'),
    detail: [/^ {4}5 \| {9}return n;$/, /^ {6}\| {9}\^~{5}$/, doesNotCompile(`${B}/compile-semicolon.c`, 0)],
    progress: true,
    // Outside the catalog a warning is not an error: it is in the log, not counted.
    after: (t, _d, stderr) => compileLog(t, stderr, [/compile-semicolon\.c:4:13: warning: unused variable/]),
  },
  {
    name: 'reproducer with three errors: the first one, and "2 more errors"',
    args: run(`${B}/compile-three-errors.yaml`),
    expect: at(`${B}/compile-three-errors.c`, '2:29', undefined, 'error: .first_undeclared. undeclared'),
    detail: [/^ {4}2 \| static int a/, /^ {6}\| +\^~+$/, note(`${B}/compile-three-errors.c`, '2:29', 'each undeclared'), doesNotCompile(`${B}/compile-three-errors.c`, 2)],
    progress: true,
    after: (t, _d, stderr) => compileLog(t, stderr, [/second_undeclared/, /third_undeclared/]),
  },
  {
    name: 'reproducer that does not link: the undefined reference, not the "in function" line',
    args: run(`${B}/compile-link.yaml`),
    expect: at(`${B}/compile-link.c`, undefined, undefined, "error: undefined reference to 'frobnicate_pages' \\(in function 'main'\\)$"),
    detail: [doesNotCompile(`${B}/compile-link.c`, 1)],
    progress: true,
    after: (t, _d, stderr) => compileLog(t, stderr, [/undefined reference to `unpin_everything'/]),
  },
  // Foreign reproducers: compile settings, verdict fields, shell scripts.
  { name: 'cflags entry that is not a flag', args: run(`${B}/cflags-not-flag.yaml`), expect: at(`${B}/cflags-not-flag.yaml`, 3, 'cflags.1', "expected a compiler flag starting with '-', got 'O2'") },
  { name: 'cflags that would not build a binary', args: run(`${B}/cflags-compile-only.yaml`), expect: at(`${B}/cflags-compile-only.yaml`, 5, 'cflags.1', "'-c' would not produce the reproducer binary") },
  { name: 'cflags for a shell reproducer', args: run(`${B}/cflags-shell.yaml`), expect: at(`${B}/cflags-shell.yaml`, 3, 'cflags', 'cflags are for a C reproducer; ok\\.sh is a shell script$') },
  { name: 'libs entry that is not -lNAME', args: run(`${B}/libs-not-l.yaml`), expect: at(`${B}/libs-not-l.yaml`, 3, 'libs.0', "expected -lNAME \\(e\\.g\\. -laio, -luring\\), got 'aio'$") },
  { name: 'expect_exit out of range', args: run(`${B}/expect-exit-big.yaml`), expect: at(`${B}/expect-exit-big.yaml`, 3, 'expect_exit', 'must be at most 255, got 300$') },
  { name: 'misspelt verdict_from', args: run(`${B}/verdict-from-typo.yaml`), expect: at(`${B}/verdict-from-typo.yaml`, 3, 'verdict_from', "expected one of exit, console, both; got 'consol' \\(did you mean 'console'\\?\\)$") },
  { name: 'expect_exit with verdict_from: console', args: run(`${B}/expect-exit-console.yaml`), expect: at(`${B}/expect-exit-console.yaml`, 4, 'expect_exit', 'expect_exit has no effect with verdict_from: console') },
  { name: 'args naming a variable the agent does not set', args: run(`${B}/args-unknown-var.yaml`), expect: at(`${B}/args-unknown-var.yaml`, 3, 'args.2', 'unknown variable \\$DAXLAB_SCRTCH \\(did you mean \\$DAXLAB_SCRATCH\\?\\); the agent expands \\$DAXLAB_DIR, ') },
  {
    name: 'libs: a library nobody packages for daxlab: one line saying how to find its package',
    args: run(`${B}/libs-unknown.yaml`),
    expect: at(`${B}/libs-unknown.yaml`, 3, 'libs', 'static library -ldaxlab-no-such-lib not found \\(libdaxlab-no-such-lib\\.a; reproducers are linked with -static\\): install the Debian -dev package that has libdaxlab-no-such-lib\\.a \\(apt-file search libdaxlab-no-such-lib\\.a names it\\)$'),
    progress: true,
  },
  {
    name: 'libs: a missing -laio as an unprivileged user names libaio-dev',
    precondition: () => (existsSync('/usr/lib/x86_64-linux-gnu/libaio.a') ? 'libaio-dev is installed: -laio is not missing' : undefined),
    args: run(`${B}/libs-aio.yaml`),
    expect: at(`${B}/libs-aio.yaml`, 3, 'libs', 'static library -laio not found \\(libaio\\.a; reproducers are linked with -static\\): install it with apt-get install libaio-dev$'),
    progress: true,
    ownCache: true,
    unprivileged: true,
  },
  { name: 'shell reproducer with a syntax error: file and line', args: run(`${B}/shell-syntax.yaml`), expect: at(`${B}/syntax.sh`, 4, undefined, 'syntax error: unexpected "fi"$'), progress: true },
  // Command-line options.
  { name: '--guest-cpus 0', args: run(`${B}/good.yaml`, '--guest-cpus', '0'), expect: plain("--guest-cpus must be 1\\.\\.64, got '0'") },
  { name: '--mem 1K', args: run(`${B}/good.yaml`, '--mem', '1K'), expect: plain("--mem must be a size of at least 256M, got '1K'") },
  { name: '--accel foo', args: run(`${B}/good.yaml`, '--accel', 'foo'), expect: plain("option '--accel <accel>' argument 'foo' is invalid\\. Allowed choices are auto, kvm, tcg") },
  { name: '--clock with a misspelt value', args: run(`${B}/good.yaml`, '--clock', 'icont'), expect: plain("option '--clock <clock>' argument 'icont' is invalid\\. Allowed choices are host, icount \\(did you mean 'icount'\\?\\)\\. \\(see --help\\)$") },
  { name: '--tcg-thread with a misspelt value', args: run(`${B}/good.yaml`, '--tcg-thread', 'mult'), expect: plain("option '--tcg-thread <mode>' argument 'mult' is invalid\\. Allowed choices are single, multi \\(did you mean 'multi'\\?\\)") },
  { name: '--accel with a terminal escape in the value', args: run(`${B}/good.yaml`, '--accel', 'k\x1b[2Jvm'), expect: plain("option '--accel <accel>' argument 'k\\?\\[2Jvm' is invalid") },
  { name: 'misspelt option: did-you-mean on the same line', args: run(`${B}/good.yaml`, '--acel', 'kvm'), expect: plain("unknown option '--acel' \\(Did you mean --accel\\?\\) \\(see --help\\)$") },
  { name: '-j with a word', args: run(`${B}/good.yaml`, '-j', 'many'), expect: plain("--jobs must be 1\\.\\.64, got 'many'$") },
  { name: '--firmware foo', args: run(`${B}/good.yaml`, '--firmware', 'foo'), expect: plain("option '--firmware <fw>' argument 'foo' is invalid") },
  { name: 'unknown option', args: run(`${B}/good.yaml`, '--frobnicate'), expect: plain("unknown option '--frobnicate'") },
  { name: 'unknown command', args: () => ['frobnicate'], expect: plain("unknown command 'frobnicate'") },
  { name: '--boot-timeout -1', args: run(`${B}/good.yaml`, '--boot-timeout', '-1'), expect: plain('--boot-timeout must be a positive number of seconds') },
  { name: '--resume of a run that does not exist', args: run('--resume', 'no-such-run'), expect: plain("no run 'no-such-run' \\(expected a run id under ") },
  { name: '--resume with scenario arguments', args: run(`${B}/good.yaml`, '--resume', 'no-such-run'), expect: plain('--resume takes the scenarios of the interrupted run') },
  // Scenario overrides on the command line.
  { name: '--fs with a misspelt filesystem', args: run(`${B}/good.yaml`, '--fs', 'ext4,xsf'), expect: plain("--fs: 'xsf' is not one of ext4, xfs \\(did you mean 'xfs'\\?\\)$") },
  { name: '--dax with an unknown mode', args: run(`${B}/good.yaml`, '--dax', 'sometimes'), expect: plain("--dax: 'sometimes' is not one of always, never, inode$") },
  { name: '--repetitions 0', args: run(`${B}/good.yaml`, '--repetitions', '0'), expect: plain("--repetitions must be 1\\.\\.10000, got '0'$") },
  { name: '--timeout that is not a duration', args: run(`${B}/good.yaml`, '--timeout', '5 minutes'), expect: plain("--timeout: not a duration: '5 minutes'") },
  { name: 'reproducer arguments with two scenarios', args: run(`${B}/good.yaml`, 'test/data/scenarios/tl-one', '--', '-n', '3'), expect: plain('reproducer arguments after -- need exactly one scenario \\(2 given\\)$') },
  { name: '--fs xfs on a scenario whose pmem is too small for it', args: run('test/data/scenarios/tl-one', '--fs', 'xfs'), expect: plain("scenario 'tl-one' with --fs xfs: pmem 256M is too small for xfs \\(mkfs\\.xfs refuses filesystems under 300 MB; use 512M or more\\); add --pmem 512M$") },
  { name: '--pmem that is not a size', args: run(`${B}/good.yaml`, '--pmem', 'big'), expect: plain("--pmem must be a size of 64M\\.\\.64G, a multiple of 2M, got 'big'$") },
  { name: '--resume with an override', args: run('--resume', 'no-such-run', '--fs', 'xfs'), expect: plain('--resume runs the rest of the interrupted run as it started') },
  // Kernels given to `run`.
  { name: 'unknown Debian kernel series', args: run(`${B}/good.yaml`, '--kernel', 'debian:5.10'), expect: plain("unknown Debian kernel series '5\\.10' \\(known: debian:6\\.1, debian:6\\.12\\)") },
  { name: 'unrecognised kernel spec', args: run(`${B}/good.yaml`, '--kernel', 'linux-latest'), expect: plain("unrecognised kernel spec 'linux-latest'") },
  { name: 'bzImage that does not exist', args: run(`${B}/good.yaml`, '--kernel', '/nonexistent/bzImage'), expect: plain('kernel image not found: /nonexistent/bzImage'), progress: true },
  { name: 'file that is not a bzImage', args: run(`${B}/good.yaml`, '--kernel', `${B}/not-a-kernel/bzImage`), expect: plain('\\S*test/data/bad-input/not-a-kernel/bzImage is not an x86 bzImage') },
  {
    name: 'run with a kernel whose patch does not apply stops before building',
    args: run(`${B}/good.yaml`, '--kernel', `${K}/patch-fails.yaml`),
    expect: at(`${K}/bad.patch`, 3, undefined, 'patch does not apply: mm/gup\\.c hunk #1 \\(at line 1\\) FAILED'),
    progress: true,
    ownCache: true,
  },
  // `daxlab kernel build` with bad specs.
  { name: 'kernel build: unrecognised spec', args: () => ['kernel', 'build', 'linux-latest'], expect: plain("unrecognised kernel spec 'linux-latest'") },
  { name: 'kernel build: missing spec argument', args: () => ['kernel', 'build'], expect: plain("missing required argument 'spec'") },
  { name: 'kernel build: spec file not found', args: () => ['kernel', 'build', `${K}/no-such-spec.yaml`], expect: plain('kernel spec file not found: \\S*kspec/no-such-spec\\.yaml') },
  { name: 'kernel spec: YAML syntax error', args: () => ['kernel', 'build', `${K}/syntax.yaml`], expect: at(`${K}/syntax.yaml`, 3, undefined, 'invalid YAML: Flow map') },
  { name: 'kernel spec: unknown key', args: () => ['kernel', 'build', `${K}/unknown-key.yaml`], expect: at(`${K}/unknown-key.yaml`, 3, 'pathces', "unknown key 'pathces'") },
  { name: 'kernel spec: no source', args: () => ['kernel', 'build', `${K}/no-source.yaml`], expect: at(`${K}/no-source.yaml`, 1, undefined, 'missing source:') },
  { name: 'kernel spec: unknown Debian source series', args: () => ['kernel', 'build', `${K}/unknown-debian-src.yaml`], expect: at(`${K}/unknown-debian-src.yaml`, 1, 'source', "bad source 'debian-src:latest'") },
  { name: 'kernel spec: unknown config base', args: () => ['kernel', 'build', `${K}/unknown-base.yaml`], expect: at(`${K}/unknown-base.yaml`, 3, 'config.base', "unknown config base 'allyesconfig'") },
  { name: 'kernel spec: malformed config option', args: () => ['kernel', 'build', `${K}/bad-option.yaml`], expect: at(`${K}/bad-option.yaml`, 3, 'config.options', "bad config option 'NOT AN OPTION'") },
  { name: 'kernel spec: unknown kconfig fragment', args: () => ['kernel', 'build', `${K}/unknown-fragment.yaml`], expect: at(`${K}/unknown-fragment.yaml`, 2, 'config', "kconfig fragment 'no-such-fragment' not found"), progress: true, ownCache: true },
  { name: 'kernel spec: patch file not found', args: () => ['kernel', 'build', `${K}/missing-patch.yaml`], expect: at(`${K}/missing-patch.yaml`, 3, 'patches', 'patch path not found: \\S*kspec/no-such\\.patch'), progress: true, ownCache: true },
  { name: 'kernel spec: series names a missing patch', args: () => ['kernel', 'build', `${K}/missing-series.yaml`], expect: at(`${K}/missing-series/series`, 2, undefined, "patch '0001-missing\\.patch' listed in the series does not exist"), progress: true, ownCache: true },
  { name: 'kernel spec: source is not a kernel tree', args: () => ['kernel', 'build', `${K}/not-a-tree.yaml`], expect: at(`${K}/not-a-tree.yaml`, 1, 'source', '\\S*test/data/bad-input/no-scenario is not a kernel tree \\(no Makefile\\)'), progress: true, ownCache: true },
  { name: 'kernel build: patch that does not apply (2nd of a series)', args: () => ['kernel', 'build', `${K}/patch-fails.yaml`], expect: at(`${K}/bad.patch`, 3, undefined, 'patch does not apply: mm/gup\\.c hunk #1 \\(at line 1\\) FAILED'), progress: true, ownCache: true },
  {
    name: 'kernel build: inline spec with a patch that does not apply',
    args: () => ['kernel', 'build', `source=tree:${B}/ktree,config=tiny,patches=${K}/bad.patch`],
    expect: at(`${K}/bad.patch`, 3, undefined, 'patch does not apply'),
    progress: true,
    ownCache: true,
  },
  { name: 'kernel build: inline spec with an unknown key', args: () => ['kernel', 'build', `source=tree:${B}/ktree,frob=1`], expect: plain("unknown key 'frob' in kernel spec") },
  {
    name: 'kernel build: kconfig option that cannot be enabled',
    args: () => ['kernel', 'build', `${K}/kconfig-dropped.yaml`],
    expect: at(`${K}/kconfig-dropped.yaml`, 6, 'config.options', 'CONFIG_DAXLAB_TEST_BROKEN=y was dropped by kconfig \\(final \\.config: absent\\); Kconfig:4: depends on BROKEN; unmet: CONFIG_BROKEN=n'),
    progress: true,
    ownCache: true,
  },
  {
    name: 'missing host package as an unprivileged user',
    precondition: () => (missingSourceSeries() ? undefined : 'both linux-source-6.1 and linux-source-6.12 are installed: no host package is missing'),
    args: () => ['kernel', 'build', `source=debian-src:${missingSourceSeries() ?? '6.1'},config=tiny`],
    expect: plain('missing host packages; run as root: apt-get install -y .*linux-source-6\\.1'),
    ownCache: true,
    unprivileged: true,
  },
  // Other commands.
  { name: 'findings on a missing directory', args: () => ['findings', '/nonexistent/results'], expect: plain("no run '/nonexistent/results' \\(expected a run id under ") },
  { name: 'findings on a missing console log', args: () => ['findings', '--console', '/nonexistent/console-1.log'], expect: plain('not a file: /nonexistent/console-1.log') },
  { name: 'catalog show of an unknown id', args: () => ['catalog', 'show', 'no-such-entry'], expect: plain("no catalog entry 'no-such-entry' \\(known: .*truncate-latency") },
  { name: 'report of a run that does not exist', args: () => ['report', 'no-such-run'], expect: plain("no run 'no-such-run'") },
  {
    name: 'report of a truncated summary.json',
    setup: (d) => writeRun(d, '{"schema": 1, "runId": "202'),
    args: (d) => ['report', join(d.base, 'run')],
    expect: plain('cannot read \\S*/run/summary\\.json: '),
    after: (t, d) => t.false(existsSync(join(d.base, 'run', 'report.html')), 'no report written'),
  },
  {
    name: 'report of a JSON file that is not a run summary',
    setup: (d) => writeRun(d, '{"schema": 2, "steps": "many"}'),
    args: (d) => ['report', join(d.base, 'run')],
    expect: plain('\\S*/run/summary\\.json: not a daxlab run summary'),
    after: (t, d) => t.false(existsSync(join(d.base, 'run', 'report.html')), 'no report written'),
  },
  {
    name: 'report of a run whose event log has a corrupt line',
    setup: (d) => writeEvents(d, [RUN_STARTED, '{"v":1,"at":"x","type":"boot-started","boot":"one"}']),
    args: (d) => ['report', join(d.base, 'run')],
    expect: plain('\\S*/run/events\\.jsonl:2: boot: '),
    after: (t, d) => t.false(existsSync(join(d.base, 'run', 'report.html')), 'no report written'),
  },
  {
    name: 'report of an event log from a newer daxlab',
    setup: (d) => writeEvents(d, [RUN_STARTED.replace('"v":1', '"v":9')]),
    args: (d) => ['report', join(d.base, 'run')],
    expect: plain('\\S*/run/events\\.jsonl:1: event version 9 is not 1'),
  },
  {
    name: 'resume of a run whose event log is not JSON',
    setup: (d) => writeEvents(d, [RUN_STARTED, 'garbage']),
    args: (d) => ['run', '--resume', join(d.base, 'run')],
    expect: plain('\\S*/run/events\\.jsonl:2: not JSON'),
  },
  {
    name: '--out names a directory that already holds a run',
    setup: (d) => writeEvents(d, [RUN_STARTED]),
    args: (d) => ['run', `${B}/good.yaml`, '--out', join(d.base, 'run')],
    expect: plain('--out \\S*/run: already holds a run \\(continue it with --resume'),
  },
  { name: '-j 0', args: run(`${B}/good.yaml`, '-j', '0'), expect: plain("--jobs must be 1..64, got '0'") },
  { name: 'one kernel name used twice', args: run(`${B}/good.yaml`, '--kernel', 'a=debian:6.12', '--kernel', 'a=debian:6.1'), expect: plain("--kernel a=debian:6.1: the name 'a' is used twice") },
  { name: '--append with a newline', args: run(`${B}/good.yaml`, '--append', 'a\nb'), expect: plain('--append: control characters are not allowed') },
  {
    name: '--out names an existing file',
    setup: (d) => writeFileSync(join(d.base, 'file'), 'keep me\n'),
    args: (d) => ['run', `${B}/good.yaml`, '--out', join(d.base, 'file')],
    expect: plain('--out \\S*/file: exists and is not a directory'),
    after: (t, d) => t.is(readFileSync(join(d.base, 'file'), 'utf8'), 'keep me\n', 'the file is untouched'),
  },
  {
    name: '--out below a file',
    setup: (d) => writeFileSync(join(d.base, 'file'), ''),
    args: (d) => ['run', `${B}/good.yaml`, '--out', join(d.base, 'file', 'run')],
    expect: plain('--out \\S*/file/run: \\S*/file is not a directory'),
  },
];

/** A gcc note under the error, its path shown like daxlab shows paths. */
function note(file: string, at: string, text: string): RegExp {
  return new RegExp(`^${esc(file)}:${at}: note: ${esc(text)}`);
}

/** The last line of a compile error: what failed, how many errors were not shown, the log. */
function doesNotCompile(file: string, more: number): RegExp {
  const n = more ? `: ${more} more error${more === 1 ? '' : 's'}` : '';
  return new RegExp(`^reproducer ${esc(file)} does not compile${esc(n)} \\(full log: /\\S+/logs/repro-[\\w.-]+\\.log\\)$`);
}

/** The log the compile error names holds gcc's whole output. */
function compileLog(t: ExecutionContext, stderr: string, want: RegExp[]): void {
  const path = /\(full log: (\S+)\)$/m.exec(stderr)?.[1];
  if (!path) return void t.fail('no log path in the error');
  const text = readFileSync(path, 'utf8');
  for (const re of want) t.regex(text, re);
}

const RUN_STARTED = JSON.stringify({ v: 1, at: '2026-12-01T00:00:00Z', type: 'run-started', runId: 'r', command: [], host: { hostname: 'h', release: 'r', cpus: 1, memBytes: 1, node: 'v20', qemu: 'q' }, scenarios: [], guest: { cpus: 1, memBytes: 1, pmemBytes: 1 }, concurrency: 1 });

function writeEvents(d: Dirs, lines: string[]): void {
  mkdirSync(join(d.base, 'run'));
  writeFileSync(join(d.base, 'run', 'events.jsonl'), lines.map((l) => l + '\n').join(''));
}

function writeRun(d: Dirs, summaryJson: string): void {
  mkdirSync(join(d.base, 'run'));
  writeFileSync(join(d.base, 'run', 'summary.json'), summaryJson);
}

function missingSourceSeries(): string | undefined {
  return ['6.1', '6.12'].find((s) => !existsSync(`/usr/src/linux-source-${s}.tar.xz`));
}

// Every case starts node + tsx; on a small machine dozens at once only thrash.
let running = 0;
const waiting: (() => void)[] = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= 3) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

const PROGRESS = /^\[\s*\d+\.\d+s\] /;
const isRoot = process.getuid?.() === 0;

function reproTempDirs(): string[] {
  const cache = process.env['DAXLAB_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'daxlab');
  const dir = join(cache, 'repro');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('.tmp-')) : [];
}

const badInput = test.macro({
  async exec(t: ExecutionContext, c: Case) {
    const why = c.precondition?.();
    if (why) {
      t.log(`not applicable here: ${why}`);
      t.pass();
      return;
    }
    const base = mkdtempSync(join(tmpdir(), 'daxlab-bad-'));
    t.teardown(() => rmSync(base, { recursive: true, force: true }));
    const d: Dirs = { base, out: join(base, 'out'), results: join(base, 'results'), tmp: join(base, 'tmp'), cache: join(base, 'cache') };
    mkdirSync(d.tmp);
    c.setup?.(d);
    const env: Record<string, string> = { DAXLAB_RESULTS: d.results, TMPDIR: d.tmp, LANG: 'C.UTF-8' };
    if (c.ownCache) env['DAXLAB_CACHE'] = d.cache;
    const args = c.args(d);
    let pid = 0;
    const r = await limited(() => {
      if (c.unprivileged && isRoot) {
        // nobody must reach its own temp dirs, and nothing else of ours.
        chmodSync(base, 0o755);
        mkdirSync(d.cache);
        const home = join(base, 'home');
        mkdirSync(home);
        for (const p of [d.tmp, d.cache, home]) chownSync(p, 65534, 65534);
        const envArgs = Object.entries({ ...env, HOME: home, PATH: process.env['PATH'] ?? '/usr/bin:/bin' }).map(([k, v]) => `${k}=${v}`);
        return execa('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'env', '-i', ...envArgs, process.execPath, 'bin/daxlab.js', ...args], { cwd: root, reject: false, timeout: 180_000 });
      }
      const p = execa(process.execPath, ['bin/daxlab.js', ...args], { cwd: root, reject: false, env, timeout: 180_000 });
      pid = p.pid ?? 0;
      return p;
    });
    const stderr = String(r.stderr);
    const context = `daxlab ${args.join(' ')}\nstderr:\n${stderr}\nstdout:\n${String(r.stdout)}`;
    t.is(r.exitCode, 2, context);
    const lines = stderr.split('\n').filter((l) => l.trim());
    const errors = c.progress ? lines.filter((l) => !PROGRESS.test(l)) : lines;
    const detail = c.detail ?? [];
    t.is(errors.length, 1 + detail.length, `exactly one error line${detail.length ? ` and ${detail.length} lines of detail` : ''} on stderr\n${context}`);
    t.deepEqual(lines.slice(-errors.length), errors, 'the error comes last');
    t.regex(errors[0] ?? '', c.expect);
    detail.forEach((re, i) => t.regex(errors[i + 1] ?? '', re, `detail line ${i + 1}`));
    t.notRegex(stderr, /[\x00-\x08\x0b-\x1f\x7f]/, 'no control characters on stderr');
    t.notRegex(stderr, /\n\s+at /, 'no stack trace');
    t.is(String(r.stdout), '', 'nothing on stdout');
    // Nothing half-way.
    t.false(existsSync(d.out), 'no results directory at --out');
    t.false(existsSync(d.results), 'no results/<run-id> directory');
    t.deepEqual(readdirSync(d.tmp).filter((n) => !n.startsWith('tsx-')), [], 'no temp dirs left');
    c.after?.(t, d, stderr);
    if (c.ownCache) {
      const kernels = join(d.cache, 'kernels');
      t.deepEqual(existsSync(kernels) ? readdirSync(kernels) : [], [], 'no kernel cache entry, complete or half-built');
    }
    // Reproducers build in <cache>/repro/.tmp-<key>-<pid>: none of this process may remain.
    t.deepEqual(reproTempDirs().filter((n) => n.endsWith(`-${pid}`)), [], 'no half-built reproducer entry');
  },
  title: (_provided, c: Case) => `bad input: ${c.name}`,
});

for (const c of cases) test(badInput, c);

test('the table covers at least 30 cases, each with its own name', (t) => {
  t.true(cases.length >= 30);
  t.is(new Set(cases.map((c) => c.name)).size, cases.length);
});
