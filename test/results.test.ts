import test from 'ava';
import { renderTable, tableRows, foldStatuses } from '../harness/results/table.ts';
import type { StepResult } from '../harness/results/types.ts';
import { describe, formatValue, quantile } from '../harness/stats/summary.ts';
import { parseKernelSpec, pickDebianPackage } from '../harness/kernel/spec.ts';
import { kernelCmdline, qemuArgs } from '../harness/qemu/args.ts';

const step = (over: Partial<StepResult>): StepResult => ({
  key: 'k', kernel: 'k', scenario: 'tl', variant: { fs: 'ext4', dax: 'always' }, rep: 1, boot: 1, status: 'pass', reason: '', exitCode: 0, durationMs: 1,
  samples: {}, metrics: {}, infos: [], output: [], stderr: [], findings: [], finishedAt: '', ...over,
});

test('statistics: quantiles interpolate, describe is consistent', (t) => {
  t.is(quantile([1, 2, 3, 4], 0.5), 2.5);
  t.is(quantile([5], 0.99), 5);
  const d = describe([3, 1, 2]);
  t.is(d.median, 2);
  t.is(d.min, 1);
  t.is(d.max, 3);
  t.is(d.stddev, 1);
  t.is(formatValue(3_899_000_000, 'ns'), '3.899 s');
  t.is(formatValue(0.015, 's'), '15.00 ms');
  t.is(formatValue(100, 'count'), '100');
});

test('table folds repetitions, worst verdict first, and strips control characters', (t) => {
  const rows = tableRows([
    step({ rep: 1, metrics: { total: { unit: 's', value: 1 } }, samples: { lat: { unit: 'ns', values: [100, 200] } } }),
    step({ rep: 2, status: 'fail', metrics: { total: { unit: 's', value: 3 } }, samples: { lat: { unit: 'ns', values: [300] } } }),
    step({ scenario: 'evil\x1b[31m', variant: { fs: 'xfs', dax: 'never' } }),
  ]);
  t.is(rows.length, 2);
  t.is(rows[0]?.verdict, 'fail 1/2, pass 1/2');
  t.deepEqual(rows[0]?.metrics, ['lat p50=200.0 ns p99=298.0 ns (n=3)', 'total=2.000 s']);
  const text = renderTable(rows);
  t.false(text.includes('\x1b'));
  t.is(foldStatuses(['pass']), 'pass');
});

test('table: sample p50/p99 come first, the rest fit the terminal width with +N more', (t) => {
  // The shape of a first-hour reproducer: three scalar metrics and the punch latency it measures.
  const rows = tableRows([
    step({ scenario: 'punch-lat', metrics: { is_dax: { unit: '', value: 1 }, map_sync: { unit: '', value: 0 }, total: { unit: 's', value: 0.25 } }, samples: { punch: { unit: 'ns', values: [1000, 2000, 3000] } } }),
  ]);
  t.regex(rows[0]?.metrics[0] ?? '', /^punch p50=2\.000 us p99=/);
  const wide = renderTable(rows);
  t.regex(wide, /punch p50=.*; is_dax=1; map_sync=0; total=250\.0 ms$/m);
  const narrow = renderTable(rows, { width: 100 });
  t.true(narrow.split('\n').every((l) => l.length <= 100), narrow);
  t.regex(narrow, /punch p50=2\.000 us p99=2\.980 us \(n=3\); is_dax=1; \+2 more$/m);
  const eighty = renderTable(rows, { width: 80 });
  t.true(eighty.split('\n').every((l) => l.length <= 80), eighty);
  // Too narrow for even the first: it is cut, never dropped.
  const tiny = renderTable(rows, { width: 40 });
  t.regex(tiny, /punch p50=.*…; \+3 more$/m);
});

test('kernel specs: Debian series, bzImage paths, and errors', (t) => {
  t.deepEqual(parseKernelSpec('debian:6.12'), { kind: 'debian', series: '6.12', raw: 'debian:6.12' });
  t.deepEqual(parseKernelSpec('./arch/x86/boot/bzImage,modules=/tmp/m'), { kind: 'bzimage', path: './arch/x86/boot/bzImage', modules: '/tmp/m', raw: './arch/x86/boot/bzImage,modules=/tmp/m' });
  t.throws(() => parseKernelSpec('debian:5.10'), { message: /unknown Debian kernel series/ });
  t.throws(() => parseKernelSpec('linus-tip'), { message: /unrecognised kernel spec/ });
  const names = ['linux-image-6.12.107+deb12-amd64-unsigned', 'linux-image-6.12.117+deb12-amd64-unsigned', 'linux-image-6.12.117+deb12-cloud-amd64-unsigned', 'linux-image-6.1.0-9-amd64-unsigned', 'linux-image-6.1.0-47-amd64-unsigned', 'linux-image-6.1.0-47-rt-amd64-unsigned'];
  t.is(pickDebianPackage('6.12', names), 'linux-image-6.12.117+deb12-amd64-unsigned');
  t.is(pickDebianPackage('6.1', names), 'linux-image-6.1.0-47-amd64-unsigned');
  t.is(pickDebianPackage('6.1', []), undefined);
});

