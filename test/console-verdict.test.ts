// Step verdicts from findings, and the console capture cap.
import test from 'ava';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CappedLog } from '../harness/console/capture.ts';
import { isAllowed, stepFindingVerdict } from '../harness/console/verdict.ts';

const warn = { kind: 'warning', title: 'WARNING in dax_layout_busy_page_range' };
const deadlock = { kind: 'lockdep-circular', title: 'possible deadlock in daxlab_lock_ba' };
const hung = { kind: 'hung-task', title: 'INFO: task hung in mnt_want_write' };

test('a step without findings passes; any finding fails it', (t) => {
  t.deepEqual(stepFindingVerdict([], []), { fail: false, reasons: [] });
  t.deepEqual(stepFindingVerdict([warn], []), { fail: true, reasons: ['WARNING in dax_layout_busy_page_range'] });
});

test('allow_findings by kind, kind family or exact title', (t) => {
  t.false(stepFindingVerdict([warn], ['warning']).fail);
  t.false(stepFindingVerdict([deadlock], ['lockdep']).fail, '"lockdep" covers every lockdep-* kind');
  t.true(stepFindingVerdict([deadlock], ['lock']).fail, 'a family is a whole word before "-"');
  t.false(stepFindingVerdict([warn], ['WARNING in dax_layout_busy_page_range']).fail);
  t.true(stepFindingVerdict([warn], ['WARNING in dax_iomap_rw']).fail, 'another title is not allowed');
  t.true(stepFindingVerdict([warn], ['warning in dax_layout_busy_page_range']).fail, 'titles match exactly');
  t.true(isAllowed(hung, ['panic', 'hung-task']));
});

test('reasons: each disallowed title once, with a count when repeated', (t) => {
  const v = stepFindingVerdict([hung, warn, hung, deadlock, hung], ['warning']);
  t.true(v.fail);
  t.deepEqual(v.reasons, ['INFO: task hung in mnt_want_write (x3)', 'possible deadlock in daxlab_lock_ba']);
});

test('console capture: output past the cap is dropped and a visible marker says how much', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'daxlab-cap-'));
  const path = join(dir, 'console.log');
  const log = new CappedLog(path, 1000);
  for (let i = 0; i < 100; i++) log.write(`[    1.0000${i % 10}] line ${i}\n`);
  await log.close();
  const text = await readFile(path, 'latin1');
  const marker = /\[daxlab: console truncated at 1000 bytes; (\d+) bytes dropped\]\n$/.exec(text);
  t.truthy(marker, 'marker at the end');
  t.is(text.length - (marker?.[0].length ?? 0) - 1, 1000, 'exactly the cap was kept');
  t.is(Number(marker?.[1]) + 1000, Array.from({ length: 100 }, (_, i) => `[    1.0000${i % 10}] line ${i}\n`).join('').length);
  t.is(log.bytesDropped, Number(marker?.[1]));
});
