// One guest boot: sparse NVDIMM backing file in a private temp dir, QEMU with the console and the
// agent on separate unix sockets, watchdogs for a guest that never boots or wedges, and cleanup
// of everything (process, sockets, backing files) however the boot ends.
import { appendFile, copyFile, mkdtemp, open } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseAgentLine, LineSplitter, type AgentEvent } from '../agent/protocol.ts';
import { CappedLog } from '../console/capture.ts';
import { onCleanup, registerTempDir } from '../util/cleanup.ts';
import { kernelCmdline, qemuArgs, type Accel, type GuestClock, type TcgThread } from './args.ts';
import { qmpCommands, sysrqKeys } from './qmp.ts';

export interface GuestOptions {
  bzImage: string;
  baseImage: string;
  overlay: Buffer;
  accel: Accel;
  tcgThread?: TcgThread | undefined;
  cpus: number;
  memBytes: number;
  pmemBytes: number;
  /** A prepared NVDIMM backing file (a pmem template), copied sparse for this boot; else all zeros. */
  pmemImage?: string | undefined;
  /** Called with the NVDIMM backing file after QEMU exited, before it is removed. */
  afterExit?: ((pmem: string) => Promise<void>) | undefined;
  scratchBytes: number;
  scratchIops?: number | undefined;
  bios?: string | undefined;
  clock?: GuestClock | undefined;
  extraCmdline?: string[];
  consoleLog: string;
  agentLog: string;
  consoleCap?: number;
  /** No `hello` from the agent within this long: the boot failed. */
  bootTimeoutS: number;
  /** Extra time the host grants beyond a step's own timeout before it declares the guest wedged. */
  graceS: number;
  onEvent: (ev: AgentEvent, atMs: number) => void;
  onConsoleLine?: (line: string, atMs: number) => void;
  onSpawn?: (argv: string[]) => void;
  /** Stops the guest at once (QEMU killed); the boot ends 'aborted'. */
  signal?: AbortSignal | undefined;
}

export type GuestEnd = 'poweroff' | 'exit-without-bye' | 'boot-timeout' | 'watchdog' | 'spawn-failed' | 'aborted';

export interface GuestOutcome {
  end: GuestEnd;
  argv: string[];
  qemuExitCode: number | null;
  qemuSignal: string | null;
  qemuStderr: string;
  consoleBytesDropped: number;
  /** Console or agent log could not be written (disk full...). */
  logWriteError?: string | undefined;
  /** Milliseconds since QEMU was started. */
  timings: { spawnMs?: number; firstConsoleMs?: number; helloMs?: number; readyMs?: number; firstStepMs?: number; firstReproMs?: number; byeMs?: number; exitMs: number };
  /** Step that was running when the guest stopped answering, if any. */
  stuckStep?: number | undefined;
}

async function sparseFile(path: string, bytes: number): Promise<void> {
  const fh = await open(path, 'w');
  await fh.truncate(bytes);
  await fh.close();
}

/** Resolves when every connection a server accepted has closed, or after `ms`. */
function drained(sockets: Set<Socket>, ms: number): Promise<void> {
  const open = [...sockets].filter((s) => !s.closed);
  if (open.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    let left = open.length;
    for (const s of open)
      s.once('close', () => {
        if (--left === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
  });
}

function listen(path: string, onConn: (s: Socket) => void, conns?: Set<Socket>): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer((s) => {
      conns?.add(s);
      onConn(s);
    });
    srv.once('error', reject);
    srv.listen(path, () => resolve(srv));
  });
}

