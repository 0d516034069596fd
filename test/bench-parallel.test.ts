// The parallel bench pieces (bench/lib/parallel.ts) and the `parallel` item's rows from run
// records (bench/items/parallel.ts). The runs themselves are the bench's (npm run bench).
import test from 'ava';
import { parallelRows } from '../bench/items/parallel.ts';
import { compare, diffSummary, parseConfigs, perMin, rotatedTasks, type Config, type RunRecord, type StepRecord } from '../bench/lib/parallel.ts';

const C = parseConfigs('1x2,2x2') as Config[];

function step(key: string, status = 'passed', n = 3): StepRecord {
  return { key, scenario: key.split(':')[0] ?? key, status, reason: '', durationMs: 1000, samples: { 'truncate': { unit: 'us', n, median: 5 } }, metrics: {} };
}

function run(rep: number, config: Config, wallS: number, steps: StepRecord[], boots = config.jobs): RunRecord {
  return {
    type: 'run', at: '2026-12-02T19:00:00Z', rep, order: 0, config, kernel: 'debian:6.12', exitCode: 0, status: 'completed', wallMs: wallS * 1000,
    boots: Array.from({ length: boots }, (_, i) => ({ index: i + 1, end: 'poweroff', exitMs: 1, items: 1 })), retries: 0, steps, reports: [],
    host: { loadBefore: [1, 1, 1], loadAfter: [1, 1, 1], otherQemuBefore: 0, freeMemBefore: 0, sources: '' }, stderrTail: [],
  };
}

test('parseConfigs: JxC list; errors name what is wrong', (t) => {
  t.deepEqual(parseConfigs(' 1x2, 2x1 '), [{ label: '1x2', jobs: 1, guestCpus: 2 }, { label: '2x1', jobs: 2, guestCpus: 1 }]);
  t.is(parseConfigs('1x2,2'), "'2' is not JOBSxGUEST_CPUS (e.g. 2x1)");
  t.is(parseConfigs('0x2'), "'0x2' is not JOBSxGUEST_CPUS (e.g. 2x1)");
  t.is(parseConfigs(','), 'no configs');
  t.is(parseConfigs('1x2,1x2'), 'a config is listed twice');
});

test('rotatedTasks: every config once a rep, the order rotated by one per rep (two configs alternate)', (t) => {
  t.deepEqual(rotatedTasks(C, 3).map((x) => `${x.rep}:${x.order}:${x.config.label}`), ['1:0:1x2', '1:1:2x2', '2:0:2x2', '2:1:1x2', '3:0:1x2', '3:1:2x2']);
});

test('parallelRows: wall and steps/min per -j, the speed-up per rep against -j 1 of the same rep, content compared', (t) => {
  const steps = ['a:ext4:always:r1', 'a:ext4:never:r1', 'a:xfs:always:r1', 'a:xfs:never:r1'].map((k) => step(k));
  const runs = [run(1, C[0]!, 60, steps), run(1, C[1]!, 40, steps), run(2, C[1]!, 30, steps), run(2, C[0]!, 60, steps)];
  t.is(perMin(runs[0]!), 4);
  const rows = parallelRows(C, runs);
  t.deepEqual(rows.map((r) => [r.metric, r.value, r.unit, r.n]), [
    ['-j 1: wall', 60, 's', 2],
    ['-j 1: steps per minute', 4, '/min', 2],
    ['-j 2: wall', 35, 's', 2],
    ['-j 2: steps per minute', 7, '/min', 2],
    ['speed-up -j 2 over -j 1', 1.75, 'x', 2],
  ]);
  t.is(rows[0]?.note, '4 steps, 1 boot(s)');
  t.is(rows[2]?.note, '4 steps, 2 boot(s)');
  t.is(rows[4]?.top, 'parallelSpeedup');
  t.is(rows[4]?.note, 'steps/min ratio per rep; content same');
  t.deepEqual([rows[4]?.min, rows[4]?.max], [1.5, 2]);
});

test('parallelRows: a status that flips and a run that did not complete are said, not hidden; a -j 2 run without its rep\'s -j 1 gives no speed-up', (t) => {
  const a = [step('a:ext4:always:r1'), step('a:xfs:always:r1')];
  const b = [step('a:ext4:always:r1', 'failed'), step('a:xfs:always:r1', 'passed', 2)];
  t.is(diffSummary(compare(run(1, C[0]!, 10, a), run(1, C[1]!, 10, b))), '1 status, 1 samples');
  const bad = { ...run(1, C[1]!, 10, b), status: 'interrupted' };
  const rows = parallelRows(C, [run(1, C[0]!, 10, a), bad]);
  t.is(rows.find((r) => r.metric === '-j 2: wall')?.note, '2 steps, 2 boot(s); 1 run(s) interrupted');
  t.is(rows.find((r) => r.metric.startsWith('speed-up'))?.note, 'steps/min ratio per rep; content 0/1 same (1 status, 1 samples)');
  t.deepEqual(parallelRows(C, [run(2, C[1]!, 10, a)]).map((r) => r.metric), ['-j 2: wall', '-j 2: steps per minute']);
});
