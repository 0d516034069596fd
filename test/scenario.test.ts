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
