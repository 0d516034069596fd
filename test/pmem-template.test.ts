// pmem templates in real guests of Debian's 6.12 (harness/engine/pmem-template.ts): a boot that
// makes its namespace in the guest leaves the kernel's info block behind; the next boot starts
// from a template (namespace and ext4 made before the boot) and still runs on fresh DAX; a
// template whose info block the kernel refuses makes the guest fall back, and is dropped.
import test from 'ava';
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSummary } from '../harness/results/types.ts';
import { cacheRoot } from '../harness/util/paths.ts';
import { daxlab } from './helpers.ts';

// A size no other test uses, so this test owns its info block.
const PMEM = 640 * 1024 ** 2;
const infoDir = join(cacheRoot(), 'pmem-info');
const infoEntries = (): string[] =>
  readdirSync(infoDir, { withFileTypes: true }).flatMap((d) => {
    const m = join(infoDir, d.name, '.daxlab-entry.json');
    return d.isDirectory() && existsSync(m) && (JSON.parse(readFileSync(m, 'utf8')) as { meta: { pmemBytes?: number } }).meta.pmemBytes === PMEM ? [join(infoDir, d.name)] : [];
  });

const run = async (out: string) => {
  const r = await daxlab(['run', 'truncate-latency', '--fs', 'ext4', '--dax', 'always', '--repetitions', '1', '--pmem', '640M', '-j', '1', '--out', out]);
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
  return { r, s, err: String(r.stderr), boot: s.boots[0], step: s.steps[0] };
};

test.serial('a boot leaves its info block, the next starts from a template, a refused template falls back and is dropped', async (t) => {
  if (existsSync(infoDir)) for (const d of infoEntries()) rmSync(d, { recursive: true, force: true });
  const base = mkdtempSync(join(tmpdir(), 'daxlab-template-'));

  const a = await run(join(base, 'a'));
  t.is(a.r.exitCode, 0, a.err);
  t.is(a.boot?.pmem?.how, 'guest');
  t.deepEqual(a.boot?.setup.slice(0, 2).map((x) => [x.label, x.exitCode]), [['create fsdax namespace', 0], ['mkfs ext4', 0]]);
  t.regex(a.err, /kept the kernel's fsdax info block \(data at \d+\)/);
  t.is(infoEntries().length, 1);

  const b = await run(join(base, 'b'));
  t.is(b.r.exitCode, 0, b.err);
  t.regex(b.err, /made a pmem template \(namespace: 6\.12\S*'s fsdax info block \(map=dev, align=2M, data at \d+\); ext4: `mkfs\.ext4 -F -q -b 4096 -E nodiscard` on the host, \d+ bytes\)/);
  t.like(b.boot?.pmem, { how: 'template', fs: 'ext4' });
  const first = b.boot?.setup[0];
  t.like(first, { label: "fsdax namespace + mkfs ext4 from the host's pmem template", status: 'done', exitCode: 0 });
  t.regex(first?.output[0] ?? '', /^pmem0: fsdax on pfn0\.\d+, ext4 made on the host$/);
  t.false(b.boot?.setup.some((x) => x.label === 'create fsdax namespace' || x.label === 'mkfs ext4'));
  t.like(b.step, { status: 'pass' });
  t.is(b.step?.metrics['is_dax']?.value, 1, 'the template filesystem is mounted with DAX');

  // Spoil the template's info block (one byte of its zero padding: only the checksum tells).
  const tpl = join(cacheRoot(), 'pmem-templates', b.boot?.pmem?.template ?? 'none', 'nv.img');
  const fd = openSync(tpl, 'r+');
  writeSync(fd, Buffer.from([1]), 0, 1, 4096 + 200);
  closeSync(fd);
  const c = await run(join(base, 'c'));
  t.is(c.r.exitCode, 0, c.err);
  t.like(c.boot?.pmem, { how: 'template' });
  t.like(c.boot?.setup[0], { status: 'done', exitCode: 0 });
  t.regex(c.boot?.setup[0]?.output.join('\n') ?? '', /pmem0 was not fsdax at boot \(\.\.\/\.\.\/\.\.\/namespace0\.0\): making the namespace and the filesystem here/);
  t.regex(c.err, /the pmem template did not come up as fsdax; the guest made the namespace and filesystem itself, and the template is dropped/);
  t.like(c.step, { status: 'pass' });
  t.is(c.step?.metrics['is_dax']?.value, 1, 'the fallback made a DAX filesystem');
  t.is(infoEntries().length, 0, 'the next boot makes its namespace in the guest again');
});
