// `kernel list` rows and table, on the manifests of real cache entries (test/data/kernel/
// list-entries.json: a known-bad build with LOCALVERSION, a recipe-1 debug build, an ab series
// build, Debian's 6.12 package).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configSummary, localVersion, RECIPE } from '../harness/kernel/build.ts';
import { formatKernelTable, kernelRow, specState, type KernelMeta, type KernelRow, type SpecCheck } from '../harness/kernel/list.ts';

interface Captured {
  key: string;
  bytes: number;
  created: string;
  meta: KernelMeta;
}
const captured = JSON.parse(readFileSync(join(import.meta.dirname, 'data', 'kernel', 'list-entries.json'), 'utf8')) as Captured[];
const [knownBad, oldDebug, abSeries, debian] = captured as [Captured, Captured, Captured, Captured];

const rowOf = (c: Captured, check?: SpecCheck): KernelRow =>
  kernelRow({ key: c.key, dir: `/cache/${c.key}`, bytes: c.bytes, lastUsed: new Date(c.created), meta: c.meta }, specState(c.meta, RECIPE, check), configSummary(c.meta.base ?? '?', c.meta.fragments ?? [], c.meta.options ?? []));

test('LOCALVERSION: -daxlab- and the start of the cache key, which is what uname -r showed for the captured build', (t) => {
  t.is(localVersion('242904e8b9819313aaaa'), '-daxlab-242904e8');
  t.is(knownBad.meta.release, `6.12.117${localVersion(knownBad.key.slice('debian-src-6.12.117-'.length))}`);
});

test('spec state: current, stale, gone, invalid from the spec file; old recipe; untracked for packages and labels', (t) => {
  const request = knownBad.meta.request ?? '';
  t.is(specState(knownBad.meta, RECIPE, { exists: true, request }), 'current');
  t.is(specState(knownBad.meta, RECIPE, { exists: true, request: 'f'.repeat(64) }), 'stale');
  t.is(specState(knownBad.meta, RECIPE, { exists: false }), 'gone');
  t.is(specState(knownBad.meta, RECIPE, { exists: true, error: 'x.yaml:1: extends: ...' }), 'invalid');
  t.is(specState(knownBad.meta, RECIPE + 1, { exists: true, request }), 'old-recipe');
  t.is(specState(oldDebug.meta, RECIPE, undefined), 'old-recipe');
  t.is(specState(debian.meta, RECIPE, undefined), 'untracked');
  t.is(specState({ ...knownBad.meta, specFile: undefined, spec: 'debug + series [1..2]' }, RECIPE, undefined), 'untracked');
});

test('rows: spec, config request without the always-merged guest fragment, patch count and first subject', (t) => {
  const r = rowOf(knownBad, { exists: true, request: knownBad.meta.request ?? '' });
  t.is(r.release, '6.12.117-daxlab-242904e8');
  t.is(r.spec, 'scenarios/pin-duration/known-bad-kernel.yaml');
  t.is(r.config, 'tinyconfig+dax+lockdep+gup-test+debug');
  t.is(r.patches, 1);
  t.is(r.firstPatch, 'KNOWN-BAD dax: never report a referenced DAX page as busy');
  t.is(r.size, '5.7M');
  const d = rowOf(debian);
  t.deepEqual([d.spec, d.config, d.patches, d.release], ['debian:6.12', 'debian', 0, '6.12.117+deb12-amd64']);
  // Recipe-1 entries recorded no subjects: the patch file's name stands in.
  const ab = rowOf(abSeries);
  t.is(ab.patches, 4);
  t.is(ab.firstPatch, '0001-dax-make-the-entry-decoding-helpers-take-a-const-poi.patch');
  t.is(configSummary('kvm_guest', ['guest', 'dax', '/x/y/mine.config'], ['CONFIG_KASAN=y']), 'kvm_guest+dax+mine+CONFIG_KASAN=y');
});

test('table: full cells without a width; marks for stale and gone entries', (t) => {
  const rows = [rowOf(knownBad, { exists: true, request: 'other' }), rowOf(oldDebug), rowOf(abSeries), rowOf(debian), { ...rowOf(knownBad, { exists: false }), key: 'gone-entry' }];
  const lines = formatKernelTable(rows).split('\n');
  t.regex(lines[0] ?? '', /^KEY +RELEASE +SPEC +CONFIG +PATCHES +SIZE +LAST USED$/);
  t.regex(lines[2] ?? '', /scenarios\/pin-duration\/known-bad-kernel\.yaml \(stale: spec changed\) +tinyconfig\+dax\+lockdep\+gup-test\+debug +1: KNOWN-BAD dax: never report a referenced DAX page as busy /);
  t.regex(lines[3] ?? '', /images\/kernels\/debug-6\.12\.yaml \(old recipe\) /);
  t.regex(lines[4] ?? '', /4: 0001-dax-make-the-entry-decoding-helpers-take-a-const-poi\.patch \(\+3\)/);
  t.regex(lines[6] ?? '', /^gone-entry .* \(spec gone\) /);
  t.is(lines.length, 7);
});

test('table fitted to a terminal: every line fits, marks and counts survive the cut, left-out columns are named', (t) => {
  const rows = [rowOf(knownBad, { exists: false }), rowOf(oldDebug), rowOf(abSeries), rowOf(debian)];
  for (const width of [200, 160, 120, 100]) {
    const out = formatKernelTable(rows, width).split('\n');
    const table = out.filter((l) => !l.startsWith('(not shown'));
    for (const l of table) t.true(l.length <= width, `${width}: ${l.length} columns: ${l}`);
    t.true(table.some((l) => l.includes('(spec gone)')), `${width}: gone mark`);
    t.true(table.some((l) => l.includes('(old recipe)')), `${width}: old recipe mark`);
    t.true(table.some((l) => /\b4: .*\(\+3\)/.test(l)), `${width}: patch count and (+3)`);
    t.true(table.some((l) => l.includes('6.12.117-daxlab-242904e8')), `${width}: release in full`);
  }
  // 200 columns: everything shown, only the long cells cut.
  const wide = formatKernelTable(rows, 200);
  t.false(wide.includes('not shown'));
  t.true(wide.includes('…'));
  // Narrower: the key goes first, then the last-used time.
  t.regex(formatKernelTable(rows, 120), /\(not shown at this width: KEY; --json has everything\)$/);
  t.regex(formatKernelTable(rows, 100), /\(not shown at this width: KEY, LAST USED; --json has everything\)$/);
  // A cut spec path keeps its end (the file name), not its start.
  t.regex(formatKernelTable(rows, 100), /…[^ ]*-kernel\.yaml \(spec gone\) /);
  t.true(formatKernelTable(rows, 80).split('\n').every((l) => l.length <= 80));
});

test('table: control characters from a spec label or a patch subject are not printed', (t) => {
  const r = { ...rowOf(knownBad), spec: 'evil\x1b[2Jspec', firstPatch: 'subject\x07' };
  const out = formatKernelTable([r]);
  t.false(/[\x00-\x1f]/.test(out.replace(/\n/g, '')));
  t.true(out.includes('evil?[2Jspec'));
});
