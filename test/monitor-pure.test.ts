// Monitors without QEMU: the request (scenario field, --monitor), the plan.sh line, the channel
// events, the parsers' edge cases and the A/B families. Real captured text is in
// test/monitor-agent.test.ts (through the agent's own awk) and below for lock_stat.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { parseAgentLine } from '../harness/agent/protocol.ts';
import { compareSlots } from '../harness/ab/collect.ts';
import { blockOrder, slotItems, slotsFor } from '../harness/ab/design.ts';
import { rng } from '../harness/ab/stats.ts';
import { StepMonitors } from '../harness/monitor/collect.ts';
import { daxEventMetrics } from '../harness/monitor/dax-events.ts';
import { bucketMiddle, bucketQuantile, funcLatencyMetrics } from '../harness/monitor/funclatency.ts';
import { agentWords, DEFAULT_FUNCTIONS, mergeMonitors, monitorOfMetric, parseMonitorFlag } from '../harness/monitor/spec.ts';
import { vmstatMetrics } from '../harness/monitor/vmstat.ts';
import { agentScript, planBoot, workItems } from '../harness/plan/plan.ts';
import type { RunSummary, StepResult } from '../harness/results/types.ts';
import { parseScenarioText } from '../harness/scenario/load.ts';
import { applyOverrides, describeOverrides, hasOverrides, parseOverrides } from '../harness/scenario/overrides.ts';
import { UserError } from '../harness/util/errors.ts';
import { daxlab } from './helpers.ts';

const file = '/tmp/x/scenario.yaml';

function errOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e.oneLine();
    throw e;
  }
  throw new Error('did not throw');
}

test('--monitor: names take their defaults, NAME=a+b picks, bad names and words are bad input', (t) => {
  const r = parseMonitorFlag(['vmstat,funclatency=dax_iomap_fault+ext4_break_layouts', 'lock_stat=top=3']);
  t.deepEqual(r.funclatency, ['dax_iomap_fault', 'ext4_break_layouts']);
  t.true(r.vmstat?.includes('pgfault'));
  t.deepEqual(r.lock_stat, ['top=3']);
  t.deepEqual(parseMonitorFlag(['funclatency']).funclatency, DEFAULT_FUNCTIONS);
  t.regex(errOf(() => parseMonitorFlag(['funclatncy'])), /--monitor: 'funclatncy' is not one of .*did you mean 'funclatency'/);
  t.regex(errOf(() => parseMonitorFlag(['funclatency=a;reboot'])), /not a kernel function name/);
  t.regex(errOf(() => parseMonitorFlag(['lock_stat=top=0'])), /top=N/);
  t.regex(errOf(() => parseMonitorFlag([','])), /at least one/);
});

test('scenario monitors: a list or a map; an unknown monitor or a bad word names its line', (t) => {
  const s = parseScenarioText('reproducer: r.c\nmonitors: [vmstat, dax_events]\n', file);
  t.deepEqual(Object.keys(s.monitors ?? {}), ['vmstat', 'dax_events']);
  const m = parseScenarioText('reproducer: r.c\nmonitors:\n  funclatency: [dax_layout_busy_page_range]\n  lock_stat: true\n', file);
  t.deepEqual(m.monitors, { funclatency: ['dax_layout_busy_page_range'], lock_stat: ['top=10'] });
  t.is(parseScenarioText('reproducer: r.c\n', file).monitors, undefined);
  t.regex(errOf(() => parseScenarioText('reproducer: r.c\nmonitors:\n  lockstat: true\n', file)), /scenario\.yaml:\d+: monitors.*unknown monitor 'lockstat'.*did you mean 'lock_stat'/);
  t.regex(errOf(() => parseScenarioText('reproducer: r.c\nmonitors:\n  vmstat: [PgFault]\n', file)), /scenario\.yaml:\d+: monitors.*not a \/proc\/vmstat counter/);
  // The flag's words win for a monitor both name; the others add up.
  t.deepEqual(mergeMonitors(m.monitors, { funclatency: ['dax_iomap_fault'], vmstat: ['pgfault'] }), { funclatency: ['dax_iomap_fault'], lock_stat: ['top=10'], vmstat: ['pgfault'] });
  t.is(mergeMonitors(undefined, undefined), undefined);
});

test('plan.sh asks for the monitors right before the run they belong to, and only there', (t) => {
  const base = parseScenarioText('reproducer: r.c\nmonitors:\n  vmstat: [pgfault]\n  funclatency: [dax_iomap_fault, ext4_break_layouts]\n', file);
  const items = workItems('k', [base, { ...parseScenarioText('reproducer: r.c\n', file), id: 'plain' }], new Map());
  const script = agentScript(planBoot(items, { pmemBytes: 1024 ** 3 }));
  const lines = script.split('\n');
  const at = lines.findIndex((l) => l.startsWith('monitors '));
  t.is(lines[at], 'monitors vmstat=pgfault funclatency=dax_iomap_fault,ext4_break_layouts');
  t.regex(lines[at + 1] ?? '', /^run_step \d+ repro .*\/daxlab\/bin\/x$/);
  t.is(lines.filter((l) => l.startsWith('monitors ')).length, 1);
  t.deepEqual(agentWords({ lock_stat: ['top=3'], vmstat: ['a'] }), ['vmstat=a', 'lock_stat=top=3']);
});

