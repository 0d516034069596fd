// KCIDB v5 reports of real runs (harness/export/kcidb.ts), checked with ajv against the schema
// written from the KCIDB documentation (harness/export/kcidb-schema.ts): checkouts and builds per
// kernel, a test per step with its status and headline number, issues and incidents for findings.
import test from 'ava';
import { execa } from 'execa';
import { dirname } from 'node:path';
import { kernelPatchHashes } from '../harness/export/command.ts';
import { buildKcidb, issueId, KCIDB_STATUS, testPath, type KcidbReport } from '../harness/export/kcidb.ts';
import { KCIDB_VERSION, kcidbSchemaError } from '../harness/export/kcidb-schema.ts';
import { copyRun, HOSTILE_TITLE, hostileRun, LOCKDEP_PATCHES, lockdepSummary, scratch, SEGV_RUN, summaryOf, TWO_GUESTS_LOG } from './export-data.ts';

const valid = (t: { is: (a: unknown, b: unknown, m?: string) => void }, r: KcidbReport): void => t.is(kcidbSchemaError(r), undefined, 'matches the KCIDB v5 schema');

test('segv-and-pass: one checkout and build for the Debian kernel, an ERROR and a PASS test with its number', (t) => {
  const s = summaryOf(copyRun(t, SEGV_RUN));
  const r = buildKcidb(s);
  valid(t, r);
  t.deepEqual(r.version, { major: 5, minor: 0 });
  t.is(r.checkouts.length, 1);
  const co = r.checkouts[0];
  t.regex(co?.id ?? '', /^daxlab:checkout-[0-9a-f]{16}$/);
  t.is(co?.tree_name, 'debian');
  t.is(co?.patchset_hash, '', 'no patches: the empty patchset');
  t.regex(co?.comment ?? '', /linux-image-6\.12\.117\+deb12-amd64-unsigned 6\.12\.117-1~deb12u1/);

  t.is(r.builds.length, 1);
  const b = r.builds[0];
  t.is(b?.id, `daxlab:${s.runId}/debian:6.12`);
  t.is(b?.checkout_id, co?.id);
  t.is(b?.architecture, 'x86_64');
  t.is(b?.config_name, 'debian');
  t.is(b?.status, 'PASS');
  t.is(b?.duration, 4.374, "the run's kernelMs phase");
  t.is(b?.start_time, s.startedAt);

  t.deepEqual(r.tests.map((x) => [x.path, x.status, x.build_id]), [
    ['daxlab.segv.ext4.always', 'ERROR', b?.id],
    ['daxlab.tl-one.ext4.always', 'PASS', b?.id],
  ]);
  const [segv, tl] = r.tests;
  t.is(segv?.id, `daxlab:${s.runId}/debian:6.12/segv:ext4:always:r1`);
  t.is(segv?.duration, 0.42);
  t.is(segv?.start_time, new Date(Date.parse(s.steps[0]?.finishedAt ?? '') - 420).toISOString());
  t.is((segv?.misc as { exit_code: number }).exit_code, 139);
  // The headline: the truncate median, 180769 ns, in seconds with the metric prefix.
  t.deepEqual(tl?.number, { value: 180769e-9, unit: 's', prefix: 'metric' });
  t.is((tl?.misc as { number_is: string }).number_is, 'truncate.p50');
  t.deepEqual((tl?.misc as { samples: unknown }).samples, { truncate: { n: 10, p50: 180769, p99: (tl?.misc as { samples: { truncate: { p99: number } } }).samples.truncate.p99, unit: 'ns' } });
  t.deepEqual((tl?.misc as { metrics: Record<string, unknown> }).metrics['truncate_total'], { value: 0.011575927, unit: 's' });
  t.regex(tl?.environment?.comment ?? '', /^QEMU emulator version 7\.2\.22 .*, TCG \(single-threaded\), 2 vCPUs, 2048 MiB RAM, 256 MiB NVDIMM \(fsdax\), clock host$/);
  t.is(segv?.log_excerpt, undefined, 'a crash with no output has nothing to excerpt');
  t.is(tl?.log_excerpt, undefined, 'a pass has no excerpt');
  t.deepEqual(r.issues, []);
  t.deepEqual(r.incidents, []);
});

