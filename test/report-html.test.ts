// report.html of a real run (test/data/runs: a debian:6.12 run whose first step segfaults), opened
// in a real browser: the header says what was measured, not just that the run finished.
import test from 'ava';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { writeRunReport } from '../harness/report/command.ts';
import { RunRecorder } from '../harness/engine/recorder.ts';
import { openFile, scratchDir } from './browser.ts';

const RUN = join(import.meta.dirname, 'data', 'runs', 'segv-and-pass');

test('the header badge is the outcome (1 error, 1 pass) in red; the run state sits beside it', async (t) => {
  const dir = join(scratchDir(t), 'run');
  cpSync(RUN, dir, { recursive: true });
  const rec = RunRecorder.open(dir);
  rec.close();
  t.is(rec.summary.status, 'completed');
  const file = await writeRunReport(dir, rec.summary);
  const { page, errors } = await openFile(t, file);
  const badge = page.locator('h1 #outcome');
  t.is(await badge.textContent(), '1 error, 1 pass');
  t.true((await badge.getAttribute('class'))?.split(' ').includes('bad'));
  // Red, as the stylesheet paints a bad badge; not the green of a completed run.
  const color = await badge.evaluate((el) => getComputedStyle(el).backgroundColor);
  t.not(color, await page.locator('.badge.ok').first().evaluate((el) => getComputedStyle(el).backgroundColor));
  t.is(await page.locator('h1 #run-state').textContent(), 'run completed');
  t.regex(await page.title(), /: 1 error, 1 pass$/);
  t.deepEqual(errors, []);
});
