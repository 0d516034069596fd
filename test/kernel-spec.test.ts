import test from 'ava';
import { join } from 'node:path';
import { parseBuildSpecYaml, parseConfigShorthand, parseInlineBuildSpec, KCONFIG_DIR } from '../harness/kernel/buildspec.ts';
import { parseKernelSpec } from '../harness/kernel/spec.ts';
import { UserError } from '../harness/util/errors.ts';

test('inline spec: source, config shorthand with base, fragments and options, repeated patches', (t) => {
  const s = parseInlineBuildSpec('source=debian-src:6.12,config=tiny+dax+lockdep+gup-test+CONFIG_KASAN=y,patches=fix.mbox,patches=/abs/series', '/work');
  t.deepEqual(s.source, { kind: 'debian-src', series: '6.12' });
  t.is(s.config.base, 'tinyconfig');
  t.deepEqual(s.config.fragments.map((f) => f.path), ['dax', 'lockdep', 'gup-test'].map((n) => join(KCONFIG_DIR, `${n}.config`)));
  t.deepEqual(s.config.options.map((o) => o.line), ['CONFIG_KASAN=y']);
  t.deepEqual(s.patches.map((p) => (p.kind === 'path' ? p.path : p.range)), ['/work/fix.mbox', '/abs/series']);
  t.is(s.origin, 'inline');
});

test('config shorthand: bases and aliases, path fragments, default base is tinyconfig', (t) => {
  t.is(parseConfigShorthand('kvm+dax', '/w').base, 'kvm_guest');
  t.is(parseConfigShorthand('defconfig', '/w').base, 'defconfig');
  t.is(parseConfigShorthand('dax', '/w').base, 'tinyconfig');
  t.is(parseConfigShorthand('tiny+./my.config', '/w').fragments[0]?.path, '/w/my.config');
});

test('sources: git ref, local tree, and a clear error for nonsense', (t) => {
  t.deepEqual(parseInlineBuildSpec('source=git:../linux@v6.12', '/w/x').source, { kind: 'git', repo: '/w/linux', ref: 'v6.12' });
  t.deepEqual(parseInlineBuildSpec('source=/src/linux', '/w').source, { kind: 'tree', path: '/src/linux' });
  const e = t.throws(() => parseInlineBuildSpec('source=kernel.org:6.12', '/w'), { instanceOf: UserError });
  t.regex(e?.message ?? '', /unrecognised kernel source 'kernel.org:6.12'/);
  t.throws(() => parseInlineBuildSpec('config=tiny', '/w'), { message: /has no source=/ });
  t.throws(() => parseInlineBuildSpec('source=debian-src:6.12,colour=red', '/w'), { message: /unknown key 'colour'/ });
});

test('git range patches', (t) => {
  const s = parseInlineBuildSpec('source=debian-src:6.12,patches=git:/repo@v6.12..fix', '/w');
  t.deepEqual(s.patches[0], { kind: 'git-range', repo: '/repo', range: 'v6.12..fix', where: undefined });
});

test('YAML spec: mapping config, patch list relative to the file, git range entry', (t) => {
  const yaml = ['source: debian-src:6.1', 'config:', '  base: kvm', '  fragments: [dax, ../frag.config]', '  options: [CONFIG_KASAN=y]', 'patches:', '  - fixes/', '  - {git: /r, range: a..b}', ''].join('\n');
  const s = parseBuildSpecYaml(yaml, '/specs/k.yaml');
  t.deepEqual(s.source, { kind: 'debian-src', series: '6.1' });
  t.is(s.config.base, 'kvm_guest');
  t.is(s.config.fragments[1]?.path, '/frag.config');
  t.is(s.config.options[0]?.where?.line, 5);
  t.deepEqual(s.patches.map((p) => p.kind), ['path', 'git-range']);
  t.is(s.patches[0]?.kind === 'path' ? s.patches[0].path : '', '/specs/fixes');
});

