// The reproducer catalog: every entry loads and carries its metadata, the list/show rendering,
// and the reproducers' own verdict logic run on the host where it needs no DAX (exit codes and
// the JSON-lines protocol), including the check that refuses to compare DAX and non-DAX runs
// when the file's real DAX state contradicts the mount option.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { catalogEntry, findEntry, loadCatalog, missingMetadata, renderCatalogEntry, renderCatalogList } from '../harness/catalog/command.ts';
import { parseScenarioText } from '../harness/scenario/load.ts';
import { compileReproducer } from '../harness/repro/compile.ts';
import { UserError } from '../harness/util/errors.ts';

const ENTRIES = [
  'dio-pin-vs-truncate',
  'fault-vs-truncate',
  'longterm-pin-refused',
  'mapsync-fault-latency',
  'namespace-teardown-under-pin',
  'per-file-dax-toggle',
  'pin-duration',
  'truncate-latency',
];

test('the catalog holds every entry, each with complete metadata', async (t) => {
  const entries = await loadCatalog();
  t.deepEqual(
    entries.map((e) => e.id),
    ENTRIES,
  );
  for (const e of entries) {
    t.deepEqual(missingMetadata(e), [], `${e.id} lacks metadata`);
    t.true(e.filesystems.includes('ext4') && e.filesystems.includes('xfs'), `${e.id} covers ext4 and xfs`);
  }
  const dio = findEntry(entries, 'dio-pin-vs-truncate');
  t.true(dio.scratch);
  t.is(dio.scratch_iops, 40);
  t.true(findEntry(entries, 'namespace-teardown-under-pin').own_boot);
  t.deepEqual(findEntry(entries, 'per-file-dax-toggle').dax, ['inode']);
});

test('missingMetadata names what an entry lacks', (t) => {
  const s = parseScenarioText('reproducer: x.c\nchecks: something\n', '/tmp/x/scenario.yaml');
  t.deepEqual(missingMetadata(catalogEntry(s)), ['references', 'requires', 'expect', 'metrics', 'verdict']);
});

test('scratch_iops and own_boot reach the entry; scratch_iops needs scratch', (t) => {
  const s = parseScenarioText('reproducer: x.c\nscratch: true\nscratch_iops: 25\nown_boot: true\n', '/tmp/x/scenario.yaml');
  const e = catalogEntry(s);
  t.is(e.scratch_iops, 25);
  t.true(e.own_boot);
  t.is(catalogEntry(parseScenarioText('reproducer: x.c\n', '/tmp/x/scenario.yaml')).scratch_iops, null);
  const err = t.throws(() => parseScenarioText('reproducer: x.c\nscratch_iops: 25\n', '/tmp/x/scenario.yaml'), { instanceOf: UserError });
  t.regex(err.oneLine(), /scenario\.yaml:2: scratch_iops: scratch_iops needs scratch: true/);
});

test('list and show render ids, notes and every metadata section', async (t) => {
  const entries = await loadCatalog();
  const list = renderCatalogList(entries);
  const lines = list.split('\n');
  t.regex(lines[0] ?? '', /^ID\s+FS\s+DAX\s+NOTES\s+TITLE$/);
  for (const id of ENTRIES) t.true(lines.some((l) => l.startsWith(id + ' ')), id);
  t.regex(list, /dio-pin-vs-truncate\s+ext4,xfs\s+always,never\s+scratch@40iops/);
  t.regex(list, /namespace-teardown-under-pin\s+ext4,xfs\s+always\s+own boot/);
  t.regex(list, /8 entries/);
  const show = renderCatalogEntry(findEntry(entries, 'pin-duration'));
  for (const h of ['checks:', 'requires:', 'expect (correct kernel):', 'metrics:', 'verdict:', 'references:']) t.true(show.includes(`\n${h}`), h);
  t.regex(show, /truncate_wait_<method>_<hold>ms/);
  t.notRegex(show, /metadata missing/);
});

test('show of an unknown id is a user error listing the known ids', async (t) => {
  const entries = await loadCatalog();
  const err = t.throws(() => findEntry(entries, 'nope'), { instanceOf: UserError });
  t.regex(err.message, /no catalog entry 'nope' \(known: dio-pin-vs-truncate, .*truncate-latency\)/);
});

