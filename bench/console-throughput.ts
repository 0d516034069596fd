// Console parser throughput and memory on a large console stream, fed line by line the way the
// runner feeds it. Prints numbers; it is not a pass/fail test.
//   npx tsx bench/console-throughput.ts [MB=200] [LOG...]
// The stream repeats the given logs (default: every capture in test/data/console), so it has the
// real mix of boot noise, task dumps and reports. A second pass measures memory under endless
// output: one report whose call trace never ends.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleParser } from '../harness/console/parser.ts';

const mb = Number(process.argv[2] ?? 200);
let files = process.argv.slice(3);
if (!files.length) {
  const dir = join(import.meta.dirname, '..', 'test', 'data', 'console');
  files = readdirSync(dir).filter((n) => n.endsWith('.log')).map((n) => join(dir, n));
}
const lines = files.flatMap((f) => readFileSync(f, 'latin1').split('\n'));
const sampleBytes = lines.reduce((n, l) => n + l.length + 1, 0);
const reps = Math.max(1, Math.ceil((mb * 1024 * 1024) / sampleBytes));

function run(): { bytes: number; ms: number; findings: number } {
  const p = new ConsoleParser();
  let bytes = 0;
  let findings = 0;
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < reps; r++) {
    for (const l of lines) {
      bytes += l.length + 1;
      findings += p.push(l).length;
    }
  }
  findings += p.end().length;
  return { bytes, ms: Number(process.hrtime.bigint() - t0) / 1e6, findings };
}

run(); // warm-up: JIT
const res = [run(), run(), run()];
const rates = res.map((r) => r.bytes / 1024 / 1024 / (r.ms / 1000)).sort((a, b) => a - b);
const r0 = res[0] as { bytes: number; findings: number };
console.log(`input: ${files.length} logs, ${lines.length} lines, ${(sampleBytes / 1024).toFixed(0)} KiB, repeated ${reps}x = ${(r0.bytes / 1024 / 1024).toFixed(0)} MiB per run`);
console.log(`findings per run: ${r0.findings}`);
console.log(`throughput MiB/s (3 runs): min ${rates[0]?.toFixed(1)} median ${rates[1]?.toFixed(1)} max ${rates[2]?.toFixed(1)}`);

// Endless output: a report that never ends must not grow memory without bound.
const p = new ConsoleParser({ maxReportLines: 1000 });
p.push('WARNING: possible circular locking dependency detected');
p.push('Call Trace:');
p.push(' <TASK>');
globalThis.gc?.();
const before = process.memoryUsage().heapUsed;
let closed = 0;
let peak = before;
for (let i = 0; i < 5_000_000; i++) {
  closed += p.push(` frame_${i % 97}+0x1c/0x80`).length;
  if (i % 500_000 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
}
globalThis.gc?.();
const after = process.memoryUsage().heapUsed;
console.log(`endless report: 5M frame lines, reports force-closed: ${closed}, heap before ${(before / 1048576).toFixed(1)} MiB, peak ${(peak / 1048576).toFixed(1)} MiB, after ${(after / 1048576).toFixed(1)} MiB`);
