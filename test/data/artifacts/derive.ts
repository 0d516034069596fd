// Derives the counter-examples (derived-*.log) from the real capture in this directory:
//   npx tsx test/data/artifacts/derive.ts
// - derived-int3-in-place:       the trapped byte is still 0xcc: a real int3 in kernel text, which
//                                no rule may explain away
// - derived-int3-between-steps:  the same oops printed after step 2 ended, outside any step
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = import.meta.dirname;
const lines = readFileSync(join(dir, 'debian-6.12-oops-int3.log'), 'latin1').split('\n');
const write = (n: string, ls: string[]): void => writeFileSync(join(dir, n), ls.join('\n'));

const code = lines.findIndex((l) => /\bCode: .* eb <2e>/.test(l));
if (code < 0) throw new Error('no Code: line with "eb <2e>"');
write('derived-int3-in-place.log', lines.map((l, i) => (i === code ? l.replace('eb <2e>', 'cc <2e>') : l)));

const begin = lines.findIndex((l) => /daxlab: step 1 begin/.test(l));
if (begin < 0) throw new Error('no step 1 marker');
const ts = (lines[begin] ?? '').slice(0, 15);
write('derived-int3-between-steps.log', [
  ...lines.slice(0, begin + 1),
  `${ts}daxlab: step 1 end done`,
  `${ts}daxlab: step 2 begin`,
  `${ts}daxlab: step 2 end done`,
  ...lines.slice(begin + 1),
]);
