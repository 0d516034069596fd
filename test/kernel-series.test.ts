import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applySeries, expandPatches } from '../harness/kernel/patches.ts';
import { applyFailureError, isMbox, orderPatchFiles, parseGitAmFailure, parsePatchFailure, parseQuiltSeries, patchSections, patchSubject, touchedFiles } from '../harness/kernel/series.ts';
import { UserError } from '../harness/util/errors.ts';

const data = join(import.meta.dirname, 'data', 'kernel');
const patches = join(data, 'patches');
const tree = join(data, 'tree'); // fs/dax.c from Debian's linux-source-6.12 (6.12.117)
const noScratch = async (): Promise<string> => {
  throw new Error('no scratch needed');
};

test('quilt series: order, comments, -pN', (t) => {
  const s = parseQuiltSeries('# fixes\nb.patch\n\na.patch -p0 # comment\n', 'series');
  t.deepEqual(s, [{ name: 'b.patch', strip: 1, line: 2 }, { name: 'a.patch', strip: 0, line: 4 }]);
  t.throws(() => parseQuiltSeries('a.patch -R\n', 'series'), { message: /unsupported series option '-R'/ });
});

test('numbered patch files sort numerically, non-patches are ignored', (t) => {
  t.deepEqual(orderPatchFiles(['10-z.patch', '2-b.diff', 'README', '0001-a.mbox', 'x.patch', '.hidden.patch']), ['0001-a.mbox', '2-b.diff', '10-z.patch', 'x.patch']);
});

test('mbox detection and touched files of real patches', async (t) => {
  const mbox = await readFile(join(patches, '0001-dax-name-the-pfn.mbox'), 'utf8');
  const plain = await readFile(join(patches, 'broken.patch'), 'utf8');
  t.true(isMbox(mbox));
  t.false(isMbox(plain));
  t.deepEqual(touchedFiles(mbox), ['fs/dax.c']);
  t.deepEqual(touchedFiles('--- a/x/y.c\t2020\n+++ b/x/y.c\n@@ -1 +1 @@\n--- /dev/null\n+++ b/new.c\n'), ['new.c', 'x/y.c']);
  const secs = patchSections(plain);
  t.is(secs.length, 1);
  t.deepEqual(secs[0]?.hunks, [{ line: 5, oldStart: 387 }]);
});

test('failure lines from real patch and git am output', (t) => {
  const plain = '--- a/fs/dax.c\n+++ b/fs/dax.c\n@@ -10,3 +10,3 @@\n x\n@@ -387,7 +387,9 @@\n y\n';
  const p = parsePatchFailure('patching file fs/dax.c\nHunk #2 FAILED at 387.\n1 out of 2 hunks FAILED\n', plain, 1);
  t.is(applyFailureError('fix.patch', p).oneLine(), 'fix.patch:5: patch does not apply: fs/dax.c hunk #2 (at line 387) FAILED');
  const g = parseGitAmFailure('Patch failed at 0001 x\nerror: patch failed: fs/dax.c:387\nerror: fs/dax.c: patch does not apply\n', plain);
  t.is(applyFailureError('fix.mbox', g).oneLine(), 'fix.mbox:5: patch does not apply: fs/dax.c hunk #2 (at line 387) FAILED');
  const nf = parsePatchFailure("can't find file to patch at input line 3\nPerhaps you used the wrong -p or --strip option?\n", plain, 1);
  t.is(applyFailureError('fix.patch', nf).oneLine(), 'fix.patch:3: patch does not apply: fs/dax.c file not found in the tree');
});

test('a real mbox applies with git am onto the real fs/dax.c', async (t) => {
  const list = await expandPatches([{ kind: 'path', path: join(patches, '0001-dax-name-the-pfn.mbox') }], noScratch);
  t.is(list[0]?.kind, 'mbox');
  const overlay = await applySeries(list, tree, () => {});
  t.deepEqual([...overlay.keys()], ['fs/dax.c']);
  t.regex(overlay.get('fs/dax.c')?.toString() ?? '', /truncating pinned pfn/);
});

test('a real patch that does not apply: one line naming the patch file, file and hunk; nothing returned', async (t) => {
  const plain = await expandPatches([{ kind: 'path', path: join(patches, 'broken.patch') }], noScratch);
  const e1 = await t.throwsAsync(applySeries(plain, tree, () => {}), { instanceOf: UserError });
  t.is((e1 as UserError).oneLine(), `${join(patches, 'broken.patch')}:5: patch does not apply: fs/dax.c hunk #1 (at line 387) FAILED`);
  const mbox = await expandPatches([{ kind: 'path', path: join(patches, 'broken.mbox') }], noScratch);
  const e2 = await t.throwsAsync(applySeries(mbox, tree, () => {}), { instanceOf: UserError });
  t.regex((e2 as UserError).oneLine(), /broken\.mbox:\d+: patch does not apply: fs\/dax\.c hunk #1 \(at line 387\) FAILED$/);
  // The good patch first, then the broken one, whose + lines are now in the tree: patch sees it
  // as already applied, and the error says so about the second file, not the first.
  const both = await expandPatches([{ kind: 'path', path: join(patches, '0001-dax-name-the-pfn.mbox') }, { kind: 'path', path: join(patches, 'broken.patch') }], noScratch);
  const e3 = await t.throwsAsync(applySeries(both, tree, () => {}), { instanceOf: UserError });
  t.is((e3 as UserError).oneLine(), `${join(patches, 'broken.patch')}:1: patch does not apply: fs/dax.c already applied (reversed or previously applied patch)`);
});

test('a directory of patches is applied in numeric order', async (t) => {
  const list = await expandPatches([{ kind: 'path', path: patches }], noScratch);
  t.deepEqual(list.map((p) => p.label.split('/').pop()), ['0001-dax-name-the-pfn.mbox', 'broken.mbox', 'broken.patch']);
});

test('patch subject: a bare diff -u has none (the fallback, not its hunk header); prose before the diff is one', (t) => {
  const bare = '--- a/fs/dax.c\n+++ b/fs/dax.c\n@@ -178,6 +178,7 @@\n  * this index used to be a PMD entry.\n  */\n+/* a comment */\n';
  t.is(patchSubject(bare, 'my-fix.patch'), 'my-fix.patch');
  t.is(patchSubject(`dax: say why\n\nMore words.\n---\n${bare}`, 'f'), 'dax: say why');
  t.is(patchSubject(`diff --git a/fs/dax.c b/fs/dax.c\n${bare}`, 'f'), 'f');
});
