// Regenerates the symbol test data in this directory from a vmlinux with debug info and the
// console logs it (or a kernel with the same code) produced: the lines of `nm -S --defined-only`
// for every function the logs' frames name (all same-named symbols included), and the raw output
// of `addr2line -a -f -i` for every address those frames resolve to, plus start_kernel's, plus
// two static functions whose names several functions share (SHARED: one of each size is unique),
// plus an address outside the kernel's code (NOWHERE: addr2line knows no line there).
//   npx tsx test/data/console/symbols/capture.ts VMLINUX OUTDIR LOG...
// (the data here: the splat-debug-info kernel's vmlinux, test/data/console/*.log; logs of other
// builds add only nm lines: their frames do not fit this vmlinux)
// Development tool, like ../capture.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseConsoleText } from '../../../../harness/console/parser.ts';
import { frameDetails, frameKey, hexAddr, lookupAddress, parseNm, ROOT_ANCHOR } from '../../../../harness/console/symbolize.ts';

const [vmlinux, out, ...logs] = process.argv.slice(2);
if (!vmlinux || !out || !logs.length) {
  console.error('usage: capture.ts VMLINUX OUTDIR LOG...');
  process.exit(2);
}
const SHARED = [{ fn: 'cmp_range', offset: '0x5' }, { fn: 'lock_buffer', offset: '0x10' }];
const findings = logs.flatMap((l) => parseConsoleText(readFileSync(l, 'latin1')));
const names = new Set([ROOT_ANCHOR.fn, ...SHARED.map((s) => s.fn), ...findings.flatMap((f) => f.frames.map((fr) => fr.fn))]);
const nm = (await execa('nm', ['-S', '--defined-only', vmlinux], { maxBuffer: 512 * 1024 * 1024 })).stdout;
const excerpt = nm.split('\n').filter((l) => names.has(l.split(' ').at(-1) ?? ''));
writeFileSync(join(out, 'nm.txt'), excerpt.join('\n') + '\n');
const table = parseNm(excerpt.join('\n'));
const NOWHERE = 0x1234n;
const addrs = new Set<string>([hexAddr(table.get(ROOT_ANCHOR.fn)?.[0]?.addr ?? 0n), hexAddr(NOWHERE)]);
// Each shared name at every size only one of its functions has.
for (const s of SHARED) {
  const all = table.get(s.fn) ?? [];
  for (const sym of all) if (all.filter((x) => x.size === sym.size).length === 1) addrs.add(hexAddr(sym.addr + BigInt(s.offset) - 1n));
}
for (const f of findings) {
  const d = frameDetails(f.text);
  for (const fr of f.frames) {
    const a = fr.offset !== undefined ? lookupAddress(fr, d.get(frameKey(fr.fn, fr.offset)), table) : undefined;
    if (typeof a === 'bigint') addrs.add(hexAddr(a));
  }
}
const input = [...addrs].map((a) => `0x${a}`).join('\n') + '\n';
writeFileSync(join(out, 'addr2line.txt'), (await execa('addr2line', ['-a', '-f', '-i', '-e', vmlinux], { input })).stdout + '\n');
const id = /Build ID: ([0-9a-f]+)/.exec((await execa('readelf', ['-n', vmlinux])).stdout)?.[1] ?? '?';
console.error(`${excerpt.length} nm lines, ${addrs.size} addresses, build ID ${id}`);
