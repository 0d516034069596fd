// Real kernel builds from Debian's linux-source-6.12. Always run: the kconfig and patch paths on
// the real tree (no compiling; the first run extracts the source into the daxlab cache). Opt-in
// with DAXLAB_SLOW_TESTS=1: the debug kernel (images/kernels/debug-6.12.yaml; a real build unless
// cached), an incremental one-file-patch rebuild on top of it, and cache hits.
import test from 'ava';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { buildKernel, loadBuildSpecFile } from '../harness/kernel/build.ts';
import { parseInlineBuildSpec } from '../harness/kernel/buildspec.ts';
import { readBzImageInfo } from '../harness/kernel/bzimage.ts';
import { prepareSource } from '../harness/kernel/source.ts';
import { listEntries } from '../harness/util/cache.ts';
import { cacheRoot } from '../harness/util/paths.ts';
import { UserError } from '../harness/util/errors.ts';

const data = join(import.meta.dirname, 'data', 'kernel');
const slow = process.env['DAXLAB_SLOW_TESTS'] === '1';
const lines: string[] = [];
const log = (s: string): void => {
  lines.push(s);
  if (process.env['DAXLAB_TEST_VERBOSE']) process.stderr.write(`# ${s}\n`);
};

async function leftovers(): Promise<string[]> {
  return (await readdir(join(cacheRoot(), "kernels")).catch(() => [] as string[])).filter((n) => n.startsWith(".tmp-") && n.endsWith(`-${process.pid}`));
}

test.serial('kconfig on the real 6.12 tree: a dropped option is an error naming it, its fragment line and the unmet dependency', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'daxlab-kt-'));
  try {
    const frag = join(dir, 'no-debugfs.config');
    await writeFile(frag, '# GUP_TEST cannot survive without debugfs\n# CONFIG_DEBUG_FS is not set\nCONFIG_GUP_TEST=y\n');
    const spec = parseInlineBuildSpec(`source=debian-src:6.12,config=tiny+${frag}`, dir);
    const before = (await listEntries('kernels')).length;
    const e = await t.throwsAsync(buildKernel(spec, 'test', log), { instanceOf: UserError });
    t.is(
      (e as UserError).oneLine(),
      `${frag}:3: CONFIG_GUP_TEST=y was dropped by kconfig (final .config: absent); mm/Kconfig:1176: depends on DEBUG_FS; unmet: CONFIG_DEBUG_FS=n`,
    );
    t.is((await listEntries('kernels')).length, before, 'no cache entry for a failed config');
    t.deepEqual(await leftovers(), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.serial('a patch that does not apply to the real tree fails before the workspace is touched, and caches nothing', async (t) => {
  const spec = parseInlineBuildSpec(`source=debian-src:6.12,config=tiny,patches=${join(data, 'patches', '0001-dax-name-the-pfn.mbox')},patches=${join(data, 'patches', 'broken.patch')}`, '/');
  const before = (await listEntries('kernels')).length;
  const e = await t.throwsAsync(buildKernel(spec, 'test', log), { instanceOf: UserError });
  t.regex((e as UserError).oneLine(), /broken\.patch:1: patch does not apply: fs\/dax\.c already applied/);
  const only = parseInlineBuildSpec(`source=debian-src:6.12,config=tiny,patches=${join(data, 'patches', 'broken.patch')}`, '/');
  const e2 = await t.throwsAsync(buildKernel(only, 'test', log), { instanceOf: UserError });
  t.is((e2 as UserError).oneLine(), `${join(data, 'patches', 'broken.patch')}:5: patch does not apply: fs/dax.c hunk #1 (at line 387) FAILED`);
  t.is((await listEntries('kernels')).length, before);
  t.deepEqual(await leftovers(), []);
});

/**
 * A one-line change to fs/dax.c, made against the tree actually used and unique per run, so the
 * patched build is a real (incremental) build rather than a cache hit from an earlier run.
 */
async function onePatch(dir: string): Promise<string> {
  const src = await prepareSource({ kind: 'debian-src', series: '6.12' }, log);
  const orig = await readFile(join(src.dir, 'fs/dax.c'), 'utf8');
  const anchor = 'WARN_ON_ONCE(trunc && page_ref_count(page) > 1);';
  const changed = orig.replace(anchor, `${anchor} /* daxlab test ${Date.now()} */`);
  if (changed === orig) throw new Error('fs/dax.c anchor not found');
  for (const [side, text] of [['a', orig], ['b', changed]] as const) {
    await mkdir(join(dir, side, 'fs'), { recursive: true });
    await writeFile(join(dir, side, 'fs', 'dax.c'), text);
  }
  const d = await execa('diff', ['-u', 'a/fs/dax.c', 'b/fs/dax.c'], { cwd: dir, reject: false });
  const p = join(dir, 'dax-comment.patch');
  await writeFile(p, d.stdout + '\n');
  return p;
}

const debugSpec = join(import.meta.dirname, '..', 'images', 'kernels', 'debug-6.12.yaml');
// Skipped (and counted as skipped, not passed) unless DAXLAB_SLOW_TESTS=1.
(slow ? test.serial : test.skip)('real build of the debug kernel, incremental one-file-patch rebuild, cache hits (DAXLAB_SLOW_TESTS=1)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'daxlab-kb-'));
  try {
    // The debug kernel: a real build the first time, a cache hit after that.
    const base = await loadBuildSpecFile(debugSpec);
    const a = await buildKernel(base, debugSpec, log);
    const info = await readBzImageInfo(a.kernel.bzImage);
    t.regex(info?.release ?? '', /^6\.12\.\d+/);
    t.is(a.kernel.modulesDir, undefined);
    const cfg = await readFile(a.kernel.config ?? '', 'utf8');
    for (const o of ['CONFIG_PROVE_LOCKING=y', 'CONFIG_GUP_TEST=y', 'CONFIG_FS_DAX=y', 'CONFIG_SERIAL_8250=y']) t.true(cfg.includes(`${o}\n`), o);
    t.log(`debug kernel: ${a.seconds.toFixed(1)} s (cache hit: ${a.hit})`);

    const patch = await onePatch(dir);
    const patched = { ...base, patches: [{ kind: 'path' as const, path: patch }] };
    const b = await buildKernel(patched, 'debug + one-file patch', log);
    t.false(b.hit);
    t.not(b.kernel.key, a.kernel.key);
    const meta = JSON.parse(await readFile(join(b.entryDir, 'patches.json'), 'utf8')) as { patch: string; method: string }[];
    t.deepEqual(meta.map((m) => m.method), ['patch -p1']);
    t.true(b.seconds < 300, `one-file patch rebuild took ${b.seconds} s`);
    t.log(`one-file patch rebuild: ${b.seconds.toFixed(1)} s`);

    const c = await buildKernel(patched, 'debug + one-file patch', log);
    t.true(c.hit);
    t.is(c.kernel.bzImage, b.kernel.bzImage);
    t.true(c.seconds < 15, `cache hit took ${c.seconds} s`);
    t.log(`cache hit: ${c.seconds.toFixed(1)} s`);
    // Back to the unpatched kernel: a cache hit too, not a rebuild.
    t.true((await buildKernel(base, debugSpec, log)).hit);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
