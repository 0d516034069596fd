// The agent's step argv code (images/guest/agent.sh, between its "step argv" markers) run under
// the host's busybox sh, the shell the guest runs it with: $DAXLAB_* in a reproducer's arguments
// are expanded from the step's env words, nothing else in them is evaluated, and the step starts
// in $DAXLAB_DIR. The final `exec setsid` is replaced by a print of the argv and the directory.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { agentScript, planBoot, workItems } from '../harness/plan/plan.ts';
import { bareScenario } from '../harness/scenario/bare.ts';

const agent = readFileSync('images/guest/agent.sh', 'utf8');
const part = /^# --- step argv: begin.*?^# --- step argv: end$/ms.exec(agent)?.[0] ?? '';
const lib = part.replace(/^ {2}exec setsid "\$@"$/m, `  printf '[%s]\\n' "$@"; printf 'cwd=%s\\n' "$(pwd)"`);

/** The argv (and cwd) a step of KIND gets from the words plan.sh hands run_step. */
async function argvOf(kind: string, words: string[]): Promise<string[]> {
  const r = await execa('busybox', ['sh', '-c', `${lib}\n( step_exec "$@" )`, 'agent', kind, ...words], { env: { HOME: '/home/x', DAXLAB_DIR: '' }, extendEnv: false, cwd: '/' });
  return r.stdout.split('\n');
}

test('the extract is the agent code and its exec line was replaced', (t) => {
  t.regex(part, /^xarg\(\) \{/m);
  t.notRegex(lib, /exec setsid/);
});

test('$DAXLAB_NAME and ${DAXLAB_NAME} are expanded from the env words; nothing else is evaluated', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'daxlab-args-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const env = ['env', `DAXLAB_DIR=${dir}`, 'DAXLAB_FS=xfs', 'DAXLAB_DAX=always', 'DAXLAB_DEV=/dev/pmem0', 'DAXLAB_SCRATCH=', 'DAXLAB_REP=2'];
  const args = ['$DAXLAB_DIR/f', '${DAXLAB_DIR}x', '${DAXLAB_FS}-$DAXLAB_DAX', '$DAXLAB_DEV', '[$DAXLAB_SCRATCH]', 'r$DAXLAB_REP$DAXLAB_REP', '$DAXLAB_DIRX', '$HOME $(id) `id` ; rm -rf /', '$', '$$', '', '*', 'a\'b"c'];
  t.deepEqual(await argvOf('repro', [...env, '/daxlab/bin/x.bin', ...args]), [
    '[/daxlab/bin/x.bin]',
    `[${dir}/f]`,
    `[${dir}x]`,
    '[xfs-always]',
    '[/dev/pmem0]',
    '[[]]',
    '[r22]',
    '[$DAXLAB_DIRX]',
    '[$HOME $(id) `id` ; rm -rf /]',
    '[$]',
    '[$$]',
    '[]',
    '[*]',
    '[a\'b"c]',
    `cwd=${dir}`,
  ]);
});

test('setup steps are not expanded and stay where the agent is (/)', async (t) => {
  t.deepEqual(await argvOf('setup', ['mkfs.ext4', '$DAXLAB_DIR']), ['[mkfs.ext4]', '[$DAXLAB_DIR]', 'cwd=/']);
});

test('what plan.sh says is what the reproducer gets: through the plan, the quoting and the agent', async (t) => {
  const s = { ...bareScenario('/tmp/a.sh', ''), args: ['$DAXLAB_DIR/x file', "it's", '${DAXLAB_FS}'] };
  const plan = planBoot(workItems('k', [s], new Map([['a', 'a.sh']])), { pmemBytes: 1024 ** 3 });
  const line = agentScript(plan).split('\n').find((l) => l.startsWith('run_step') && l.includes(' repro '));
  const words = (await execa('busybox', ['sh', '-c', `set -- ${line?.replace(/^run_step \d+ \w+ \d+ /, '')}; printf '%s\\n' "$@"`])).stdout.split('\n');
  const argv = await argvOf('repro', words);
  t.deepEqual(argv.slice(0, 5), ['[sh]', '[/daxlab/bin/a.sh]', '[/mnt/dax/x file]', "[it's]", '[ext4]']);
});
