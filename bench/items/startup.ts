// (e) CLI start-up: wall and CPU time of `daxlab --help`, `daxlab catalog` and `daxlab findings
// --console FILE` as the user starts them (the ./daxlab launcher, and node bin/daxlab.js as the
// tests do), next to the same commands through tsx (DAXLAB_TSX=1, how every start ran before the
// bundle) and Node's own start. Commands take turns, so load drift hits all alike. Also, in
// process: the bundle's freshness check (paid by every start) and a rebuild (paid by the first
// start after a source change).
import { join } from 'node:path';
import { buildBundle, freshBundle } from '../../bin/cli-bundle.js';
import { ROOT } from '../lib/daxrun.ts';
import type { BenchItem, BenchOptions, BenchRow } from '../lib/item.ts';
import { median, sampleRow, timeCommand, type Timed } from '../lib/timing.ts';

const CONSOLE_LOG = join('test', 'data', 'console', 'debian-6.12-sysrq-hung-panic.log');
const TSX = { DAXLAB_TSX: '1' };

interface Case {
  metric: string;
  file: string;
  args: string[];
  env?: Record<string, string>;
}

const CASES: Case[] = [
  { metric: './daxlab --help', file: './daxlab', args: ['--help'] },
  { metric: 'node bin/daxlab.js --help', file: 'node', args: ['bin/daxlab.js', '--help'] },
  { metric: 'node bin/daxlab.js --help (tsx)', file: 'node', args: ['bin/daxlab.js', '--help'], env: TSX },
  { metric: './daxlab catalog', file: './daxlab', args: ['catalog'] },
  { metric: 'node bin/daxlab.js catalog', file: 'node', args: ['bin/daxlab.js', 'catalog'] },
  { metric: 'node bin/daxlab.js catalog (tsx)', file: 'node', args: ['bin/daxlab.js', 'catalog'], env: TSX },
  { metric: 'node bin/daxlab.js findings --console', file: 'node', args: ['bin/daxlab.js', 'findings', '--console', CONSOLE_LOG] },
  { metric: 'node bin/daxlab.js findings --console (tsx)', file: 'node', args: ['bin/daxlab.js', 'findings', '--console', CONSOLE_LOG], env: TSX },
  { metric: 'node -e 0 (Node itself)', file: 'node', args: ['-e', '0'] },
];

function row(metric: string, xs: readonly number[], cpu: readonly number[], note?: string): BenchRow {
  return sampleRow(metric, xs, 'ms', { ...(cpu.length ? { cpuMs: median(cpu) } : {}), ...(note !== undefined ? { note } : {}) });
}

async function run(o: BenchOptions): Promise<BenchRow[]> {
  const reps = o.reps ?? 7;
  // A start that finds the bundle stale rebuilds it: do that once before timing.
  if (freshBundle() === undefined) await buildBundle();
  const runs = new Map<Case, Timed[]>(CASES.map((c) => [c, []]));
  for (let i = 0; i < reps; i++) {
    o.log(`startup: round ${i + 1}/${reps}`);
    for (const c of CASES) {
      const t = await timeCommand(c.file, c.args, { cwd: ROOT, ...(c.env ? { env: c.env } : {}) });
      if (t.exitCode !== 0) throw new Error(`${c.metric}: exit ${t.exitCode}: ${t.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      runs.get(c)?.push(t);
    }
  }
  const rows = CASES.map((c) => {
    const ts = runs.get(c) ?? [];
    return row(c.metric, ts.map((t) => t.wallMs), ts.flatMap((t) => (t.cpuMs === undefined ? [] : [t.cpuMs])));
  });
  const checks: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = process.hrtime.bigint();
    const fresh = freshBundle();
    checks.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (fresh === undefined) throw new Error('the CLI bundle went stale during the bench (a source file changed)');
  }
  rows.push(row('bundle freshness check (in process)', checks, [], 'every start'));
  const t0 = process.hrtime.bigint();
  const built = await buildBundle();
  rows.push(row('bundle rebuild (in process)', [Number(process.hrtime.bigint() - t0) / 1e6], [], built ? 'first start after a change' : 'build failed: starts use tsx'));
  return rows;
}

export const item: BenchItem = { name: 'startup', title: '(e) CLI start-up', run };