test('YAML spec errors name file and line', (t) => {
  const e = t.throws(() => parseBuildSpecYaml('source: debian-src:6.12\nconfig: tiny\npatchez: [x]\n', '/s/k.yaml'), { instanceOf: UserError }) as UserError;
  t.is(e.oneLine(), "/s/k.yaml:3: patchez: unknown key 'patchez' (did you mean 'patches'?) (expected extends, source, config, patches, description)");
  const b = t.throws(() => parseBuildSpecYaml('source: debian-src:6.12\nconfig:\n  base: huge\n', '/s/k.yaml'), { instanceOf: UserError }) as UserError;
  t.regex(b.oneLine(), /^\/s\/k\.yaml:3: config\.base: unknown config base 'huge'/);
  const m = t.throws(() => parseBuildSpecYaml('config: tiny\n', '/s/k.yaml'), { instanceOf: UserError }) as UserError;
  t.regex(m.oneLine(), /missing source:/);
});

test('parseKernelSpec: yaml path, inline build, and the old forms still work', (t) => {
  t.deepEqual(parseKernelSpec('images/kernels/debug-6.12.yaml', undefined, '/repo'), { kind: 'build-file', path: '/repo/images/kernels/debug-6.12.yaml', raw: 'images/kernels/debug-6.12.yaml' });
  t.is(parseKernelSpec('source=debian-src:6.12,config=tiny+dax').kind, 'build');
  t.is(parseKernelSpec('debian:6.12').kind, 'debian');
  t.is(parseKernelSpec('/tmp/bzImage').kind, 'bzimage');
});

test('the shipped debug spec parses', async (t) => {
  const { readFile } = await import('node:fs/promises');
  const file = join(import.meta.dirname, '..', 'images', 'kernels', 'debug-6.12.yaml');
  const s = parseBuildSpecYaml(await readFile(file, 'utf8'), file);
  t.is(s.config.base, 'tinyconfig');
  t.deepEqual(s.config.fragments.map((f) => f.name), ['guest', 'dax', 'lean', 'lockdep', 'gup-test', 'debug']);
  t.deepEqual(s.patches, []);
});

// --- extends --------------------------------------------------------------------------------

/** An in-memory tree of spec files for the pure resolver. */
const files = (m: Record<string, string>) => (p: string): string | undefined => m[p];
const parse = (m: Record<string, string>, file: string) => parseBuildSpecYaml(m[file] ?? '', file, files(m));
const patchPaths = (s: { patches: { kind: string; path?: string }[] }): (string | undefined)[] => s.patches.map((p) => p.path);

const PARENT = ['description: the parent', 'source: debian-src:6.12', 'config:', '  base: tinyconfig', '  fragments: [dax, lockdep]', '  options: [CONFIG_A=y, CONFIG_B=y]', 'patches: [p1.patch]', ''].join('\n');

test('extends: source and base inherited, fragments appended once, options by symbol with the child winning, patches after the parent\'s, own description', (t) => {
  const tree = {
    '/p/parent.yaml': PARENT,
    '/c/child.yaml': ['description: the child', 'extends: ../p/parent.yaml', 'config:', '  fragments: [lockdep, debug]', '  options: [CONFIG_B=n, CONFIG_C=y]', 'patches: [p2.patch]', ''].join('\n'),
  };
  const s = parse(tree, '/c/child.yaml');
  t.deepEqual(s.source, { kind: 'debian-src', series: '6.12' });
  t.is(s.sourceWhere?.file, '/p/parent.yaml');
  t.is(s.config.base, 'tinyconfig');
  t.deepEqual(s.config.fragments.map((f) => f.name), ['dax', 'lockdep', 'debug']);
  t.deepEqual(s.config.options.map((o) => o.line), ['CONFIG_A=y', 'CONFIG_B=n', 'CONFIG_C=y']);
  // The child's CONFIG_B keeps its own file:line, for a "dropped by kconfig" error.
  t.deepEqual(s.config.options[1]?.where, { file: '/c/child.yaml', line: 5, field: 'config.options' });
  // Each file's paths are relative to that file.
  t.deepEqual(patchPaths(s), ['/p/p1.patch', '/c/p2.patch']);
  t.is(s.description, 'the child');
  t.is(s.origin, '/c/child.yaml');
  t.deepEqual(s.inherits, ['/p/parent.yaml']);
});

