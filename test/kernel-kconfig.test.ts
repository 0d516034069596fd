import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { effectiveRequests, explainDropped, findDropped, mergeConfig, parseDotConfig, parseFragment, parseKconfig, satisfied, unmetSymbols } from '../harness/kernel/kconfig.ts';
import { UserError } from '../harness/util/errors.ts';

const data = join(import.meta.dirname, 'data', 'kernel');

test('fragments: set, unset and comments, each with file:line', (t) => {
  const r = parseFragment('# comment\nCONFIG_A=y\n\n# CONFIG_B is not set\nCONFIG_C="x y"\nCONFIG_N=16\n', 'f.config');
  t.deepEqual(r.map((x) => [x.symbol, x.value, x.where?.line]), [['A', 'y', 2], ['B', 'n', 4], ['C', '"x y"', 5], ['N', '16', 6]]);
  const e = t.throws(() => parseFragment('CONFIG_A=y\nFOO=y\n', 'bad.config'), { instanceOf: UserError }) as UserError;
  t.is(e.oneLine(), "bad.config:2: not a kconfig line: 'FOO=y' (expected CONFIG_NAME=VALUE or '# CONFIG_NAME is not set')");
});

test('merge: later fragments win, lines replaced in place, new ones appended', (t) => {
  const base = '# CONFIG_64BIT is not set\nCONFIG_X=y\nCONFIG_KEEP=y\n';
  const reqs = [...parseFragment('CONFIG_64BIT=y\nCONFIG_NEW=y\n', 'a'), ...parseFragment('# CONFIG_X is not set\nCONFIG_NEW=m\n', 'b')];
  t.is(mergeConfig(base, reqs), 'CONFIG_64BIT=y\n# CONFIG_X is not set\nCONFIG_KEEP=y\nCONFIG_NEW=m\n');
  t.deepEqual(effectiveRequests(reqs).map((r) => `${r.symbol}=${r.value}@${r.where?.file}`), ['64BIT=y@a', 'X=n@b', 'NEW=m@b']);
});

test('satisfied: m is met by y, n by absence, strings compare unquoted', (t) => {
  t.true(satisfied('m', 'y'));
  t.false(satisfied('y', 'm'));
  t.true(satisfied('n', undefined));
  t.false(satisfied('y', undefined));
  t.true(satisfied('"abc"', '"abc"'));
  t.true(satisfied('4', '4'));
});

test('dropped options found in a real .config, with the unmet dependency from the real mm/Kconfig', async (t) => {
  const final = parseDotConfig(await readFile(join(data, 'tiny-no-debugfs.config'), 'utf8'));
  const reqs = parseFragment('CONFIG_GUP_TEST=y\nCONFIG_PRINTK=y\n', 'images/kconfig/gup-test.config');
  const dropped = findDropped(reqs, final);
  t.deepEqual(dropped.map((d) => d.request.symbol), ['GUP_TEST']);
  const defs = parseKconfig(await readFile(join(data, 'mm-Kconfig-6.12'), 'utf8'), 'mm/Kconfig').filter((d) => d.symbol === 'GUP_TEST');
  t.is(defs.length, 1);
  t.deepEqual(defs[0]?.depends, ['DEBUG_FS']);
  t.true(defs[0]?.hasPrompt);
  const line = explainDropped(dropped[0]!, defs, final);
  t.is(line, 'CONFIG_GUP_TEST=y was dropped by kconfig (final .config: absent); mm/Kconfig:1176: depends on DEBUG_FS; unmet: CONFIG_DEBUG_FS=n');
});

test('Kconfig parsing: multiple depends, if blocks, prompt-less symbols', async (t) => {
  const defs = parseKconfig(await readFile(join(data, 'mm-Kconfig-6.12'), 'utf8'), 'mm/Kconfig');
  const zd = defs.find((d) => d.symbol === 'ZONE_DEVICE');
  t.deepEqual(zd?.depends, ['MEMORY_HOTPLUG', 'MEMORY_HOTREMOVE', 'SPARSEMEM_VMEMMAP', 'ARCH_HAS_PTE_DEVMAP']);
  const text = 'if DEBUG_KERNEL\nconfig A\n\tbool\n\tdepends on B\n\thelp\n\t  depends on NOT_THIS\nendif\nconfig C\n\tbool "c"\n';
  const [a, c] = parseKconfig(text, 'K');
  t.deepEqual(a?.depends, ['DEBUG_KERNEL', 'B']);
  t.false(a?.hasPrompt);
  t.deepEqual(c?.depends, []);
  t.true(c?.hasPrompt);
  const final = new Map([['DEBUG_KERNEL', 'y']]);
  t.regex(explainDropped({ request: { symbol: 'A', value: 'y' }, got: undefined }, [{ ...a!, depends: ['DEBUG_KERNEL'] }], final), /A has no prompt/);
});

test('unmetSymbols ignores negations, comparisons and constants', (t) => {
  const final = new Map([['MMU', 'y'], ['X', 'n']]);
  t.deepEqual(unmetSymbols('MMU && (X || Y) && !Z && A=y && 64BIT', final), ['X', 'Y', '64BIT']);
});
