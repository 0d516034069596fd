// The engine's typed edges: what a prepared kernel is, how guests are set up, and the progress
// events a front end (the CLI today, a worker later) renders. No I/O here.
import type { GuestImage } from '../image/initramfs.ts';
import type { BootEntry, KernelEntry } from '../kernel/entry.ts';
import type { Kernel } from '../kernel/types.ts';
import type { AccelChoice } from '../qemu/accel.ts';
import type { GuestClock, TcgThread } from '../qemu/args.ts';
import type { StepStatus } from '../results/types.ts';

/** A kernel ready to boot: resolved (or built), its guest image, and the accelerator to use. */
export interface PreparedKernel {
  /** Short name used in work-item keys (`NAME/scenario:fs:dax:rN`) and tables. */
  name: string;
  kernel: Kernel;
  image: GuestImage;
  accel: AccelChoice;
  tcgThread: TcgThread;
  /** What QEMU boots (kernel/entry.ts). */
  entry: KernelEntry;
  /** Wall time of each preparation phase, ms. */
  phases: Record<string, number>;
}

/** How every guest of a run is shaped and watched. */
export interface GuestSettings {
  cpus: number;
  memBytes: number;
  /**
   * Boots after the first of a kernel and NVDIMM size start from a pmem template (namespace and
   * the first group's filesystem made before the boot; engine/pmem-template.ts). Default on.
   */
  pmemTemplate?: boolean | undefined;
  /** pvh (default): boot the kernel's vmlinux through its PVH entry when it has one; bzimage: always the bzImage. */
  entry?: BootEntry | undefined;
  /** qboot skips most of SeaBIOS's work (~3 s a boot under TCG); seabios is QEMU's default. */
  firmware: 'qboot' | 'seabios';
  bootTimeoutS?: number | undefined;
  graceS?: number | undefined;
  consoleCap?: number | undefined;
  /** Extra kernel command-line words, after daxlab's own (a later `rdinit=` or `--` wins). */
  append?: string[] | undefined;
  /** qemu/args.ts GuestClock; default host. */
  clock?: GuestClock | undefined;
}

/** What the engine tells a front end while it works; results themselves go to the event log. */
export type Progress =
  | { kind: 'line'; text: string }
  | { kind: 'began'; boot: number; key: string }
  | { kind: 'step'; done: number; total: number; key: string; status: StepStatus; reason: string; ms: number }
  | { kind: 'boot'; boot: number; kernel: string; phase: 'started' | 'ended'; detail: string };

export type ProgressFn = (p: Progress) => void;
