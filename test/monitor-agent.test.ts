// The agent's monitor code (images/guest/agent.sh, between its "monitors" markers) under the
// host's busybox sh, the shell the guest runs it with, on text captured from a real guest
// (test/data/monitor/): a tracefs and a /proc made of files, the captured trace, hist and vmstat
// put in place between mon_start and mon_end as the kernel would have filled them. What it emits
// goes through the real channel parser and StepMonitors, and must give the independently counted
// numbers of expected.json.
import test from 'ava';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseAgentLine } from '../harness/agent/protocol.ts';
import { StepMonitors } from '../harness/monitor/collect.ts';
import { DAX_EVENTS, type MonitorRequest } from '../harness/monitor/spec.ts';

const agent = readFileSync('images/guest/agent.sh', 'utf8');
const part = /^# --- monitors: begin.*?^# --- monitors: end$/ms.exec(agent)?.[0] ?? '';
const DATA = 'test/data/monitor/debian-6.12';
interface Expected {
  vmstat: Record<string, number>;
  funclatency: Record<string, { count: number; min: number; max: number; p50: number; p99: number; mean: number }>;
  dax_events: Record<string, number>;
}
const expected = JSON.parse(readFileSync(join(DATA, 'expected.json'), 'utf8')) as Expected;

/** A tracefs and /proc of plain files, as far as the agent's monitor code touches them. */
function fakeKernel(dir: string, o: { tracefs: boolean; lockStat: boolean }): { tr: string; proc: string } {
  const tr = join(dir, 'tracing');
  const proc = join(dir, 'proc');
  mkdirSync(join(proc, 'sys/kernel'), { recursive: true });
  copyFileSync(join(DATA, 'vmstat-begin.txt'), join(proc, 'vmstat'));
  if (o.lockStat) {
    writeFileSync(join(proc, 'lock_stat'), '');
    writeFileSync(join(proc, 'sys/kernel/lock_stat'), '0\n');
  }
  if (!o.tracefs) return { tr, proc };
  mkdirSync(join(tr, 'options'), { recursive: true });
  mkdirSync(join(tr, 'per_cpu/cpu0'), { recursive: true });
  for (const f of ['current_tracer', 'set_ftrace_filter', 'tracing_on', 'buffer_size_kb', 'trace', 'options/funcgraph-tail']) writeFileSync(join(tr, f), '');
  writeFileSync(join(tr, 'available_tracers'), 'blk mmiotrace function_graph function nop\n');
  writeFileSync(join(tr, 'per_cpu/cpu0/stats'), 'entries: 0\noverrun: 0\n');
  for (const e of DAX_EVENTS) {
    mkdirSync(join(tr, 'events/fs_dax', e), { recursive: true });
    writeFileSync(join(tr, 'events/fs_dax', e, 'trigger'), '');
  }
  return { tr, proc };
}

const LOCK_DATA = 'test/data/monitor/debug-trace-6.12';

/** What the kernel would have left after the step: the captured end state. */
function stepRan(tr: string, proc: string): void {
  copyFileSync(join(DATA, 'vmstat-end.txt'), join(proc, 'vmstat'));
  if (existsSync(join(proc, 'lock_stat'))) copyFileSync(join(LOCK_DATA, 'lock_stat.txt'), join(proc, 'lock_stat'));
  try {
    copyFileSync(join(DATA, 'function_graph.trace'), join(tr, 'trace'));
  } catch {
    return; // no tracefs
  }
  const hist = readFileSync(join(DATA, 'fs_dax-hist.txt'), 'utf8');
  for (const sec of hist.split(/^--- /m).slice(1)) {
    const [name = '', ...rest] = sec.split('\n');
    if ((DAX_EVENTS as readonly string[]).includes(name)) writeFileSync(join(tr, 'events/fs_dax', name, 'hist'), rest.join('\n'));
  }
}

