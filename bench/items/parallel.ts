// (d) Serial vs parallel guests: `daxlab run -j 1` against `-j 2` (2 vCPUs per guest both times,
// daxlab's default) on the default scenarios and --kernel, under TCG (one host thread per guest),
// runs one at a time and alternating (1 2, 2 1, ...; --reps, default 2). Per config: wall time
// of the whole run (preparation included), steps per minute; then the speed-up of -j 2 (steps
// per minute over -j 1's of the same rep) and whether its runs did the same work (step keys,
// statuses, sample names and counts). bench/parallel.ts is the richer matrix (JxC configs,
// raw per-run JSON); this item shares its pieces (bench/lib/parallel.ts).
import { freemem } from 'node:os';
import { daxlabRun, isInterrupted, median } from '../lib/daxrun.ts';
import type { BenchItem, BenchOptions, BenchRow } from '../lib/item.ts';
import { compare, diffSummary, parseConfigs, perMin, qemuProcesses, record, rotatedTasks, type Config, type RunRecord } from '../lib/parallel.ts';
import { load } from '../lib/timing.ts';

const CONFIGS = parseConfigs('1x2,2x2') as Config[];

/** The item's rows from the runs (pure: the tests feed it records). */
export function parallelRows(configs: readonly Config[], runs: readonly RunRecord[]): BenchRow[] {
  const ref = configs[0] as Config;
  const refOf = (r: RunRecord): RunRecord | undefined => runs.find((x) => x.rep === r.rep && x.config.label === ref.label);
  const rows: BenchRow[] = [];
  const range = (xs: number[]): Pick<BenchRow, 'min' | 'max'> => ({ min: Math.min(...xs), max: Math.max(...xs) });
  for (const c of configs) {
    const rs = runs.filter((r) => r.config.label === c.label);
    if (rs.length === 0) continue;
    const wall = rs.map((r) => r.wallMs / 1000);
    const rate = rs.map(perMin);
    const notes: string[] = [];
    const steps = [...new Set(rs.map((r) => r.steps.length))];
    notes.push(`${steps.join('/')} steps, ${median(rs.map((r) => r.boots.length))} boot(s)`);
    const failed = rs.filter((r) => r.status !== 'completed');
    if (failed.length) notes.push(`${failed.length} run(s) ${[...new Set(failed.map((r) => r.status ?? 'unknown'))].join('/')}`);
    const busy = rs.filter((r) => r.host.otherQemuBefore > 0).length;
    if (busy) notes.push(`${busy} run(s) began beside other QEMU`);
    rows.push({ metric: `-j ${c.jobs}: wall`, value: median(wall), unit: 's', n: rs.length, ...range(wall), note: notes.join('; ') });
    rows.push({ metric: `-j ${c.jobs}: steps per minute`, value: median(rate), unit: '/min', n: rs.length, ...range(rate) });
  }
  for (const c of configs.slice(1)) {
    const pairs = runs.filter((r) => r.config.label === c.label).flatMap((r) => {
      const a = refOf(r);
      return a ? [{ a, r }] : [];
    });
    if (pairs.length === 0) continue;
    const x = pairs.map(({ a, r }) => perMin(r) / perMin(a));
    const content = pairs.map(({ a, r }) => diffSummary(compare(a, r)));
    const same = content.filter((d) => d === 'same').length;
    const row: BenchRow = {
      metric: `speed-up -j ${c.jobs} over -j ${ref.jobs}`,
      value: median(x),
      unit: 'x',
      n: pairs.length,
      ...range(x),
      note: `steps/min ratio per rep; content ${same === pairs.length ? 'same' : `${same}/${pairs.length} same (${content.filter((d) => d !== 'same').join('; ')})`}`,
    };
    if (c.jobs === 2) row.top = 'parallelSpeedup';
    rows.push(row);
  }
  return rows;
}

async function run(o: BenchOptions): Promise<BenchRow[]> {
  const reps = o.reps ?? 2;
  const runs: RunRecord[] = [];
  const tasks = rotatedTasks(CONFIGS, reps);
  for (const [i, t] of tasks.entries()) {
    if (isInterrupted()) break;
    const host = { loadBefore: load(), otherQemuBefore: qemuProcesses(), freeMemBefore: freemem(), sources: '' };
    o.log(`parallel: [${i + 1}/${tasks.length}] rep ${t.rep}: daxlab run -j ${t.config.jobs} --guest-cpus ${t.config.guestCpus} --kernel ${o.kernel} (load ${host.loadBefore.join(' ')})`);
    const r = await daxlabRun({ scenarios: [], kernel: o.kernel, tcgThread: 'single', extra: ['-j', String(t.config.jobs), '--guest-cpus', String(t.config.guestCpus)] });
    if (r.interrupted) break;
    if (!r.summary) throw new Error(`daxlab run -j ${t.config.jobs} wrote no summary (exit ${r.exitCode ?? r.signal}): ${r.stderrTail.slice(-3).join(' | ')}`);
    const rec = record(t.rep, t.order, t.config, o.kernel, r, host);
    if (rec.concurrency !== undefined && rec.concurrency !== t.config.jobs) throw new Error(`daxlab ran ${rec.concurrency} guest(s) at once for -j ${t.config.jobs}`);
    o.log(`parallel: ${(rec.wallMs / 1000).toFixed(1)} s, ${rec.steps.length} steps, ${perMin(rec).toFixed(2)} steps/min, ${rec.boots.length} boot(s)`);
    runs.push(rec);
  }
  return parallelRows(CONFIGS, runs);
}

export const item: BenchItem = { name: 'parallel', title: '(d) serial vs parallel guests', run };
