// `npm run bench`: the bench items of issue 12, side by side in one run, as one table (and one
// JSON object with --json). Each item is a module under bench/items/ (see items/index.ts);
// --only picks some by name. Timings on a shared machine are noisy: the load average before and
// after is printed with them.
//
//   npm run bench -- [--only NAME[,NAME]] [--reps N] [--kernel SPEC] [--builds] [--json]
import { cpus } from 'node:os';
import { ITEMS } from './items/index.ts';
import { benchArgs, die, positiveInt, table } from './lib/daxrun.ts';
import type { BenchRow } from './lib/item.ts';
import { load } from './lib/timing.ts';

const USAGE = `usage: npm run bench -- [--only NAME[,NAME]] [--reps N] [--kernel SPEC] [--builds] [--json]
  --only    items to run (default all but the opt-in ones): ${ITEMS.map((i) => `${i.name} ${i.title}${i.optIn ? ' (opt-in)' : ''}`).join(', ')}
  --builds  also run the opt-in items (kernel builds: minutes each)
  --reps    repetitions per item (default: each item's own)
  --kernel  kernel spec for items that boot (default debian:6.12)
  --json    one JSON object on stdout instead of the table`;

const args = benchArgs(USAGE, {
  only: { type: 'string' },
  reps: { type: 'string' },
  kernel: { type: 'string', default: 'debian:6.12' },
  json: { type: 'boolean', default: false },
  builds: { type: 'boolean', default: false },
});

const names = args.only?.split(',').map((s) => s.trim()).filter(Boolean);
for (const n of names ?? []) if (!ITEMS.some((i) => i.name === n)) die(`--only: no bench item '${n}' (items: ${ITEMS.map((i) => i.name).join(', ')})`);
const items = names ? ITEMS.filter((i) => names.includes(i.name)) : ITEMS.filter((i) => !i.optIn || args.builds);
const reps = args.reps === undefined ? undefined : positiveInt('--reps', args.reps);

interface ItemResult {
  name: string;
  title: string;
  rows: BenchRow[];
  error?: string;
}

const loadBefore = load();
const startedAt = new Date().toISOString();
const results: ItemResult[] = [];
for (const item of items) {
  process.stderr.write(`bench: ${item.title}\n`);
  try {
    results.push({ name: item.name, title: item.title, rows: await item.run({ reps, kernel: args.kernel, log: (l) => process.stderr.write(`  ${l}\n`) }) });
  } catch (e) {
    // One item failing leaves the others' numbers standing; the exit status says it.
    results.push({ name: item.name, title: item.title, rows: [], error: (e as Error).message });
    process.exitCode = 1;
  }
}
const loadAfter = load();

if (args.json) {
  const top: Record<string, number> = {};
  for (const r of results.flatMap((x) => x.rows)) if (r.top !== undefined) top[r.top] = r.value;
  const out = { schema: 1, startedAt, host: { cpus: cpus().length, loadBefore, loadAfter }, ratio: top['ratio'] ?? null, ...top, items: results };
  process.stdout.write(JSON.stringify(out, null, 1) + '\n');
} else {
  const fmt = (x: number | undefined, unit: BenchRow['unit']): string => {
    if (x === undefined || !Number.isFinite(x)) return '-';
    const digits = unit === 'x' ? 3 : unit === 'count' ? 0 : Math.abs(x) < 10 ? 2 : 0;
    return `${x.toFixed(digits)}${unit === 'ms' || unit === 's' ? ` ${unit}` : ''}`;
  };
  const rows = results.flatMap((r) =>
    r.error !== undefined
      ? [[r.title, 'FAILED', '-', '-', '-', '-', '-', r.error]]
      : r.rows.map((x) => [r.title, x.metric, fmt(x.value, x.unit), fmt(x.min, x.unit), fmt(x.max, x.unit), fmt(x.cpuMs, 'ms'), String(x.n), x.note ?? '']),
  );
  process.stdout.write(`load average ${loadBefore.join(' ')} before, ${loadAfter.join(' ')} after (${cpus().length} CPUs); values are medians\n`);
  process.stdout.write(table(['item', 'metric', 'median', 'min', 'max', 'cpu', 'n', 'note'], rows) + '\n');
}
