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
  t.is(e.oneLine(), "/s/k.yaml:3: patchez: unknown key 'patchez' (expected source, config, patches, description)");
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
  t.deepEqual(s.config.fragments.map((f) => f.name), ['guest', 'dax', 'lockdep', 'gup-test', 'debug']);
  t.deepEqual(s.patches, []);
});
