// The CLI's prebuilt bundle (bin/cli-bundle.js): it prints what the tsx path prints, and a start
// after a source edit runs the edited code. The edits happen in a clone of the repository with
// its own copy of node_modules (never the shared checkout, whose bundle other starts use).
import test from 'ava';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type Result } from 'execa';
import { root } from './helpers.ts';

const TSX = { DAXLAB_TSX: '1' };
const CACHE = join('node_modules', '.cache', 'daxlab-cli');

function cli(cwd: string, args: string[], env: Record<string, string> = {}): Promise<Result> {
  return execa('node', ['bin/daxlab.js', ...args], { cwd, reject: false, env: { DAXLAB_TSX: '', ...env }, timeout: 5 * 60 * 1000 });
}

function manifestBundle(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, CACHE, 'manifest.json'), 'utf8')) as { bundle: string }).bundle;
}

test('the bundle and tsx print the same --help and the same one-line bad input', async (t) => {
  for (const args of [['--help'], ['run', '--no-such-flag'], ['catalog', 'show', 'no-such-entry']]) {
    const [bundled, tsx] = await Promise.all([cli(root, args), cli(root, args, TSX)]);
    t.is(bundled.exitCode, tsx.exitCode, args.join(' '));
    t.is(bundled.stdout, tsx.stdout, args.join(' '));
    t.is(bundled.stderr, tsx.stderr, args.join(' '));
    if (args[0] !== '--help') {
      t.is(bundled.exitCode, 2);
      t.is(String(bundled.stderr).split('\n').length, 1, `one line: ${String(bundled.stderr)}`);
    }
  }
});

test('in a clone: the first start builds the bundle, an edit is picked up, bugs keep .ts stack traces, a broken edit falls back to tsx', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-bundle-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  await execa('git', ['clone', '-q', root, dir]);
  // The loader as it is in this checkout (committed or not), node_modules copied without its cache.
  for (const f of ['bin/daxlab.js', 'bin/cli-bundle.js']) cpSync(join(root, f), join(dir, f));
  cpSync(join(root, 'node_modules'), join(dir, 'node_modules'), { recursive: true, filter: (src) => !src.startsWith(join(root, CACHE)) });
  t.false(existsSync(join(dir, CACHE)));

  const first = await cli(dir, ['--help']);
  t.is(first.exitCode, 0, String(first.stderr));
  t.true(existsSync(join(dir, CACHE, 'manifest.json')), 'the first start built the bundle');
  const built = manifestBundle(dir);
  t.is(first.stdout, (await cli(dir, ['--help'], TSX)).stdout);

  const cliTs = join(dir, 'harness', 'cli.ts');
  writeFileSync(cliTs, readFileSync(cliTs, 'utf8').replace("'Boot kernels in QEMU", "'EDITED: boot kernels in QEMU"));
  // Two starts at once after the edit: both rebuild or wait for nothing, both run the new code.
  const [a, b] = await Promise.all([cli(dir, ['--help']), cli(dir, ['--help'])]);
  for (const r of [a, b]) t.regex(String(r.stdout), /^EDITED: boot kernels in QEMU/m);
  t.not(manifestBundle(dir), built, 'rebuilt, not run through tsx');
  t.deepEqual(readdirSync(join(dir, CACHE)).filter((f) => f.endsWith('.tmp')), [], 'no temp files left');

  // A bug deep in a command: its stack names the .ts file and line, as under tsx.
  const cmd = join(dir, 'harness', 'catalog', 'command.ts');
  const lines = readFileSync(cmd, 'utf8').split('\n');
  const at = lines.findIndex((l) => l.includes('.action(async (opts: { json?: boolean }) => {'));
  t.true(at > 0);
  lines.splice(at + 1, 0, "      throw new Error('a bug in catalog');");
  writeFileSync(cmd, lines.join('\n'));
  const bug = await cli(dir, ['catalog']);
  t.is(bug.exitCode, 1);
  t.true(String(bug.stderr).includes(`${join(dir, 'harness', 'catalog', 'command.ts')}:${at + 2}:`), String(bug.stderr));
  t.regex(String(bug.stderr), /Error: a bug in catalog/);

  // A syntax error: esbuild cannot build it, so the start goes through tsx, which reports it.
  const before = manifestBundle(dir);
  writeFileSync(cmd, lines.join('\n').replace("throw new Error('a bug in catalog');", 'const = ;'));
  const [broken, viaTsx] = await Promise.all([cli(dir, ['catalog']), cli(dir, ['catalog'], TSX)]);
  t.is(broken.exitCode, viaTsx.exitCode);
  t.not(broken.exitCode, 0);
  t.is(String(broken.stderr).split('\n')[0], String(viaTsx.stderr).split('\n')[0]);
  t.is(manifestBundle(dir), before, 'the last good bundle is left as it was, and not used');
});
