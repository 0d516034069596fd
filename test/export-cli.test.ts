// `daxlab export` as a user runs it: real files from a real captured run, and bad input (a run
// that does not exist, targets that cannot be written, a bad origin) refused with one line,
// exit 2 and nothing written.
import test from 'ava';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kcidbSchemaError } from '../harness/export/kcidb-schema.ts';
import { child, children, copyRun, parseXml, scratch, SEGV_RUN, TWO_GUESTS_LOG, xmllint } from './export-data.ts';
import { daxlab } from './helpers.ts';

test('export a results directory: both files whole, the run directory untouched', async (t) => {
  const run = copyRun(t, SEGV_RUN);
  const before = readdirSync(run).sort();
  const out = scratch(t);
  const junit = join(out, 'reports', 'junit.xml');
  const kcidb = join(out, 'kcidb.json');
  const r = await daxlab(['export', run, '--junit', junit, '--kcidb', kcidb]);
  t.is(r.exitCode, 0, String(r.all));
  t.deepEqual(String(r.stdout).split('\n'), [
    `junit: ${junit} (2 testcases: 0 failures, 1 errors, 0 skipped)`,
    `kcidb: ${kcidb} (KCIDB v5.0, origin daxlab: 2 tests, 0 issues, 0 incidents)`,
  ]);
  t.is(String(r.stderr), '');
  const xml = readFileSync(junit, 'utf8');
  t.deepEqual(await xmllint(xml), { valid: true, errors: [] });
  t.is(children(child(parseXml(xml), 'testsuites'), 'testsuite').length, 2);
  const report = JSON.parse(readFileSync(kcidb, 'utf8')) as unknown;
  t.is(kcidbSchemaError(report), undefined);
  t.deepEqual(readdirSync(out).sort(), ['kcidb.json', 'reports'], 'no temp files left');
  t.deepEqual(readdirSync(run).sort(), before, 'export reads the run, it does not rewrite its views');
});

test('latest and --origin; an existing report is replaced', async (t) => {
  const root = scratch(t);
  const id = '20261202-005721-9eb4aa';
  mkdirSync(join(root, id));
  writeFileSync(join(root, id, 'events.jsonl'), readFileSync(TWO_GUESTS_LOG));
  const kcidb = join(scratch(t), 'k.json');
  writeFileSync(kcidb, 'old');
  const r = await daxlab(['export', 'latest', '--kcidb', kcidb, '--origin', 'lab_7'], { DAXLAB_RESULTS: root });
  t.is(r.exitCode, 0, String(r.all));
  const report = JSON.parse(readFileSync(kcidb, 'utf8')) as { tests: { id: string; origin: string }[] };
  t.is(report.tests.length, 2);
  t.true(report.tests.every((x) => x.origin === 'lab_7' && x.id.startsWith('lab_7:')));
});

interface Bad {
  name: string;
  args: (d: { run: string; out: string; file: string }) => string[];
  line: RegExp;
}

const BAD: Bad[] = [
  { name: 'a run that does not exist', args: (d) => ['export', join(d.out, 'no-such-run'), '--junit', join(d.out, 'j.xml'), '--kcidb', join(d.out, 'k.json')], line: /^daxlab: no run '.*no-such-run' \(expected a run id under .*, a results directory, or latest\)$/ },
  { name: 'a JUnit path through a file', args: (d) => ['export', d.run, '--junit', join(d.file, 'j.xml'), '--kcidb', join(d.out, 'k.json')], line: /^daxlab: --junit .*\/plain-file\/j\.xml: .*\/plain-file is not a directory$/ },
  { name: 'a KCIDB path that is a directory', args: (d) => ['export', d.run, '--junit', join(d.out, 'j.xml'), '--kcidb', d.out], line: /^daxlab: --kcidb .*: is a directory$/ },
  { name: 'a directory the kernel refuses files in', args: (d) => ['export', d.run, '--junit', join(d.out, 'j.xml'), '--kcidb', '/proc/self/k.json'], line: /^daxlab: --kcidb \/proc\/self\/k\.json: \/proc\/self is not writable$/ },
  { name: 'a write that fails after the checks (sysfs)', args: (d) => ['export', d.run, '--junit', join(d.out, 'j.xml'), '--kcidb', '/sys/k.json'], line: /^daxlab: export: writing \/sys\/k\.json: EACCES: permission denied$/ },
  { name: 'one file for both', args: (d) => ['export', d.run, '--junit', join(d.out, 'x'), '--kcidb', join(d.out, 'x')], line: /^daxlab: --junit and --kcidb are the same file/ },
  { name: 'an origin KCIDB would refuse', args: (d) => ['export', d.run, '--junit', join(d.out, 'j.xml'), '--kcidb', join(d.out, 'k.json'), '--origin', 'Lab-7'], line: /^daxlab: --origin 'Lab-7': a KCIDB origin is lower-case letters, digits and _ only/ },
  { name: 'nothing to write', args: (d) => ['export', d.run], line: /^daxlab: export: nothing to write: give --junit FILE, --kcidb FILE, or both$/ },
  { name: 'a misspelt flag', args: (d) => ['export', d.run, '--juint', join(d.out, 'j.xml')], line: /^daxlab: unknown option '--juint' \(Did you mean --junit\?\) \(see --help\)$/ },
];

for (const c of BAD) {
  test(`bad input: ${c.name} — exit 2, one line, nothing written`, async (t) => {
    const run = copyRun(t, SEGV_RUN);
    const out = scratch(t);
    const file = join(scratch(t), 'plain-file');
    writeFileSync(file, 'x');
    const r = await daxlab(c.args({ run, out, file }));
    t.is(r.exitCode, 2, String(r.all));
    const lines = String(r.stderr).split('\n');
    t.is(lines.length, 1, String(r.stderr));
    t.regex(lines[0] ?? '', c.line);
    t.is(String(r.stdout), '');
    t.deepEqual(readdirSync(out), [], 'no file, no temp file, no directory');
  });
}

test('bad input: a corrupt event log names its file and line', async (t) => {
  const run = copyRun(t, SEGV_RUN);
  const ev = readFileSync(join(run, 'events.jsonl'), 'utf8').split('\n');
  ev[4] = '{"v":1,"type":"guest-up"';
  writeFileSync(join(run, 'events.jsonl'), ev.join('\n'));
  const out = scratch(t);
  const r = await daxlab(['export', run, '--junit', join(out, 'j.xml')]);
  t.is(r.exitCode, 2);
  t.regex(String(r.stderr), /^daxlab: .*events\.jsonl:5: not JSON$/);
  t.false(existsSync(join(out, 'j.xml')));
});