test('extends: the child may override source and base; a config shorthand without a base keeps the parent\'s; chains of three', (t) => {
  const tree = {
    '/k/a.yaml': PARENT,
    '/k/b.yaml': 'extends: a.yaml\nsource: debian-src:6.1\nconfig: kvm+debug\n',
    '/k/c.yaml': 'extends: b.yaml\nconfig: gup-test+CONFIG_A=n\npatches: [c.patch]\n',
  };
  const b = parse(tree, '/k/b.yaml');
  t.deepEqual(b.source, { kind: 'debian-src', series: '6.1' });
  t.is(b.config.base, 'kvm_guest');
  const c = parse(tree, '/k/c.yaml');
  t.is(c.config.base, 'kvm_guest', 'no base word in the shorthand: inherited, not reset to tinyconfig');
  t.deepEqual(c.config.fragments.map((f) => f.name), ['dax', 'lockdep', 'debug', 'gup-test']);
  t.deepEqual(c.config.options.map((o) => o.line), ['CONFIG_B=y', 'CONFIG_A=n']);
  t.deepEqual(patchPaths(c), ['/k/p1.patch', '/k/c.patch']);
  t.is(c.description, undefined, 'a description is never inherited');
  t.deepEqual(c.inherits, ['/k/b.yaml', '/k/a.yaml']);
});

