import test from 'ava';
import { execa } from 'execa';
import { root } from './helpers.ts';

// Types at module edges are part of the contract between harness modules: a type error is a bug.
test('the harness typechecks under strict settings', async (t) => {
  const r = await execa('node', ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.'], { cwd: root, reject: false, all: true });
  t.is(r.exitCode, 0, String(r.all));
});
