// QEMU command lines: the one place that knows QEMU's flags. Pure: paths in, argv out.

export type Accel = 'kvm' | 'tcg';

/**
 * TCG's vCPU threading. `multi` (QEMU's default on x86) gives each vCPU a host thread and races
 * the kernel's int3-based live code patching (static keys, alternatives): rarely, a vCPU runs a
 * stale int3 and the kernel oopses in code it was patching. `single` runs every vCPU on one host
 * thread, round-robin: no cross-vCPU code modification race, one host core per guest.
 */
export type TcgThread = 'single' | 'multi';

/**
 * Everything QEMU is told, for any boot the harness makes. The optional parts are what a bare
 * boot (the KVM probe: a kernel and a console, nothing else) leaves out.
 */
export interface QemuSpec {
  accel: Accel;
  /** Only for TCG; default single (see TcgThread). */
  tcgThread?: TcgThread | undefined;
  cpus?: number | undefined;
  memBytes: number;
  kernel: string;
  initrd?: string | undefined;
  cmdline: string;
  /** File-backed NVDIMMs (sparse files); undefined means a plain `pc` machine without hotplug memory. */
  nvdimms?: { path: string; bytes: number }[] | undefined;
  /** Optional virtio-blk scratch disk: a non-DAX device whose I/O completes asynchronously. */
  scratch?: { path: string; iops?: number | undefined } | undefined;
  consoleSocket: string;
  agentSocket?: string | undefined;
  qmpSocket?: string | undefined;
  /** qboot skips most of SeaBIOS's work; undefined means QEMU's default firmware. */
  bios?: string | undefined;
  /** The guest's clock (TCG only): host time, or icount (GuestClock). */
  clock?: GuestClock | undefined;
}

/**
 * host: guest time is the host's wall clock, so a slower host (another tenant, frequency) makes
 * every measurement slower. icount: guest time advances with the instructions executed (QEMU
 * -icount), 2^ICOUNT_SHIFT ns each, and idle time jumps to the next timer (sleep=off): timings
 * become a deterministic function of the code that ran, blind to host speed and to cache
 * effects. TCG only (one thread); under KVM the clock is always the host's.
 */
export type GuestClock = 'host' | 'icount';
/** 8 ns per instruction, 125 MIPS of virtual time: near what TCG executes here, so guest timeouts keep their rough length. */
export const ICOUNT_SHIFT = 3;

/** A DAX guest: NVDIMMs, an initramfs with the agent, and QMP for the watchdog. */
export interface MachineSpec extends QemuSpec {
  cpus: number;
  initrd: string;
  nvdimms: { path: string; bytes: number }[];
  agentSocket: string;
  qmpSocket: string;
}

const MiB = 1024 * 1024;

function mib(bytes: number): string {
  return `${Math.ceil(bytes / MiB)}M`;
}

export function nvdimmArgs(nvdimms: MachineSpec['nvdimms']): string[] {
  const out: string[] = [];
  nvdimms.forEach((d, i) => {
    // share=on: without it guest writes land in a private copy and never reach the file.
    out.push('-object', `memory-backend-file,id=nvmem${i},share=on,mem-path=${d.path},size=${mib(d.bytes)}`);
    out.push('-device', `nvdimm,id=nvdimm${i},memdev=nvmem${i}`);
  });
  return out;
}

export function qemuArgs(m: QemuSpec): string[] {
  const nvdimms = m.nvdimms ?? [];
  const pmemTotal = nvdimms.reduce((a, d) => a + Math.ceil(d.bytes / MiB) * MiB, 0);
  const hotplug = m.nvdimms !== undefined;
  const args = [
    '-machine', hotplug ? 'pc,nvdimm=on' : 'pc',
    '-accel', accelArg(m.accel, m.tcgThread),
    '-cpu', m.accel === 'kvm' ? 'host' : 'max',
    ...(m.cpus !== undefined ? ['-smp', String(m.cpus)] : []),
    // NVDIMMs are hot-pluggable memory: they need slots and room under maxmem.
    '-m', hotplug ? `${mib(m.memBytes)},slots=${Math.max(2, nvdimms.length + 1)},maxmem=${mib(m.memBytes + pmemTotal)}` : mib(m.memBytes),
    ...nvdimmArgs(nvdimms),
    '-kernel', m.kernel,
    ...(m.initrd !== undefined ? ['-initrd', m.initrd] : []),
    '-append', m.cmdline,
    '-nodefaults', '-display', 'none', '-no-reboot', '-no-user-config',
    '-chardev', `socket,id=console,path=${m.consoleSocket}`,
    '-serial', 'chardev:console',
  ];
  if (m.agentSocket !== undefined) args.push('-chardev', `socket,id=agent,path=${m.agentSocket}`, '-serial', 'chardev:agent');
  if (m.qmpSocket !== undefined) args.push('-qmp', `unix:${m.qmpSocket},server=on,wait=off`);
  if (m.bios) args.push('-bios', m.bios);
  if (m.clock === 'icount' && m.accel === 'tcg') args.push('-icount', `shift=${ICOUNT_SHIFT},sleep=off`);
  if (m.scratch) {
    const throttle = m.scratch.iops ? `,throttling.iops-total=${m.scratch.iops}` : '';
    args.push('-drive', `file=${m.scratch.path},if=none,id=scratch,format=raw,cache=none,aio=threads${throttle}`);
    args.push('-device', 'virtio-blk-pci,drive=scratch');
  }
  return args;
}

/** The KVM probe: the kernel alone under `-cpu host`, only far enough to print its banner. */
export function kvmProbeArgs(kernel: string, consoleSocket: string): string[] {
  return qemuArgs({ accel: 'kvm', memBytes: 256 * MiB, kernel, cmdline: 'console=ttyS0 panic=-1', consoleSocket });
}

export function accelArg(accel: Accel, tcgThread: TcgThread = 'single'): string {
  return accel === 'tcg' ? `tcg,thread=${tcgThread}` : accel;
}

/** Kernel command line: everything to the serial console, reboot (= exit) on panic. */
export function kernelCmdline(extra: string[] = []): string {
  return ['console=ttyS0,115200', 'panic=-1', 'printk.devkmsg=on', 'rdinit=/init', ...extra].join(' ');
}