test('mon and monskip channel lines keep the sampled text as it was, spaces included', (t) => {
  t.deepEqual(parseAgentLine('@@DX 12 mon lock_stat end   &mapping->i_mmap_rwsem:   0  3   1.00'), { step: 12, event: 'mon', name: 'lock_stat', phase: 'end', text: '  &mapping->i_mmap_rwsem:   0  3   1.00' });
  t.deepEqual(parseAgentLine('@@DX 4 monskip funclatency:xfs_break_dax_layouts not a traceable function'), { step: 4, event: 'monskip', name: 'funclatency:xfs_break_dax_layouts', reason: 'not a traceable function' });
});

test('a monitor that sent nothing is skipped by name; a skip is said once; zero calls is a result', (t) => {
  const sm = new StepMonitors({ vmstat: ['pgfault'], funclatency: ['dax_iomap_fault', 'xfs_break_dax_layouts'], lock_stat: ['top=2'] });
  sm.sample('funclatency', 'end', 'ok');
  sm.skip('funclatency:xfs_break_dax_layouts', 'not traceable');
  sm.skip('funclatency:xfs_break_dax_layouts', 'not traceable');
  sm.skip('lock_stat', 'no /proc/lock_stat (CONFIG_LOCK_STAT)');
  sm.sample('nosuch', 'end', 'x');
  const r = sm.finish();
  t.deepEqual(r.skipped.map((s) => s.monitor), ['funclatency:xfs_break_dax_layouts', 'lock_stat', 'vmstat']);
  t.deepEqual(r.metrics, [{ name: 'funclatency.dax_iomap_fault.count', value: 0, unit: 'count' }]);
});

test('vmstat: deltas of counters on both sides; a line that is not a counter is ignored', (t) => {
  t.deepEqual(vmstatMetrics(['pgfault 10', 'nr_free_pages 100', 'garbage'], ['pgfault 25', 'nr_free_pages 90', 'thp_fault_alloc 3', 'ok']), [
    { name: 'vmstat.pgfault', value: 15, unit: 'count' },
    { name: 'vmstat.nr_free_pages', value: -10, unit: 'count' },
  ]);
});

test('funclatency buckets: 32 equal parts an octave, quantiles clamped to the exact min and max', (t) => {
  t.is(bucketMiddle(0), 1 + 0.5 / 32);
  t.is(bucketMiddle(32 * 3 + 16), 8 * (1 + 16.5 / 32));
  t.is(bucketMiddle(-32), 0.5 * (1 + 0.5 / 32));
  const f = { fn: 'f', count: 3, sumUs: 30, minUs: 9.1, maxUs: 11, buckets: new Map([[32 * 3 + 4, 2], [32 * 3 + 12, 1]]) };
  t.is(bucketQuantile(f, 0.5), 9.125);
  t.is(bucketQuantile(f, 0.99), 11); // bucket middle 11.125 is past the real max
  const m = funcLatencyMetrics(['f g 4 40 1 20', 'b g 0:2 128:2', 'lost 12', 'ok'], ['g', 'h']);
  t.deepEqual(m.map((x) => `${x.name}=${x.value}${x.unit}`), ['funclatency.h.count=0count', 'funclatency.g.count=4count', 'funclatency.g.mean=10us', 'funclatency.g.p50=1.016us', 'funclatency.g.p99=16.25us', 'funclatency.g.max=20us', 'funclatency.lost_events=12count']);
});

test('dax_events: hits per event, *_fault_done split by VM_FAULT_* bits', (t) => {
  const m = daxEventMetrics(['dax_pmd_fault     Hits: 16', 'dax_pmd_fault_done { result: 800 } hitcount:         16', 'dax_pmd_fault_done     Hits: 16', 'dax_pte_fault_done { result: 104 } hitcount: 3', 'dax_pte_fault_done { result: 100 } hitcount: 5', 'dax_pte_fault_done { result: 0 } hitcount: 1', 'ok']);
  t.deepEqual(Object.fromEntries(m.map((x) => [x.name, x.value])), {
    'dax_events.dax_pmd_fault': 16,
    'dax_events.dax_pmd_fault_done': 16,
    'dax_events.dax_pmd_fault.fallback': 16,
    'dax_events.dax_pte_fault.major': 3,
    'dax_events.dax_pte_fault.nopage': 8,
    'dax_events.dax_pte_fault.none': 1,
  });
});