test('status mapping: FAIL for the kernel, ERROR for the reproducer, MISS for what never ran', (t) => {
  t.deepEqual(KCIDB_STATUS, { pass: 'PASS', fail: 'FAIL', hung: 'FAIL', crashed: 'FAIL', error: 'ERROR', timeout: 'ERROR', skip: 'SKIP' });
  const s = summaryOf(copyRun(t, SEGV_RUN));
  const base = s.steps[1];
  if (!base) return t.fail();
  const steps = (['hung', 'timeout', 'skip'] as const).map((status) => ({ ...base, key: `${base.key}-${status}`, status }));
  const r = buildKcidb({ ...s, status: 'failed', statusReason: 'guest memory exhausted', steps, pending: ['debian:6.12/tl-one:xfs:inode:r3', 'not a key'] });
  valid(t, r);
  t.deepEqual(r.tests.map((x) => x.status), ['FAIL', 'ERROR', 'SKIP', 'MISS']);
  t.is(r.tests[2]?.number, undefined, 'a skipped test has no number');
  const miss = r.tests[3];
  t.is(miss?.path, 'daxlab.tl-one.xfs.inode');
  t.is(miss?.build_id, `daxlab:${s.runId}/debian:6.12`);
  t.regex(miss?.comment ?? '', /not run: the run failed \(guest memory exhausted\)/);
});

test('a lockdep finding: one issue with a title-derived id, an incident on the step it hit; patched and base are two checkouts', async (t) => {
  const kernelDir = `${scratch(t)}/entry`;
  const s = lockdepSummary(t, kernelDir);
  const hashes = await kernelPatchHashes(s);
  t.deepEqual([...hashes.keys()], ['patched'], 'read from the patched kernel\'s entry; base has no patches');
  const r = buildKcidb(s, { patchHashes: hashes });
  valid(t, r);
  t.is(r.builds.length, 2);
  t.is(r.checkouts.length, 2);
  t.deepEqual(r.builds.map((b) => b.config_name), ['tinyconfig', 'tinyconfig']);
  const [patched, base] = r.checkouts;
  t.not(patched?.id, base?.id);
  t.is(base?.patchset_hash, '');
  // KCIDB's recipe, run with the real tools on the real patch files.
  const sums = await execa('sha256sum', LOCKDEP_PATCHES);
  const list = sums.stdout.split('\n').map((l) => `${l.slice(0, 64)}\n`).join('');
  const expected = (await execa('sha256sum', [], { input: list })).stdout.slice(0, 64);
  t.is(patched?.patchset_hash, expected);

  t.is(r.tests.length, 16);
  t.deepEqual(r.tests.filter((x) => x.status === 'FAIL').map((x) => x.id), [`daxlab:${s.runId}/patched/truncate-latency:ext4:always:r0@1`]);
  t.is(r.issues.length, 1);
  const issue = r.issues[0];
  t.is(issue?.id, issueId('daxlab', 'possible deadlock in dax_layout_busy_page_range'));
  t.regex(issue?.id ?? '', /^daxlab:finding-[0-9a-f]{16}$/);
  t.is(issue?.report_subject, 'possible deadlock in dax_layout_busy_page_range');
  t.deepEqual(issue?.culprit, { code: true, tool: false, harness: false });
  t.is((issue?.misc as { kind: string }).kind, 'lockdep-circular');
  t.is(r.incidents.length, 1);
  t.like(r.incidents[0], { issue_id: issue?.id, issue_version: issue?.version, test_id: r.tests[0]?.id, present: true });
  t.regex(r.tests[0]?.log_excerpt ?? '', /possible circular locking dependency detected/, 'the failing test carries the report');

  // Another night with the same bug: same issue id, a new incident id.
  const r2 = buildKcidb({ ...s, runId: '20270101-000000-abcdef' });
  t.is(r2.issues[0]?.id, issue?.id);
  t.not(r2.incidents[0]?.id, r.incidents[0]?.id);
  t.is(r2.checkouts[0]?.id, patched?.id, 'the same source and patches are the same checkout every night');
  t.is(r2.checkouts[0]?.patchset_hash, undefined, 'without the whole patch hashes the patchset hash is unknown, not made up');
});

test('patch hashes that are not the ones the identity names are not used', async (t) => {
  const s = lockdepSummary(t);
  const hashes = await kernelPatchHashes(s);
  const wrong = new Map([['patched', (hashes.get('patched') ?? []).map((h) => h.replace(/^./, (c) => (c === '0' ? '1' : '0')))]]);
  t.is(buildKcidb(s, { patchHashes: wrong }).checkouts[0]?.patchset_hash, undefined);
  const gone = { ...s, boots: s.boots.map((b) => ({ ...b, argv: b.argv.map((a) => (a.endsWith('/bzImage') ? `${dirname(a)}-gone/bzImage` : a)) })) };
  t.deepEqual([...(await kernelPatchHashes(gone)).keys()], [], 'a cache entry that is gone gives nothing');
});

