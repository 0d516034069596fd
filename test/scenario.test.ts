import test from 'ava';
import { parseScenarioText } from '../harness/scenario/load.ts';
import { parseDuration, parseSize, formatSize } from '../harness/scenario/units.ts';
import { UserError } from '../harness/util/errors.ts';

const file = '/tmp/x/scenario.yaml';
const base = 'reproducer: r.c\n';

function errLine(text: string): string {
  const e = t_throws(() => parseScenarioText(text, file));
  return e.oneLine();
}
function t_throws(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

test('defaults and lists are normalised', (t) => {
  const s = parseScenarioText(base + 'filesystem: [ext4, xfs, ext4]\ntimeout: 2m\npmem: 512M\nargs: [--n, 5]\n', file);
  t.deepEqual(s.filesystems, ['ext4', 'xfs']);
  t.deepEqual(s.daxModes, ['always']);
  t.is(s.timeoutS, 120);
  t.is(s.pmemBytes, 512 * 1024 ** 2);
  t.deepEqual(s.args, ['--n', '5']);
  t.is(s.id, 'x');
  t.is(s.reproducerSource, '/tmp/x/r.c');
});

test('an unknown key names file, line and key', (t) => {
  t.regex(errLine(base + 'filesytem: ext4\n'), /scenario\.yaml:2: filesytem: unknown key/);
});

test('a wrong enum value names its line and field', (t) => {
  t.regex(errLine(base + 'dax: sometimes\n'), /scenario\.yaml:2: dax: /);
  t.regex(errLine(base + 'filesystem:\n  - ext4\n  - btrfs\n'), /scenario\.yaml:4: filesystem\.1: /);
});

test('wrong types, missing fields, bad sizes and YAML syntax errors are one line each', (t) => {
  t.regex(errLine(base + 'repetitions: many\n'), /:2: repetitions: /);
  t.regex(errLine('args: []\n'), /reproducer: required field is missing/);
  t.regex(errLine(base + 'pmem: 3Q\n'), /:2: pmem: not a size/);
  t.regex(errLine(base + 'pmem: 16M\n'), /:2: pmem: pmem size 16M is outside/);
  t.regex(errLine(base + 'timeout: soon\n'), /:2: timeout: not a duration/);
  t.regex(errLine(base + 'args: [a, b\n'), /:\d+: YAML syntax/);
  t.regex(errLine('- just\n- a list\n'), /:1: a scenario must be a YAML mapping/);
  t.regex(errLine(base + 'reproducer: r.c\n'), /YAML syntax/);
  for (const l of [errLine(base + 'dax: sometimes\n')]) t.false(l.includes('\n'));
});

test('size and duration units', (t) => {
  t.is(parseSize('1G'), 1024 ** 3);
  t.is(parseSize('2GiB'), 2 * 1024 ** 3);
  t.is(parseSize('0'), 0);
  t.is(parseSize('x'), undefined);
  t.is(formatSize(1536 * 1024 ** 2), '1536M');
  t.is(parseDuration('90s'), 90);
  t.is(parseDuration('1.5m'), 90);
  t.is(parseDuration('0'), undefined);
});

test('a bad enum value is echoed, with a did-you-mean when one is close', (t) => {
  t.is(errLine(base + 'dax: [always, nevr]\n'), `${file}:2: dax.1: expected one of always, never, inode; got 'nevr' (did you mean 'never'?)`);
  t.regex(errLine(base + 'dax: sometimes\n'), /:2: dax: expected one of always, never, inode; got 'sometimes'$/);
  t.regex(errLine(base + 'filesystem: [ext4, btrfs]\n'), /:2: filesystem\.1: expected one of ext4, xfs; got 'btrfs'$/);
  t.regex(errLine(base + 'dax: Always\n'), /got 'Always' \(did you mean 'always'\?\)$/);
  t.regex(errLine(base + 'dax: 5\n'), /:2: dax: expected one of always, never, inode; got 5$/);
  t.regex(errLine(base + 'dax: {a: 1}\n'), /:2: dax: expected one of .*; got a mapping$/, 'a mapping where a list goes: the field, not a made-up index');
  t.regex(errLine(base + 'metrics:\n  t: {description: x, better: lowr}\n'), /:3: metrics\.t\.better: expected one of lower, higher, none; got 'lowr' \(did you mean 'lower'\?\)$/);
});

test('an unknown key gets a did-you-mean, or the known keys when nothing is close', (t) => {
  t.regex(errLine(base + 'filesytem: ext4\n'), /:2: filesytem: unknown key \(did you mean 'filesystem'\?\)$/);
  t.regex(errLine(base + 'Filesystem: ext4\n'), /did you mean 'filesystem'/);
  // A misspelt required key is the cause, not the "missing" field it leaves behind.
  t.regex(errLine('reproducr: r.c\n'), /:1: reproducr: unknown key \(did you mean 'reproducer'\?\)$/);
  t.regex(errLine(base + 'frobnicate: 1\n'), /:2: frobnicate: unknown key \(known: id, title, .*filesystem, dax, pmem/);
  // Nested mappings know their own keys.
  t.regex(errLine(base + 'metrics:\n  t: {description: x, bettr: lower}\n'), /:3: metrics\.t\.bettr: unknown key \(did you mean 'better'\?\)$/);
  t.regex(errLine(base + 'metrics:\n  t: {description: x, better: lower, unit: ns}\n'), /:3: metrics\.t\.unit: unknown key \(known: description, better\)$/);
});

test('numbers, booleans, strings and lists say what was given', (t) => {
  t.regex(errLine(base + 'repetitions: many\n'), /:2: repetitions: expected a number, got 'many'$/);
  t.regex(errLine(base + 'repetitions: 0\n'), /:2: repetitions: must be at least 1, got 0$/);
  t.regex(errLine(base + 'repetitions: 100000\n'), /:2: repetitions: must be at most 10000, got 100000$/);
  t.regex(errLine(base + 'repetitions: 2.5\n'), /:2: repetitions: expected an integer, got 2\.5$/);
  t.regex(errLine(base + 'scratch: true\nscratch_iops: 0\n'), /:3: scratch_iops: must be at least 1, got 0$/);
  t.regex(errLine(base + 'scratch: yes\n'), /:2: scratch: expected true or false, got 'yes'$/);
  t.regex(errLine(base + 'title: 5\n'), /:2: title: expected a string, got 5$/);
  t.regex(errLine(base + 'title:\n'), /:2: title: expected a string, got nothing \(an empty value\)$/);
  t.regex(errLine(base + 'args: hello\n'), /:2: args: expected a list, got 'hello'$/);
  t.regex(errLine(base + 'dax: []\n'), /:2: dax: must have at least 1 entry, got none$/);
  t.regex(errLine(base + 'timeout: [1]\n'), /:2: timeout: expected a string or a number, got a list$/);
  t.regex(errLine(base + 'pmem: [1G]\n'), /:2: pmem: expected a string or a number, got a list$/);
  t.regex(errLine(base + 'pmem: lots\n'), /:2: pmem: not a size: 'lots'/);
  t.regex(errLine(base + 'metrics: {t: 5}\n'), /:2: metrics\.t: expected a string or a mapping, got 5$/);
  t.regex(errLine('reproducer: ""\n'), /:1: reproducer: must not be empty$/);
  t.regex(errLine(base + 'id: Foo\n'), /:2: id: lower-case letters, digits, \. _ - only, got 'Foo'$/);
  // A long value is cut short, and stays one line.
  const long = errLine(base + `title: [${'x'.repeat(500)}]\n`);
  t.regex(long, /title: expected a string, got a list$/);
  const l2 = errLine(base + `dax: ${'y'.repeat(500)}\n`);
  t.true(l2.length < 200, l2);
  t.regex(l2, /got 'y{57}\.\.\.'$/);
});
