// `daxlab nightly --db`: each night goes into a real SQLite history file and is compared with the
// nights before it. Two real debian:6.12 nights of one kernel name; the second one panics the
// kernel, a finding title that name never had, and must alert (exit 1, alerts first). Each night
// leaves its history page beside its report.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
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
  // Each night's history page beside its report, which links it; the second one has both nights.
  for (const n of ['n1', 'n2']) {
    t.regex(readFileSync(join(root, n, 'report.html'), 'utf8'), /<a id="history-link" href="history\.html">/, `${n}: report.html links history.html`);
    t.true(readFileSync(join(root, n, 'history.html'), 'utf8').includes(`id="series-${encodeURIComponent('deb/tl-one/ext4-dax=always/truncate.p50')}"`), `${n}: history.html has the night's series`);
  }
  t.regex(out, /^history page: .*n2\/history\.html$/m);
  // Plotted, or (icount: the same work can time exactly the same) listed as constant.
  t.regex(readFileSync(join(root, 'n2', 'history.html'), 'utf8'), /data-series="deb\/tl-one\/ext4-dax=always\/truncate\.p50"[^>]*><title>[^<]*: 2 nights, 0 change points<|<code>truncate\.p50<\/code> = [^<]+ <span class="dim">on all 2 nights</);
  // The trend: both nights of deb's truncate median, oldest first.
  const h = await daxlab(['history', 'truncate.p50', '--kernel', 'deb', '--db', db]);
  t.is(h.exitCode, 0, String(h.all));
  t.regex(String(h.stdout), /^deb\/tl-one:ext4-dax=always truncate\.p50 \(2 nights\)\nnight +run +release +value +boots/);
  t.is(String(h.stdout).split('\n').filter((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d +\d{8}-\d{6}-[0-9a-f]{6} +6\.12\.\d+\+deb12-amd64 +\S+ us +1$/.test(l)).length, 2, String(h.stdout));
  const typo = await daxlab(['history', 'truncate.p05', '--db', db]);
  t.is(typo.exitCode, 2);
  t.regex(String(typo.stderr), /no series of metric 'truncate\.p05' in sqlite:.* \(did you mean 'truncate\.p50'\?\)$/m);
});