test('hostile guest text: no NUL, no lone surrogate, excerpts capped; a metric named like markup stays a name', (t) => {
  const r = buildKcidb(summaryOf(hostileRun(t)));
  valid(t, r);
  const json = JSON.stringify(r);
  t.false(json.includes('\\u0000'), 'KCIDB forbids NUL');
  t.false(/\\ud[89ab]/.test(json), 'no lone surrogate survives');
  t.false(json.includes('\\u001b'), 'no escape sequence');
  const segv = r.tests[0];
  t.true((segv?.log_excerpt?.length ?? 0) <= 16384);
  t.regex(segv?.log_excerpt ?? '', /^killed by NUL BEL red C1: lone: nonchar: cdata:\]\]> tag:<\/failure><script>/);
  t.regex(segv?.comment ?? '', /crlf: second line\)$/, 'one line');
  t.is(r.issues[0]?.report_subject, HOSTILE_TITLE);
  const metrics = (segv?.misc as { metrics: Record<string, { unit: string }> }).metrics;
  const name = Object.keys(metrics).find((k) => k.startsWith('m<&"x"'));
  t.truthy(name);
  t.is(metrics[name ?? '']?.unit, 'ms', 'the escape sequence in the unit is gone');
});

test('the schema has teeth: it names the field that breaks KCIDB rules', (t) => {
  const r = buildKcidb(summaryOf(copyRun(t, SEGV_RUN)));
  const mutate = (f: (x: KcidbReport) => void): string | undefined => {
    const c = structuredClone(r);
    f(c);
    return kcidbSchemaError(c);
  };
  t.is(mutate((c) => void (c.version = { major: 4, minor: 0 })), '/version/major: must be equal to constant');
  t.is(mutate((c) => void (c.version.minor = KCIDB_VERSION.minor + 1)), '/version/minor: must be <= 0');
  t.regex(mutate((c) => void ((c.tests[0] as { origin: string }).origin = 'Dax-Lab')) ?? '', /^\/tests\/0\/origin: must match pattern/);
  t.regex(mutate((c) => void ((c.tests[1] as { path: string }).path = 'daxlab..x')) ?? '', /^\/tests\/1\/path: must match pattern/);
  t.regex(mutate((c) => void ((c.builds[0] as { comment: string }).comment = 'a\u0000b')) ?? '', /^\/builds\/0\/comment: must match pattern/);
  t.is(mutate((c) => void ((c.tests[0] as unknown as Record<string, unknown>)['waived'] = true)), '/tests/0: must NOT have additional properties (waived)');
  t.is(mutate((c) => void ((c.tests[0] as { status: string }).status = 'PASSED')), '/tests/0/status: must be equal to one of the allowed values');
  t.is(mutate((c) => void ((c.tests[0] as { start_time: string }).start_time = 'yesterday')), '/tests/0/start_time: must match format "date-time"');
  t.is(mutate((c) => void delete (c.tests[0] as { build_id?: string }).build_id), "/tests/0: must have required property 'build_id'");
});

test('--origin prefixes every id; a setup finding is an incident on the build', (t) => {
  const s = summaryOf(copyRun(t, TWO_GUESTS_LOG));
  const f = lockdepSummary(t).findings[0];
  if (!f) return t.fail();
  const r = buildKcidb({ ...s, findings: [{ ...f, where: ['boot 2: mount xfs dax=always'] }] }, { origin: 'lab_7' });
  valid(t, r);
  const ids = [...r.checkouts, ...r.builds, ...r.tests, ...r.issues, ...r.incidents].map((x) => x.id);
  t.true(ids.length > 5 && ids.every((i) => i.startsWith('lab_7:')));
  t.true([...r.builds, ...r.tests, ...r.issues, ...r.incidents].every((x) => x.origin === 'lab_7'));
  t.like(r.incidents[0], { build_id: r.builds[0]?.id, issue_id: issueId('lab_7', f.title), comment: 'during setup of boot 2: mount xfs dax=always' });
  t.is(r.incidents[0]?.test_id, undefined);
});

test('test paths are KCIDB paths whatever the scenario id', (t) => {
  t.is(testPath('dio-pin-vs-truncate', 'xfs', 'inode'), 'daxlab.dio-pin-vs-truncate.xfs.inode');
  t.is(testPath('my.scenario', 'ext4', 'never'), 'daxlab.my_scenario.ext4.never', 'a dot would make a deeper path');
});