// --- reproducers on the host: protocol and verdict logic that needs no DAX ---

interface Line {
  type: string;
  name?: string;
  value?: number;
  verdict?: string;
  reason?: string;
  msg?: string;
}

async function runRepro(id: string, args: string[], env: Record<string, string>): Promise<{ exitCode: number; lines: Line[] }> {
  const bin = await compileReproducer(join('scenarios', id, `${id}.c`), () => {});
  const r = await execa(bin.path, args, { env: { ...env, PATH: process.env['PATH'] ?? '' }, reject: false, timeout: 60_000 });
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
  return { exitCode: r.exitCode ?? -1, lines };
}

const verdictOf = (lines: Line[]): Line | undefined => lines.find((l) => l.type === 'verdict');
const metricOf = (lines: Line[], name: string): number | undefined => lines.find((l) => l.type === 'metric' && l.name === name)?.value;

test.serial('every catalog reproducer compiles with -Wall -Werror, statically', async (t) => {
  for (const id of ENTRIES) {
    const bin = await compileReproducer(join('scenarios', id, `${id}.c`), () => {});
    t.truthy(bin.path, id);
  }
});

test.serial('truncate-latency reports is_dax and refuses a dax=always run on a file that is not DAX', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-cat-'));
  try {
    const ok = await runRepro('truncate-latency', ['--iterations', '3'], { DAXLAB_DIR: dir, DAXLAB_DAX: 'never' });
    t.is(ok.exitCode, 0);
    t.is(metricOf(ok.lines, 'is_dax'), 0);
    t.is(verdictOf(ok.lines)?.verdict, 'pass');
    t.regex(verdictOf(ok.lines)?.reason ?? '', /not DAX/);
    // The host's /tmp is not DAX: claiming dax=always must not produce a "DAX" measurement.
    const bad = await runRepro('truncate-latency', ['--iterations', '3'], { DAXLAB_DIR: dir, DAXLAB_DAX: 'always' });
    t.is(bad.exitCode, 2);
    t.is(verdictOf(bad.lines)?.verdict, 'error');
    t.regex(verdictOf(bad.lines)?.reason ?? '', /mounted dax=always but statx says the file is not DAX/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.serial('entries skip or error cleanly when their requirements are absent', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-cat-'));
  try {
    const toggle = await runRepro('per-file-dax-toggle', ['--seconds', '1'], { DAXLAB_DIR: dir, DAXLAB_DAX: 'never' });
    t.is(toggle.exitCode, 77);
    t.is(verdictOf(toggle.lines)?.verdict, 'skip');
    t.regex(verdictOf(toggle.lines)?.reason ?? '', /needs a dax=inode mount/);
    const dio = await runRepro('dio-pin-vs-truncate', ['--seconds', '1'], { DAXLAB_DIR: dir, DAXLAB_DAX: 'never', DAXLAB_SCRATCH: '' });
    t.is(dio.exitCode, 2);
    t.regex(verdictOf(dio.lines)?.reason ?? '', /needs the non-DAX scratch disk/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.serial('fault-vs-truncate and dio-pin-vs-truncate pass on the page cache and emit their metrics', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-cat-'));
  const scratch = mkdtempSync(join(tmpdir(), 'daxlab-cat-s-'));
  try {
    const f = await runRepro('fault-vs-truncate', ['--seconds', '1', '--threads', '2'], { DAXLAB_DIR: dir, DAXLAB_DAX: 'never' });
    t.is(f.exitCode, 0, JSON.stringify(verdictOf(f.lines)));
    t.true((metricOf(f.lines, 'cycles') ?? 0) > 0);
    t.is(metricOf(f.lines, 'sigbus_inside_file'), 0);
    t.is(metricOf(f.lines, 'stale_words_mapped'), 0);
    const d = await runRepro('dio-pin-vs-truncate', ['--seconds', '1', '--file-mib', '4'], { DAXLAB_DIR: dir, DAXLAB_DAX: 'never', DAXLAB_SCRATCH: scratch });
    // O_DIRECT may be refused by the host filesystem (tmpfs): then the reproducer errors, never passes silently.
    if (d.exitCode === 2) {
      t.regex(verdictOf(d.lines)?.reason ?? '', /O_DIRECT/);
      return;
    }
    t.is(d.exitCode, 0, JSON.stringify(verdictOf(d.lines)));
    t.is(metricOf(d.lines, 'victim_corrupt_bytes'), 0);
    t.true((metricOf(d.lines, 'dio_read_count') ?? 0) > 0);
    t.not(metricOf(d.lines, 'layout_wait_pinned_count'), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('daxlab catalog --json, catalog show ID, and an unknown id through the real CLI', async (t) => {
  const { daxlab } = await import('./helpers.ts');
  const list = await daxlab(['catalog', '--json']);
  t.is(list.exitCode, 0, String(list.all));
  const entries = JSON.parse(String(list.stdout)) as { id: string; checks: string }[];
  t.deepEqual(
    entries.map((e) => e.id),
    ENTRIES,
  );
  const show = await daxlab(['catalog', 'show', 'dio-pin-vs-truncate']);
  t.is(show.exitCode, 0);
  t.regex(String(show.stdout), /^dio-pin-vs-truncate: O_DIRECT DMA/);
  t.regex(String(show.stdout), /scratch disk throttled to 40 IOPS/);
  const bad = await daxlab(['catalog', 'show', 'nope']);
  t.is(bad.exitCode, 2);
  t.regex(String(bad.stderr), /no catalog entry 'nope'/);
  const typo = await daxlab(['catalog', 'show', 'pin-durattion']);
  t.regex(String(typo.stderr), /no catalog entry 'pin-durattion' \(did you mean 'pin-duration'\?\)/);
  // A scenario of one's own, by file and by directory.
  const own = await daxlab(['catalog', 'show', 'test/data/bad-input/good.yaml', '--json']);
  t.is(own.exitCode, 0, String(own.all));
  t.is((JSON.parse(String(own.stdout)) as { file: string }).file, 'test/data/bad-input/good.yaml');
  const ownDir = await daxlab(['catalog', 'show', 'scenarios/pin-duration']);
  t.regex(String(ownDir.stdout), /^pin-duration: /);
  const broken = await daxlab(['catalog', 'show', 'test/data/bad-input/bad-dax.yaml']);
  t.is(broken.exitCode, 2);
  t.regex(String(broken.stderr), /^test\/data\/bad-input\/bad-dax\.yaml:\d+: dax/);
});

test('each known-bad patch applies to linux-source-6.12 and has a kernel spec next to it', async (t) => {
  const { existsSync } = await import('node:fs');
  const withPatch = ENTRIES.filter((id) => existsSync(join('scenarios', id, 'known-bad.patch')));
  t.true(withPatch.includes('dio-pin-vs-truncate'));
  const tarball = '/usr/src/linux-source-6.12.tar.xz';
  const { loadScenarioFile } = await import('../harness/scenario/load.ts');
  for (const id of withPatch) {
    t.true(existsSync(join('scenarios', id, 'known-bad-kernel.yaml')), id);
    const run = await loadScenarioFile(join('scenarios', id, 'known-bad.yaml'));
    t.is(run.id, `${id}.known-bad`);
    t.true(run.daxModes.every((d) => d !== 'never'), `${id}: the known-bad run exercises DAX`);
  }
  if (!existsSync(tarball)) return t.log(`${tarball} absent: apply check skipped`);
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-kb-'));
  try {
    const files = ['fs/dax.c', 'mm/gup.c', 'mm/truncate.c', 'fs/ext4/inode.c', 'fs/xfs/xfs_iops.c'];
    await execa('tar', ['xJf', tarball, '-C', dir, ...files.map((f) => `linux-source-6.12/${f}`)]);
    for (const id of withPatch) {
      const r = await execa('patch', ['-p1', '--dry-run', '-d', join(dir, 'linux-source-6.12'), '-i', join(process.cwd(), 'scenarios', id, 'known-bad.patch')], { reject: false });
      t.is(r.exitCode, 0, `${id}: ${r.stdout}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