async function monitorStep(request: MonitorRequest, o: { tracefs: boolean; lockStat: boolean }): Promise<{ lines: string[]; result: ReturnType<StepMonitors['finish']>; tr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-mon-'));
  try {
    const { tr, proc } = fakeKernel(dir, o);
    const words = Object.entries(request).map(([m, w]) => `${m}=${w.join(',')}`);
    const marker = join(dir, 'ran');
    const script = `emit() { echo "@@DX $*" >&3; }\nmount() { return 1; }\n${part}\nmonitors ${words.join(' ')}\nmon_start 7\n: > ${marker}\nwhile [ ! -e ${marker}.done ]; do sleep 0.05; done\nmon_end 7\n`;
    const p = execa('busybox', ['sh', '-c', `${script}`], { env: { DAXLAB_TRACEFS: tr, DAXLAB_PROC: proc, PATH: process.env['PATH'] ?? '' }, extendEnv: false, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    const fd3: string[] = [];
    p.stdio[3]?.on('data', (b: Buffer) => fd3.push(b.toString()));
    // The step "runs": the kernel state moves from the begin capture to the end capture.
    for (let i = 0; i < 200; i++) {
      try {
        readFileSync(marker);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    stepRan(tr, proc);
    writeFileSync(`${marker}.done`, '');
    await p;
    const lines = fd3.join('').split('\n').filter(Boolean);
    const sm = new StepMonitors(request);
    for (const l of lines) {
      const ev = parseAgentLine(l);
      if (ev?.event === 'mon') sm.sample(ev.name, ev.phase, ev.text);
      else if (ev?.event === 'monskip') sm.skip(ev.name, ev.reason);
    }
    return { lines, result: sm.finish(), tr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const near = (actual: number | undefined, want: number, rel: number): boolean => actual !== undefined && Math.abs(actual - want) <= want * rel + 1e-9;

test('the extract is the agent code', (t) => {
  t.regex(part, /^mon_start\(\) \{/m);
  t.regex(part, /^mon_end\(\) \{/m);
});

test('vmstat, funclatency and dax_events on a real 6.12 guest capture give the counted numbers', async (t) => {
  const fns = Object.keys(expected.funclatency);
  const { lines, result } = await monitorStep({ vmstat: Object.keys(expected.vmstat).map((k) => k.slice('vmstat.'.length)), funclatency: fns, dax_events: [...DAX_EVENTS] }, { tracefs: true, lockStat: false });
  const m = new Map(result.metrics.map((x) => [x.name, x]));
  t.deepEqual(result.skipped, []);
  for (const [name, v] of Object.entries(expected.vmstat)) t.is(m.get(name)?.value, v, name);
  t.is(m.get('vmstat.pgfault')?.unit, 'count');
  for (const [fn, e] of Object.entries(expected.funclatency)) {
    t.is(m.get(`funclatency.${fn}.count`)?.value, e.count, `${fn} count`);
    t.is(m.get(`funclatency.${fn}.max`)?.value, e.max, `${fn} max`);
    t.is(m.get(`funclatency.${fn}.max`)?.unit, 'us');
    t.true(near(m.get(`funclatency.${fn}.mean`)?.value, e.mean, 0.001), `${fn} mean ${m.get(`funclatency.${fn}.mean`)?.value} vs ${e.mean}`);
    for (const q of ['p50', 'p99'] as const) t.true(near(m.get(`funclatency.${fn}.${q}`)?.value, e[q], 0.022), `${fn} ${q} ${m.get(`funclatency.${fn}.${q}`)?.value} vs ${e[q]}`);
  }
  for (const [name, v] of Object.entries(expected.dax_events)) t.is(m.get(name)?.value, v, name);
  // Bounded: a few lines per monitor, whatever the number of calls traced.
  t.true(lines.length < 60, `${lines.length} channel lines`);
  t.true(lines.every((l) => l.length < 4000));
});

test('the tracing monitors restore tracefs: function_graph off, filter empty, triggers removed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-mon-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { tr, proc } = fakeKernel(dir, { tracefs: true, lockStat: false });
  const script = `emit() { echo "@@DX $*" >&3; }\n${part}\nmonitors funclatency=dax_iomap_fault dax_events=dax_pte_fault_done,dax_pmd_fault\nmon_start 3\necho "ON $(cat $TR/current_tracer) [$(cat $TR/set_ftrace_filter)] $(cat $TR/tracing_on) $(cat $TR/events/fs_dax/dax_pte_fault_done/trigger)"\nmon_end 3\necho "OFF $(cat $TR/current_tracer) [$(cat $TR/set_ftrace_filter)] $(cat $TR/tracing_on) $(cat $TR/events/fs_dax/dax_pmd_fault/trigger)"`;
  const r = await execa('busybox', ['sh', '-c', script], { env: { DAXLAB_TRACEFS: tr, DAXLAB_PROC: proc }, extendEnv: false, stdio: ['ignore', 'pipe', 'pipe', 'ignore'] });
  t.is(r.stdout, 'ON function_graph [dax_iomap_fault] 1 hist:keys=result.hex\nOFF nop [] 0 !hist:keys=common_pid');
});

test('a kernel without tracefs or lock_stat: each monitor is skipped once, named, and vmstat still works', async (t) => {
  const { result } = await monitorStep({ vmstat: ['pgfault'], funclatency: ['dax_iomap_fault'], dax_events: ['dax_pte_fault'], lock_stat: ['top=5'] }, { tracefs: false, lockStat: false });
  t.deepEqual(
    result.skipped.map((s) => s.monitor),
    ['funclatency', 'dax_events', 'lock_stat'],
  );
  t.regex(result.skipped.find((s) => s.monitor === 'lock_stat')?.reason ?? '', /CONFIG_LOCK_STAT/);
  t.regex(result.skipped.find((s) => s.monitor === 'funclatency')?.reason ?? '', /function_graph/);
  t.deepEqual(result.metrics, [{ name: 'vmstat.pgfault', value: 8172, unit: 'count' }]);
});

test('lock_stat on a real debug-trace-6.12 capture: cleared and switched on, then the top classes by wait time', async (t) => {
  const want = JSON.parse(readFileSync(join(LOCK_DATA, 'lock_stat.expected.json'), 'utf8')) as { classes: number; contended: number; acquisitions: number; contentions: number; wait_total: number; top: { name: string; contentions: number; wait_total: number; wait_max: number; acquisitions: number }[] };
  const { lines, result } = await monitorStep({ lock_stat: [`top=${want.top.length}`] }, { tracefs: false, lockStat: true });
  t.deepEqual(result.skipped, []);
  const m = new Map(result.metrics.map((x) => [x.name, x.value]));
  t.is(m.get('lock_stat.all.contentions'), want.contentions);
  t.is(m.get('lock_stat.all.acquisitions'), want.acquisitions);
  t.true(Math.abs((m.get('lock_stat.all.wait_total') ?? 0) - want.wait_total) < 0.01 * want.top.length + 0.01);
  for (const c of want.top) {
    t.is(m.get(`lock_stat.${c.name}.wait_total`), c.wait_total, c.name);
    t.is(m.get(`lock_stat.${c.name}.wait_max`), c.wait_max, c.name);
    t.is(m.get(`lock_stat.${c.name}.contentions`), c.contentions, c.name);
    t.is(m.get(`lock_stat.${c.name}.acquisitions`), c.acquisitions, c.name);
  }
  // Only contended classes cross the channel, plus the version and the sum.
  t.is(lines.filter((l) => / mon lock_stat end .*:/.test(l) && !/version/.test(l)).length, Math.min(200, want.contended));
});
