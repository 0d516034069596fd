// The QMP client against a real QEMU (no guest: `-machine none`, or a stopped `pc` for a keyboard),
// and the probe's argv coming from the shared builder.
import test, { type ExecutionContext } from 'ava';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { kernelCmdline, kvmProbeArgs, qemuArgs } from '../harness/qemu/args.ts';
import { QmpClient, QmpError, QmpTimeoutError, qmpCommands, quit, sysrqKeys, type QmpEvent } from '../harness/qemu/qmp.ts';
import { qemuPids } from './helpers.ts';

const PREFIX = 'daxlab-qmptest-';
const NONE = ['-machine', 'none'];
// A keyboard for send-key, no kernel, vCPUs never started.
const STOPPED_PC = ['-machine', 'pc', '-accel', 'tcg', '-S'];

interface Qemu {
  sock: string;
  child: ResultPromise;
}

/** Start QEMU with a QMP socket in a fresh temp dir; killed and removed in teardown. */
async function startQemu(t: ExecutionContext, machine: string[]): Promise<Qemu> {
  const dir = await mkdtemp(join(tmpdir(), PREFIX));
  const sock = join(dir, 'qmp.sock');
  const child = execa('qemu-system-x86_64', [...machine, '-nodefaults', '-display', 'none', '-qmp', `unix:${sock},server=on,wait=off`], {
    reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', cleanup: true,
  });
  t.teardown(async () => {
    child.kill('SIGKILL'); // works on a SIGSTOPped process too
    await child;
    await rm(dir, { recursive: true, force: true });
  });
  let exited = false;
  void child.then(() => (exited = true));
  const end = Date.now() + 30_000;
  while (!(await stat(sock).then((s) => s.isSocket(), () => false))) {
    if (exited) throw new Error(`QEMU exited before creating its QMP socket: ${String((await child).stderr)}`);
    if (Date.now() > end) throw new Error('QEMU did not create its QMP socket within 30 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { sock, child };
}

async function client(t: ExecutionContext, sock: string, onEvent?: (ev: QmpEvent) => void): Promise<QmpClient> {
  const c = await QmpClient.connect(sock, { timeoutMs: 5000, onEvent });
  t.teardown(() => c.close());
  return c;
}

test('a command resolves with its return value', async (t) => {
  const q = await startQemu(t, NONE);
  const c = await client(t, q.sock);
  t.like(await c.execute('query-status'), { status: 'running', running: true });
});

test('a command QEMU refuses rejects with QmpError naming the class', async (t) => {
  const q = await startQemu(t, STOPPED_PC);
  const c = await client(t, q.sock);
  const unknown = await t.throwsAsync(c.execute('no-such-command'), { instanceOf: QmpError });
  t.is(unknown?.errorClass, 'CommandNotFound');
  const badKey = await t.throwsAsync(c.execute('send-key', { keys: [{ type: 'qcode', data: 'no-such-key' }] }), { instanceOf: QmpError });
  t.is(badKey?.errorClass, 'GenericError');
  t.regex(badKey?.desc ?? '', /no-such-key/);
  // The connection survives a refusal, and the real SysRq keys are accepted.
  t.deepEqual(await c.execute(sysrqKeys('w').execute, sysrqKeys('w').arguments), {});
});

test('qmpCommands runs SysRq w and t, and rejects with the refusal when one fails', async (t) => {
  const q = await startQemu(t, STOPPED_PC);
  t.deepEqual(await qmpCommands(q.sock, [sysrqKeys('w'), sysrqKeys('t')]), [{}, {}]);
  const e = await t.throwsAsync(qmpCommands(q.sock, [sysrqKeys('w'), sysrqKeys('bogus')]), { instanceOf: QmpError });
  t.is(e?.command, 'send-key');
});

test('a frozen QEMU makes requests time out, and a late answer does not satisfy a later request', async (t) => {
  const q = await startQemu(t, NONE);
  const c = await client(t, q.sock);
  const pid = q.child.pid ?? 0;
  process.kill(pid, 'SIGSTOP');
  const t0 = Date.now();
  const e = await t.throwsAsync(c.execute('query-version', undefined, 500), { instanceOf: QmpTimeoutError });
  const took = Date.now() - t0;
  t.true(took >= 450 && took < 3000, `timed out after ${took} ms`);
  t.is(e?.command, 'query-version');
  // A fresh connection to the frozen QEMU cannot even get the greeting.
  await t.throwsAsync(qmpCommands(q.sock, [{ execute: 'query-status' }], 500), { instanceOf: QmpTimeoutError });
  // Thawed, QEMU first answers the abandoned query-version; query-status must get its own answer.
  process.kill(pid, 'SIGCONT');
  t.like(await c.execute('query-status'), { status: 'running' });
});

test('concurrent requests each get their own answer', async (t) => {
  const q = await startQemu(t, NONE);
  const c = await client(t, q.sock);
  const [status, version, refused, name, kvm] = await Promise.allSettled([
    c.execute('query-status'),
    c.execute('query-version'),
    c.execute('no-such-command'),
    c.execute('query-name'),
    c.execute('query-kvm'),
  ]);
  t.like(status, { status: 'fulfilled', value: { status: 'running' } });
  t.like(version, { status: 'fulfilled', value: { qemu: { major: 7 } } });
  t.true(refused?.status === 'rejected' && refused.reason instanceof QmpError && refused.reason.errorClass === 'CommandNotFound');
  t.like(name, { status: 'fulfilled', value: {} });
  t.like(kvm, { status: 'fulfilled', value: { enabled: false } });
});

test('events go to the callback, not to a pending request', async (t) => {
  const q = await startQemu(t, NONE);
  const events: QmpEvent[] = [];
  const c = await client(t, q.sock, (ev) => events.push(ev));
  t.deepEqual(await c.execute('stop'), {});
  t.like(await c.execute('query-status'), { status: 'paused', running: false });
  t.true(events.some((e) => e.event === 'STOP'), JSON.stringify(events));
});

test('close() drops the socket and later requests reject at once; quit ends QEMU', async (t) => {
  const q = await startQemu(t, NONE);
  const c = await client(t, q.sock);
  c.close();
  await t.throwsAsync(c.execute('query-status'), { message: /closed/ });
  const c2 = await client(t, q.sock);
  await quit(c2);
  const r = await q.child;
  t.is(r.exitCode, 0);
});

test.after.always('no test QEMU is left running', async (t) => {
  t.deepEqual(await qemuPids(PREFIX), []);
});

test('the KVM probe argv comes from the shared builder', (t) => {
  const probe = kvmProbeArgs('/boot/bzImage', '/tmp/p/console.sock');
  const joined = probe.join(' ');
  t.regex(joined, /-accel kvm -cpu host /);
  t.regex(joined, /-machine pc -accel/);
  t.regex(joined, /-kernel \/boot\/bzImage -append console=ttyS0 panic=-1 /);
  t.regex(joined, /-chardev socket,id=console,path=\/tmp\/p\/console\.sock -serial chardev:console$/);
  for (const absent of ['-initrd', '-qmp', 'nvdimm', 'slots=', '-smp']) t.false(joined.includes(absent), absent);
  // The flags every boot shares appear exactly as the guest gets them.
  const guest = qemuArgs({
    accel: 'kvm', cpus: 2, memBytes: 2 * 1024 ** 3, kernel: '/k', initrd: '/i', cmdline: kernelCmdline(),
    nvdimms: [{ path: '/n', bytes: 1024 ** 3 }], consoleSocket: '/c', agentSocket: '/a', qmpSocket: '/q',
  });
  const common = ['-nodefaults', '-display', 'none', '-no-reboot', '-no-user-config'];
  const at = (argv: string[]): string[] => argv.slice(argv.indexOf('-nodefaults'), argv.indexOf('-nodefaults') + common.length);
  t.deepEqual(at(probe), common);
  t.deepEqual(at(guest), common);
});

test('the guest argv is unchanged by the shared builder', (t) => {
  const argv = qemuArgs({
    accel: 'tcg', cpus: 2, memBytes: 2 * 1024 ** 3, kernel: '/k', initrd: '/i', cmdline: 'c',
    nvdimms: [{ path: '/n', bytes: 1024 ** 3 }], scratch: { path: '/s', iops: 50 }, bios: '/b',
    consoleSocket: '/c', agentSocket: '/a', qmpSocket: '/q',
  });
  t.deepEqual(argv, [
    '-machine', 'pc,nvdimm=on', '-accel', 'tcg,thread=single', '-cpu', 'max', '-smp', '2',
    '-m', '2048M,slots=2,maxmem=3072M',
    '-object', 'memory-backend-file,id=nvmem0,share=on,mem-path=/n,size=1024M', '-device', 'nvdimm,id=nvdimm0,memdev=nvmem0',
    '-kernel', '/k', '-initrd', '/i', '-append', 'c',
    '-nodefaults', '-display', 'none', '-no-reboot', '-no-user-config',
    '-chardev', 'socket,id=console,path=/c', '-serial', 'chardev:console',
    '-chardev', 'socket,id=agent,path=/a', '-serial', 'chardev:agent',
    '-qmp', 'unix:/q,server=on,wait=off', '-bios', '/b',
    '-drive', 'file=/s,if=none,id=scratch,format=raw,cache=none,aio=threads,throttling.iops-total=50', '-device', 'virtio-blk-pci,drive=scratch',
  ]);
});