export async function runGuest(o: GuestOptions): Promise<GuestOutcome> {
  const dir = await mkdtemp(join(tmpdir(), 'daxlab-guest-'));
  const removeDir = registerTempDir(dir);
  const t0 = Date.now();
  const since = (): number => Date.now() - t0;
  const timings: GuestOutcome['timings'] = { exitMs: 0 };
  const consoleLog = new CappedLog(o.consoleLog, o.consoleCap);
  const agentLog = new CappedLog(o.agentLog, o.consoleCap);
  const servers: Server[] = [];
  let end: GuestEnd | undefined;
  let stuckStep: number | undefined;
  let argv: string[] = [];
  const logErrors: string[] = [];
  try {
    const initrd = join(dir, 'initrd.cpio');
    await copyFile(o.baseImage, initrd);
    await appendFile(initrd, o.overlay);
    const nv = join(dir, 'nv0.img');
    if (o.pmemImage) await execa('cp', ['--sparse=always', o.pmemImage, nv]);
    else await sparseFile(nv, o.pmemBytes);
    const scratch = o.scratchBytes > 0 ? join(dir, 'scratch.img') : undefined;
    if (scratch) await sparseFile(scratch, o.scratchBytes);

    const consoleSplit = new LineSplitter();
    const agentSplit = new LineSplitter();
    const sockets = { console: join(dir, 'console.sock'), agent: join(dir, 'agent.sock'), qmp: join(dir, 'qmp.sock') };
    // QEMU's exit can be seen before the last bytes it wrote (a panic's last lines, the samples
    // just before it) have been read from the sockets: wait for them to close before finishing.
    const conns = new Set<Socket>();
    servers.push(
      await listen(sockets.console, (s) =>
        s.on('data', (d: Buffer) => {
          timings.firstConsoleMs ??= since();
          consoleLog.write(d);
          if (o.onConsoleLine) for (const l of consoleSplit.push(d.toString('latin1'))) o.onConsoleLine(l, since());
        }),
        conns,
      ),
    );

    // Watchdog state, driven by agent events.
    let deadline = Date.now() + o.bootTimeoutS * 1000;
    let running: number | undefined;
    let sawBye = false;
    const handle = (ev: AgentEvent): void => {
      // Once the host has declared the boot over (deadline passed, aborted), nothing the guest
      // says afterwards counts: a slow guest finishing a step inside the kill grace is no result.
      if (end) return;
      const now = since();
      if (ev.event === 'hello') timings.helloMs = now;
      if (ev.event === 'ready') timings.readyMs = now;
      if (ev.event === 'begin') {
        timings.firstStepMs ??= now;
        if (ev.kind === 'repro') timings.firstReproMs ??= now;
        running = ev.step;
        deadline = Date.now() + (ev.timeoutS + o.graceS) * 1000;
      } else if (ev.event === 'end') {
        running = undefined;
        deadline = Date.now() + o.graceS * 1000 * 2; // output of the next step, or the next begin
      } else if (ev.event === 'bye') {
        sawBye = true;
        timings.byeMs = now;
        deadline = Date.now() + o.graceS * 1000;
      } else if (ev.step !== 0 || ev.event === 'ready' || ev.event === 'hello') {
        deadline = Math.max(deadline, Date.now() + o.graceS * 1000);
      }
      o.onEvent(ev, now);
    };
    servers.push(
      await listen(sockets.agent, (s) =>
        s.on('data', (d: Buffer) => {
          agentLog.write(d);
          for (const l of agentSplit.push(d.toString('utf8'))) {
            const ev = parseAgentLine(l);
            if (ev) handle(ev);
          }
        }),
        conns,
      ),
    );

    argv = qemuArgs({
      accel: o.accel,
      tcgThread: o.tcgThread,
      cpus: o.cpus,
      memBytes: o.memBytes,
      kernel: o.bzImage,
      initrd,
      cmdline: kernelCmdline(o.extraCmdline),
      nvdimms: [{ path: nv, bytes: o.pmemBytes }],
      scratch: scratch ? { path: scratch, iops: o.scratchIops } : undefined,
      consoleSocket: sockets.console,
      agentSocket: sockets.agent,
      qmpSocket: sockets.qmp,
      bios: o.bios,
      clock: o.clock,
    });
    o.onSpawn?.(['qemu-system-x86_64', ...argv]);
    timings.spawnMs = since();
    const child = execa('qemu-system-x86_64', argv, { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', maxBuffer: 1024 * 1024, cleanup: true });
    const unkill = onCleanup(() => child.kill('SIGKILL'));
    const onAbort = (): void => {
      end ??= 'aborted';
      child.kill('SIGKILL');
    };
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener('abort', onAbort);

    const watchdog = setInterval(() => {
      if (end || Date.now() < deadline) return;
      if (sawBye) {
        end = 'poweroff'; // the agent finished; QEMU just did not exit on its own
        child.kill('SIGKILL');
        return;
      }
      end = timings.helloMs === undefined ? 'boot-timeout' : 'watchdog';
      stuckStep = running;
      consoleLog.write(`\n[daxlab: host watchdog fired (${end}${running ? `, step ${running}` : ''}); sending SysRq w and t]\n`);
      // Ask the wedged kernel for its blocked and all task stacks, give it time to print, then kill.
      void qmpCommands(sockets.qmp, [sysrqKeys('w'), sysrqKeys('t')], 1500)
        .catch((e: unknown) => {
          // Refused or unanswered: the task dump the console is expected to hold never came. Once
          // QEMU is gone the socket error says nothing new, and the log may be closing.
          if (child.exitCode === null && child.signalCode === null) consoleLog.write(`\n[daxlab: QMP send-key failed: ${e instanceof Error ? e.message : String(e)}]\n`);
        })
        .finally(() => setTimeout(() => child.kill('SIGKILL'), 5000));
    }, 250);

    const r = await child;
    clearInterval(watchdog);
    o.signal?.removeEventListener('abort', onAbort);
    unkill();
    timings.exitMs = since();
    if (o.afterExit) await o.afterExit(nv).catch(() => undefined); // best effort: never the boot's failure
    await drained(conns, 2000);
    for (const l of agentSplit.flush()) {
      const ev = parseAgentLine(l);
      if (ev) handle(ev);
    }
    if (o.onConsoleLine) for (const l of consoleSplit.flush()) o.onConsoleLine(l, since());
    if (!end) end = sawBye ? 'poweroff' : r.failed && timings.helloMs === undefined && r.exitCode !== 0 && !r.signal ? 'spawn-failed' : 'exit-without-bye';
    return {
      end,
      argv: ['qemu-system-x86_64', ...argv],
      qemuExitCode: r.exitCode ?? null,
      qemuSignal: r.signal ?? null,
      qemuStderr: String(r.stderr ?? '').slice(0, 4000),
      consoleBytesDropped: consoleLog.bytesDropped,
      get logWriteError() {
        return logErrors[0];
      },
      timings,
      stuckStep,
    };
  } finally {
    for (const s of servers) s.close();
    await consoleLog.close();
    await agentLog.close();
    removeDir();
    logErrors.push(...[consoleLog.error, agentLog.error].filter((e): e is string => e !== undefined));
  }
}