test('extends errors: missing file, cycle, self, not a spec, each at the extends line', (t) => {
  const line = (m: Record<string, string>, f: string): string => (t.throws(() => parse(m, f), { instanceOf: UserError }) as UserError).oneLine();
  t.is(line({ '/k/a.yaml': 'description: x\nextends: nope.yaml\n' }, '/k/a.yaml'), "/k/a.yaml:2: extends: 'nope.yaml' not found (/k/nope.yaml); extends names a kernel spec file, relative to this one");
  const cyc = { '/k/a.yaml': 'extends: sub/b.yaml\npatches: [x.patch]\n', '/k/sub/b.yaml': '# b\nextends: ../a.yaml\n' };
  t.is(line(cyc, '/k/a.yaml'), "/k/sub/b.yaml:2: extends: '../a.yaml' makes a cycle: ../a.yaml -> b.yaml -> ../a.yaml");
  t.is(line({ '/k/a.yaml': 'extends: a.yaml\n' }, '/k/a.yaml'), "/k/a.yaml:1: extends: 'a.yaml' makes a cycle: a.yaml -> a.yaml");
  const scen = { '/k/a.yaml': 'extends: scenario.yaml\n', '/k/scenario.yaml': 'id: truncate-latency\nreproducer: t.c\nfilesystem: [ext4]\ndax: always\npmem: 1G\n' };
  t.is(line(scen, '/k/a.yaml'), "/k/a.yaml:1: extends: 'scenario.yaml' is not a kernel spec (its keys are id, reproducer, filesystem, dax, ...; a kernel spec is a mapping with source:, config:, patches: or extends:)");
  t.regex(line({ '/k/a.yaml': 'extends: p.patch\n', '/k/p.patch': 'just words\n' }, '/k/a.yaml'), /^\/k\/a\.yaml:1: extends: 'p\.patch' is not a kernel spec \(not a mapping: 'just words'/);
  // A real spec with a mistake in it is reported where the mistake is, in the parent.
  t.is(line({ '/k/a.yaml': 'extends: p.yaml\n', '/k/p.yaml': 'source: debian-src:6.12\nconfig: tiny\npatchs: [x]\n' }, '/k/a.yaml'), "/k/p.yaml:3: patchs: unknown key 'patchs' (did you mean 'patches'?) (expected extends, source, config, patches, description)");
  t.is(line({ '/k/a.yaml': 'extends:\n' }, '/k/a.yaml'), '/k/a.yaml:1: extends: expected a string, got nothing');
  // Paths that never repeat (a directory symlinked to itself) still end.
  const deep = (p: string): string | undefined => (p.endsWith('a.yaml') ? 'extends: d/a.yaml\n' : undefined);
  const e = t.throws(() => parseBuildSpecYaml('extends: d/a.yaml\n', '/k/a.yaml', deep), { instanceOf: UserError }) as UserError;
  t.regex(e.oneLine(), /^\/k(\/d)+\/a\.yaml:1: extends: 'd\/a\.yaml': more than 32 levels of extends/);
});

test('a root spec still needs source and config; unknown keys get a did-you-mean; bad values are echoed', (t) => {
  const line = (text: string): string => (t.throws(() => parseBuildSpecYaml(text, '/s/k.yaml'), { instanceOf: UserError }) as UserError).oneLine();
  t.is(line('config: tiny\n'), '/s/k.yaml:1: missing source: (e.g. debian-src:6.12), or extends: another kernel spec');
  t.is(line('source: debian-src:6.12\n'), '/s/k.yaml:1: missing config: (e.g. tiny+guest+dax+lockdep), or extends: another kernel spec');
  t.is(line('extend: a.yaml\n'), "/s/k.yaml:1: extend: unknown key 'extend' (did you mean 'extends'?) (expected extends, source, config, patches, description)");
  t.is(line('source: debian-src:6.12\nconfig:\n  fragment: [dax]\n'), "/s/k.yaml:3: config: unknown key 'fragment' (did you mean 'fragments'?) (expected base, fragments, options)");
  t.is(line('source: debian-src:6.12\nconfig:\n  base: tinyconfg\n'), "/s/k.yaml:3: config.base: unknown config base 'tinyconfg' (did you mean 'tinyconfig'?) (known: tinyconfig, defconfig, kvm_guest, tiny, kvm)");
  t.is(line('source: debain-src:6.12\nconfig: tiny\n'), "/s/k.yaml:1: source: unrecognised kernel source 'debain-src:6.12' (did you mean 'debian-src'?) (expected debian-src:6.12, debian-src:6.1, tree:PATH or git:REPO@REF)");
  t.is(line('source: [debian-src:6.12]\nconfig: tiny\n'), '/s/k.yaml:1: source: expected a string, got a list ["debian-src:6.12"]');
  t.is(line('source: {git: /r, tre: /t}\nconfig: tiny\n'), "/s/k.yaml:1: source: unknown key 'tre' (did you mean 'tree'?) (expected git, ref, tree)");
  t.is(line('source: debian-src:6.12\nconfig: tiny\npatches:\n  - {git: /r}\n'), '/s/k.yaml:4: patches: a patch range needs git: REPO and range: BASE..TIP, got a mapping {"git":"/r"}');
  t.is(line('source: debian-src:6.12\nconfig:\n  options: [KASAN]\n'), "/s/k.yaml:3: config.options: bad config option 'KASAN' (expected CONFIG_NAME=VALUE)");
});

test('the shipped specs that extend debug-6.12 (or a spec that does) are exactly their parent plus their own patches', async (t) => {
  const { readdir } = await import('node:fs/promises');
  const { existsSync } = await import('node:fs');
  const { loadBuildSpecFile } = await import('../harness/kernel/build.ts');
  const root = join(import.meta.dirname, '..');
  const debug = await loadBuildSpecFile(join(root, 'images', 'kernels', 'debug-6.12.yaml'));
  const children = [
    ...(await readdir(join(root, 'images', 'kernels', 'ab'))).filter((f) => f.endsWith('.yaml')).map((f) => join(root, 'images', 'kernels', 'ab', f)),
    ...(await readdir(join(root, 'scenarios'))).map((d) => join(root, 'scenarios', d, 'known-bad-kernel.yaml')),
  ];
  let n = 0;
  for (const f of children) {
    if (!existsSync(f)) continue; // no known-bad kernel for this entry
    const s = await loadBuildSpecFile(f);
    n++;
    // The nearest parent, and the chain up to debug-6.12 (debug-trace-6.12 adds fragments only).
    const chain = s.inherits ?? [];
    const parent = await loadBuildSpecFile(chain[0] ?? '');
    t.is(chain[chain.length - 1], debug.origin, f);
    t.deepEqual(s.source, debug.source, f);
    t.is(s.config.base, debug.config.base, f);
    t.deepEqual(s.config.fragments.map((x) => x.path), parent.config.fragments.map((x) => x.path), f);
    t.deepEqual(s.config.options, parent.config.options, f);
    t.is(s.patches.length, parent.patches.length + 1, f);
    t.truthy(s.description, f);
  }
  t.true(n >= 9, `${n} specs extend debug-6.12`);
});
