// QEMU command line for a DAX guest. Pure: paths in, argv out.

export type Accel = 'kvm' | 'tcg';

/**
 * TCG's vCPU threading. `multi` (QEMU's default on x86) gives each vCPU a host thread and races
 * the kernel's int3-based live code patching (static keys, alternatives): rarely, a vCPU runs a
 * stale int3 and the kernel oopses in code it was patching. `single` runs every vCPU on one host
 * thread, round-robin: no cross-vCPU code modification race, one host core per guest.
 */
export type TcgThread = 'single' | 'multi';

export interface MachineSpec {
  accel: Accel;
  /** Only for TCG; default single (see TcgThread). */
  tcgThread?: TcgThread | undefined;
  cpus: number;
  memBytes: number;
  kernel: string;
  initrd: string;
  cmdline: string;
  /** File-backed NVDIMMs (sparse files). */
  nvdimms: { path: string; bytes: number }[];
  /** Optional virtio-blk scratch disk: a non-DAX device whose I/O completes asynchronously. */
  scratch?: { path: string; iops?: number | undefined } | undefined;
  consoleSocket: string;
  agentSocket: string;
  qmpSocket: string;
  /** qboot skips most of SeaBIOS's work; undefined means QEMU's default firmware. */
  bios?: string | undefined;
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

export function qemuArgs(m: MachineSpec): string[] {
  const pmemTotal = m.nvdimms.reduce((a, d) => a + Math.ceil(d.bytes / MiB) * MiB, 0);
  const args = [
    '-machine', 'pc,nvdimm=on',
    '-accel', accelArg(m.accel, m.tcgThread),
    '-cpu', m.accel === 'kvm' ? 'host' : 'max',
    '-smp', String(m.cpus),
    // NVDIMMs are hot-pluggable memory: they need slots and room under maxmem.
    '-m', `${mib(m.memBytes)},slots=${Math.max(2, m.nvdimms.length + 1)},maxmem=${mib(m.memBytes + pmemTotal)}`,
    ...nvdimmArgs(m.nvdimms),
    '-kernel', m.kernel,
    '-initrd', m.initrd,
    '-append', m.cmdline,
    '-nodefaults', '-display', 'none', '-no-reboot', '-no-user-config',
    '-chardev', `socket,id=console,path=${m.consoleSocket}`,
    '-serial', 'chardev:console',
    '-chardev', `socket,id=agent,path=${m.agentSocket}`,
    '-serial', 'chardev:agent',
    '-qmp', `unix:${m.qmpSocket},server=on,wait=off`,
  ];
  if (m.bios) args.push('-bios', m.bios);
  if (m.scratch) {
    const throttle = m.scratch.iops ? `,throttling.iops-total=${m.scratch.iops}` : '';
    args.push('-drive', `file=${m.scratch.path},if=none,id=scratch,format=raw,cache=none,aio=threads${throttle}`);
    args.push('-device', 'virtio-blk-pci,drive=scratch');
  }
  return args;
}

export function accelArg(accel: Accel, tcgThread: TcgThread = 'single'): string {
  return accel === 'tcg' ? `tcg,thread=${tcgThread}` : accel;
}

/** Kernel command line: everything to the serial console, reboot (= exit) on panic. */
export function kernelCmdline(extra: string[] = []): string {
  return ['console=ttyS0,115200', 'panic=-1', 'printk.devkmsg=on', 'rdinit=/init', ...extra].join(' ');
}