test('monitor metrics are told from the reproducer\'s by their first word', (t) => {
  t.is(monitorOfMetric('funclatency.dax_iomap_fault.p50'), 'funclatency');
  t.is(monitorOfMetric('lock_stat.&mapping->invalidate_lock.wait_total'), 'lock_stat');
  t.is(monitorOfMetric('truncate_total'), undefined);
  t.is(monitorOfMetric('truncate.p50'), undefined);
});

test('A/B: a monitor\'s metrics are a Holm family of their own and do not dilute the reproducer\'s verdict', (t) => {
  // 4 boots a side, fully separated: exact p = 0.029. Judged with nine more directed metrics in
  // one family, Holm would make that 0.26 and the reproducer's regression inconclusive.
  const slots = slotsFor(blockOrder(2, rng(1)), 1, 'base', 'patched');
  const steps: StepResult[] = [];
  for (const sl of slots) {
    for (let rep = 0; rep <= 2; rep++) {
      const v = (sl.side === 'B' ? 2 : 1) * (1 + 0.01 * ((sl.slot + rep) % 3));
      const metrics: StepResult['metrics'] = { truncate_total: { unit: 's', value: v } };
      for (let c = 0; c < 9; c++) metrics[`lock_stat.class${c}.wait_total`] = { unit: 'us', value: v * (c + 1) };
      metrics['vmstat.pgfault'] = { unit: 'count', value: 100 };
      steps.push({ key: `${sl.kernel}/tl:ext4:always:r${rep}@${sl.slot}`, kernel: sl.kernel, scenario: 'tl', variant: { fs: 'ext4', dax: 'always' }, rep, slot: sl.slot, boot: sl.slot, status: 'pass', reason: '', exitCode: 0, durationMs: 1, samples: {}, metrics, infos: [], output: [], stderr: [], findings: [], finishedAt: '' });
    }
  }
  const summary: Pick<RunSummary, 'steps' | 'findings' | 'boots'> = { steps, findings: [], boots: [] };
  const k = (name: string) => ({ name, spec: name, release: '6.12', identity: {} });
  const c = compareSlots({ id: 'main', summary, a: k('base'), b: k('patched'), slots, settings: { threshold: 0.05, alpha: 0.05, confidence: 0.95, resamples: 2000, seed: 7 }, better: {}, wallMs: 0 });
  const by = new Map(c.metrics.map((m) => [m.metric, m]));
  t.is(by.get('truncate_total')?.verdict, 'regression');
  t.is(by.get('truncate_total')?.pAdjusted, by.get('truncate_total')?.p);
  t.is(by.get('lock_stat.class0.wait_total')?.better, 'lower');
  t.true((by.get('lock_stat.class0.wait_total')?.pAdjusted ?? 0) > 0.2, 'nine lock_stat metrics are adjusted among themselves');
  t.is(by.get('vmstat.pgfault')?.better, 'none');
  t.is(by.get('vmstat.pgfault')?.verdict, 'no change');
});


test('--monitor is a recorded override: merged into every scenario, described, refused by its schema when malformed', (t) => {
  const o = parseOverrides({ monitor: ['funclatency=dax_iomap_fault', 'vmstat=pgfault'] }, undefined);
  t.deepEqual(o.monitors, { funclatency: ['dax_iomap_fault'], vmstat: ['pgfault'] });
  t.true(hasOverrides(o));
  t.is(describeOverrides(o), 'monitors=vmstat=pgfault funclatency=dax_iomap_fault');
  const s = parseScenarioText('reproducer: r.c\nmonitors:\n  lock_stat: [top=3]\n', file);
  const [m] = applyOverrides([s], o);
  t.deepEqual(m?.monitors, { lock_stat: ['top=3'], funclatency: ['dax_iomap_fault'], vmstat: ['pgfault'] });
});

test('A/B slots carry the scenario\'s monitors into every item, warm-up included', (t) => {
  const s = parseScenarioText('reproducer: r.c\nmonitors:\n  funclatency: [dax_layout_busy_page_range]\n', file);
  const items = slotItems(slotsFor(['A', 'B'], 1, 'base', 'patched'), [s], new Map(), () => 1);
  t.is(items.length, 4);
  t.true(items.every((i) => i.monitors?.funclatency?.[0] === 'dax_layout_busy_page_range'));
  t.regex(agentScript(planBoot(items.filter((i) => i.slot === 1), { pmemBytes: 1024 ** 3 })), /^monitors funclatency=dax_layout_busy_page_range$/m);
});

test('a bad --monitor is bad input for run and ab: exit 2, one line naming the flag, nothing written', async (t) => {
  const out = join(tmpdir(), `daxlab-mon-bad-${process.pid}`);
  for (const args of [['run', 'truncate-latency', '--monitor', 'lockstat'], ['ab', '--aa', 'debian:6.12', '--monitor', 'funclatency=a;b']]) {
    const r = await daxlab([...args, '--out', out]);
    t.is(r.exitCode, 2, String(r.all));
    t.regex(String(r.all).trim(), /^daxlab: --monitor[^\n]*$/);
    t.false(existsSync(out));
  }
});
