// The build workspace's source sync (harness/kernel/workspace.ts syncSource) on small trees: the
// overlay's files written and restored, and the rsync of the whole tree skipped when the pristine
// tree is the one the last completed sync saw (same path and identity).
import test from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syncSource, type Workspace } from '../harness/kernel/workspace.ts';

function setup(t: { teardown: (f: () => void) => void }): { pristine: string; ws: Workspace } {
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-ws-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pristine = join(dir, 'pristine');
  mkdirSync(join(pristine, 'fs'), { recursive: true });
  writeFileSync(join(pristine, 'Makefile'), 'all:\n');
  writeFileSync(join(pristine, 'fs', 'dax.c'), 'int dax;\n');
  const root = join(dir, 'ws');
  mkdirSync(root); // withWorkspaceLock makes it before any sync
  return { pristine, ws: { root, src: join(root, 'src'), obj: join(root, 'obj') } };
}

const noLog = (): void => {};
const read = (p: string): string => readFileSync(p, 'utf8');

test('syncSource: with the same pristine identity the rsync is skipped, and the overlay is still applied and undone', async (t) => {
  const { pristine, ws } = setup(t);
  t.like(await syncSource(ws, pristine, new Map(), noLog, 'id-1'), { rsynced: true, changed: [] });
  t.is(read(join(ws.src, 'fs', 'dax.c')), 'int dax;\n');
  const patched = new Map([['fs/dax.c', Buffer.from('int dax = 1;\n')]]);
  t.deepEqual(await syncSource(ws, pristine, patched, noLog, 'id-1'), { rsynced: false, changed: ['fs/dax.c'] });
  t.is(read(join(ws.src, 'fs', 'dax.c')), 'int dax = 1;\n');
  t.is(read(join(pristine, 'fs', 'dax.c')), 'int dax;\n', 'the pristine tree is never written');
  t.deepEqual(await syncSource(ws, pristine, new Map(), noLog, 'id-1'), { rsynced: false, changed: ['fs/dax.c'] });
  t.is(read(join(ws.src, 'fs', 'dax.c')), 'int dax;\n');
});

test('syncSource: another identity, or none, rsyncs the whole tree again', async (t) => {
  const { pristine, ws } = setup(t);
  await syncSource(ws, pristine, new Map(), noLog, 'id-1');
  // Something outside any overlay differs in src/ (a new file in place of the link): only a rsync mends it.
  writeFileSync(join(ws.src, 'Makefile.new'), 'stale:\n');
  renameSync(join(ws.src, 'Makefile.new'), join(ws.src, 'Makefile'));
  t.like(await syncSource(ws, pristine, new Map(), noLog, 'id-1'), { rsynced: false });
  t.is(read(join(ws.src, 'Makefile')), 'stale:\n');
  t.like(await syncSource(ws, pristine, new Map(), noLog, 'id-2'), { rsynced: true });
  t.is(read(join(ws.src, 'Makefile')), 'all:\n');
  writeFileSync(join(ws.src, 'extra'), 'x');
  t.like(await syncSource(ws, pristine, new Map(), noLog), { rsynced: true });
  t.like(await syncSource(ws, pristine, new Map(), noLog), { rsynced: true }, 'no identity: never skipped');
  t.throws(() => read(join(ws.src, 'extra')), undefined, 'rsync --delete removed what the pristine tree lacks');
});
