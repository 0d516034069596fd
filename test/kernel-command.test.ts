// `daxlab kernel build|list|source` through the real CLI, on real files: a bad `extends` is one
// line and exit 2 with nothing written; `kernel list` tells a current entry from a stale one and
// from one whose spec is gone; `kernel source` gives the tree the README's patch recipe works on.
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { RECIPE, specFileRequest } from '../harness/kernel/build.ts';
import type { KernelRow } from '../harness/kernel/list.ts';
import { daxlab, root } from './helpers.ts';

test('kernel build: an extends cycle is one line at the extends that closes it, exit 2, no cache written', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'daxlab-kx-'));
  try {
    await writeFile(join(dir, 'a.yaml'), 'description: a\nextends: b.yaml\n');
    await writeFile(join(dir, 'b.yaml'), 'extends: a.yaml\npatches: [x.patch]\n');
    const cache = join(dir, 'cache');
    const r = await daxlab(['kernel', 'build', join(dir, 'a.yaml')], { DAXLAB_CACHE: cache });
    t.is(r.exitCode, 2);
    t.is(String(r.stderr), `${join(dir, 'b.yaml')}:1: extends: 'a.yaml' makes a cycle: a.yaml -> b.yaml -> a.yaml`);
    t.false(existsSync(cache));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('kernel list: an entry is current while its spec builds it, stale after its patch changes, gone when the spec is deleted', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'daxlab-kl-'));
  try {
    const spec = join(dir, 'mine.yaml');
    const patch = join(dir, 'fix.patch');
    await writeFile(patch, 'Subject: [PATCH] dax: a fix\n\n--- a/fs/dax.c\n+++ b/fs/dax.c\n');
    await writeFile(spec, `description: mine\nextends: ${join(root, 'images', 'kernels', 'debug-6.12.yaml')}\npatches: [fix.patch]\n`);
    // A cache entry as buildKernel records it, without building: only its manifest is read.
    const cache = join(dir, 'cache');
    const key = 'debian-src-6.12.117-0123456789abcdef';
    await mkdir(join(cache, 'kernels', key), { recursive: true });
    const meta = {
      spec: 'mine.yaml',
      recipe: RECIPE,
      specFile: spec,
      request: await specFileRequest(spec),
      release: '6.12.117-daxlab-01234567',
      base: 'tinyconfig',
      fragments: ['guest', 'dax', 'lockdep'],
      options: [],
      patches: [{ patch, sha256: '0', method: 'patch -p1', count: 1, subject: 'dax: a fix' }],
    };
    await writeFile(join(cache, 'kernels', key, '.daxlab-entry.json'), JSON.stringify({ kind: 'kernels', key, created: new Date().toISOString(), files: {}, meta }));
    const list = async (): Promise<KernelRow> => {
      const r = await daxlab(['kernel', 'list', '--json'], { DAXLAB_CACHE: cache });
      t.is(r.exitCode, 0, String(r.stderr));
      const rows = JSON.parse(String(r.stdout)) as KernelRow[];
      t.is(rows.length, 1);
      return rows[0]!;
    };
    const a = await list();
    t.deepEqual([a.state, a.release, a.config, a.patches, a.firstPatch], ['current', '6.12.117-daxlab-01234567', 'tinyconfig+dax+lockdep', 1, 'dax: a fix']);
    // A comment is not a different build; a changed patch is.
    await writeFile(spec, `# a comment\n${await readFile(spec, 'utf8')}`);
    t.is((await list()).state, 'current');
    await writeFile(patch, 'Subject: [PATCH] dax: a better fix\n\n--- a/fs/dax.c\n+++ b/fs/dax.c\n');
    t.is((await list()).state, 'stale');
    const text = await daxlab(['kernel', 'list'], { DAXLAB_CACHE: cache });
    t.regex(String(text.stdout), /mine\.yaml \(stale: spec changed\)/);
    await writeFile(spec, 'extends: nowhere.yaml\n');
    t.is((await list()).state, 'invalid');
    await rm(spec);
    t.is((await list()).state, 'gone');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('kernel source: the pristine tree; a patch made as the README says applies to it', async (t) => {
  if (!existsSync('/usr/src/linux-source-6.12.tar.xz')) {
    t.pass('linux-source-6.12 not installed');
    return;
  }
  const r = await daxlab(['kernel', 'source', 'scenarios/pin-duration/known-bad-kernel.yaml']);
  t.is(r.exitCode, 0, String(r.stderr));
  const src = String(r.stdout).trim();
  t.true(existsSync(join(src, 'Makefile')) && existsSync(join(src, 'fs', 'dax.c')), src);
  t.regex(String(r.stderr), /applies 1 patch entry on top of this tree/);
  const dir = await mkdtemp(join(tmpdir(), 'daxlab-ks-'));
  try {
    const copy = join(dir, 'dax.c');
    const orig = await readFile(join(src, 'fs', 'dax.c'), 'utf8');
    await writeFile(copy, orig.replace('static void dax_wake_entry(', '/* daxlab: a comment */\nstatic void dax_wake_entry('));
    const d = await execa('diff', ['-u', '--label', 'a/fs/dax.c', '--label', 'b/fs/dax.c', join(src, 'fs', 'dax.c'), copy], { reject: false });
    t.is(d.exitCode, 1, 'diff found the change');
    const p = await execa('patch', ['-p1', '--dry-run', '-d', src], { input: d.stdout + '\n', reject: false });
    t.is(p.exitCode, 0, p.stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const bad = await daxlab(['kernel', 'source', 'debian:6.12']);
  t.is(bad.exitCode, 2);
  t.regex(String(bad.stderr), /^daxlab: debian:6\.12 is a prebuilt kernel with no source tree/);
});
