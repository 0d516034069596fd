// Shell reproducers run under the guest's busybox sh. The same sh (busybox-static, the binary
// the guest image carries) parses them on the host first, so a syntax error is file:line before
// any boot, not a failed step minutes later.
import { execa } from 'execa';
import { ensureHostTools } from '../host/tools.ts';
import { UserError } from '../util/errors.ts';
import { displayPath } from '../util/paths.ts';

/** busybox: `FILE: line N: syntax error: ...` (sometimes after `sh: `). */
const SYNTAX = /(?:^|: )line (\d+): (.*)$/m;

export async function checkShellScript(path: string): Promise<void> {
  await ensureHostTools(['busybox']);
  const r = await execa('busybox', ['sh', '-n', path], { reject: false, all: true });
  if (r.exitCode === 0) return;
  const text = String(r.all ?? '');
  const m = SYNTAX.exec(text);
  if (m?.[1]) throw new UserError(m[2] ?? 'syntax error', { file: displayPath(path), line: Number(m[1]) });
  throw new UserError(`shell reproducer does not parse: ${text.split('\n')[0] ?? `busybox sh -n exit ${r.exitCode}`}`, { file: displayPath(path) });
}
