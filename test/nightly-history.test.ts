// `daxlab nightly --db`: each night goes into a real SQLite history file and is compared with the
// nights before it. Two real debian:6.12 nights of one kernel name; the second one panics the
// kernel, a finding title that name never had, and must alert (exit 1, alerts first).
import test from 'ava';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daxlab } from './helpers.ts';

test('a night with a new finding title alerts first and exits 1; a quiet first night does not', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'daxlab-nightly-db-'));
  const db = join(root, 'history.sqlite');
  const n1 = await daxlab(['nightly', 'test/data/nightly/night-1.yaml', '-j', '1', '--db', db, '--out', join(root, 'n1')]);
  t.is(n1.exitCode, 0, String(n1.all).slice(-2000));
  t.regex(String(n1.stdout), /^no alerts: /m);
  t.regex(String(n1.stdout), /imported into sqlite:/);
  t.true(existsSync(db));
  const n2 = await daxlab(['nightly', 'test/data/nightly/night-2.yaml', '-j', '1', '--db', db, '--out', join(root, 'n2')]);
  t.is(n2.exitCode, 1, String(n2.all).slice(-2000));
  const out = String(n2.stdout);
  t.regex(out, /^1 alert:\nNEW FINDING on deb: kernel panic: sysrq triggered crash \(first seen in \d{8}-\d{6}-[0-9a-f]{6}\)$/m);
  t.true(out.indexOf('NEW FINDING') < out.indexOf('scenario  variant'), 'alerts before the table');
});