test('QEMU argv: shared file-backed NVDIMM, room under maxmem, separate console and agent channels', (t) => {
  const argv = qemuArgs({
    accel: 'tcg', cpus: 2, memBytes: 2 * 1024 ** 3, kernel: '/k', initrd: '/i', cmdline: kernelCmdline(),
    nvdimms: [{ path: '/tmp/g/nv0.img', bytes: 1024 ** 3 }], scratch: { path: '/tmp/g/s.img', iops: 50 },
    consoleSocket: '/tmp/g/c.sock', agentSocket: '/tmp/g/a.sock', qmpSocket: '/tmp/g/q.sock',
  });
  const joined = argv.join(' ');
  t.regex(joined, /-machine pc,nvdimm=on/);
  t.regex(joined, /memory-backend-file,id=nvmem0,share=on,mem-path=\/tmp\/g\/nv0\.img,size=1024M/);
  t.regex(joined, /-m 2048M,slots=2,maxmem=3072M/);
  t.regex(joined, /-cpu max/);
  t.regex(joined, /throttling\.iops-total=50/);
  t.is(argv.filter((a) => a === '-serial').length, 2);
  t.regex(kernelCmdline(), /console=ttyS0/);
  t.regex(kernelCmdline(), /panic=-1/);
});

test('console findings fail a step unless allowed; a hang keeps its status and gains the reason', async (t) => {
  const { stepFindings, withFindingVerdict } = await import('../harness/results/findings.ts');
  const { parseConsoleText } = await import('../harness/console/parser.ts');
  const { readFileSync, readdirSync } = await import('node:fs');
  // A real WARN from the project's splat kernel (test/data/console).
  const dir = new URL('./data/console/', import.meta.url).pathname;
  const file = readdirSync(dir).find((f) => f === 'splat-6.12-mixed.log');
  t.truthy(file, 'the captured splat-kernel console log');
  const findings = parseConsoleText(readFileSync(dir + file, 'utf8')).filter((f) => f.kind === 'warning').slice(0, 1);
  t.is(findings.length, 1);
  const title = findings[0]?.title ?? '';
  const passed = withFindingVerdict(step({ reason: 'ok' }), findings, []);
  t.is(passed.status, 'fail');
  t.regex(passed.reason, new RegExp(`kernel reported: ${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*reproducer: ok`));
  t.is(stepFindings(findings, [])[0]?.allowed, false);
  const allowed = withFindingVerdict(step({}), findings, ['warning']);
  t.is(allowed.status, 'pass');
  t.is(stepFindings(findings, ['warning'])[0]?.allowed, true);
  t.is(withFindingVerdict(step({ status: 'error', reason: 'killed by SIGKILL' }), findings, []).status, 'fail');
  const hung = withFindingVerdict(step({ status: 'hung', reason: 'stuck' }), findings, []);
  t.is(hung.status, 'hung');
  t.regex(hung.reason, /^stuck; kernel reported: /);
});

test('qemu args: the icount clock is -icount shift=3,sleep=off under TCG, nothing under KVM or with the host clock', (t) => {
  const base = { cpus: 2, memBytes: 2 * 1024 ** 3, kernel: '/k', cmdline: kernelCmdline(), consoleSocket: '/tmp/g/c.sock' } as const;
  const icount = (a: string[]): string | undefined => a[a.indexOf('-icount') + 1];
  t.is(icount(qemuArgs({ ...base, accel: 'tcg', clock: 'icount' })), 'shift=3,sleep=off');
  t.false(qemuArgs({ ...base, accel: 'tcg', clock: 'host' }).includes('-icount'));
  t.false(qemuArgs({ ...base, accel: 'tcg' }).includes('-icount'));
  t.false(qemuArgs({ ...base, accel: 'kvm', clock: 'icount' }).includes('-icount'));
});
