// Planning: scenarios -> work items (one reproducer run each) -> boots. Pure, no I/O.
// Work items have stable keys so an interrupted run can be resumed and, later, A/B runs can be
// interleaved and compared item by item.
import { agentWords, type MonitorRequest } from '../monitor/spec.ts';
import type { DaxMode, Filesystem, Scenario, VerdictFrom } from '../scenario/schema.ts';

export interface Variant {
  fs: Filesystem;
  dax: DaxMode;
}

export interface WorkItem {
  /** `KERNEL/scenario:fs:dax:rN`, stable across runs and resumes. */
  key: string;
  /** Name of the prepared kernel the item runs on. */
  kernel: string;
  scenario: string;
  variant: Variant;
  rep: number;
  /** A/B designs: items of one slot run in one boot, slots in order (harness/ab/design.ts). */
  slot?: number | undefined;
  binary: string;
  args: string[];
  timeoutS: number;
  scratch: boolean;
  scratchIops?: number | undefined;
  /** Destructive (e.g. tears down the namespace): runs alone in a boot after the others. */
  ownBoot: boolean;
  /** Items share a boot only with items of the same group (boot: per-variant gives each variant one). */
  bootGroup?: string | undefined;
  /** The scenario's expect_exit and verdict_from (results/verdict.ts). */
  expectExit?: number | undefined;
  verdictFrom?: VerdictFrom | undefined;
  /** Kernel-side monitors the agent samples around this run (harness/monitor/). */
  monitors?: MonitorRequest | undefined;
}

/** Whether two items may run in one boot: same A/B slot and same boot group. */
export function sameBoot(a: WorkItem, b: WorkItem): boolean {
  return a.slot === b.slot && a.bootGroup === b.bootGroup;
}

export function variantName(v: Variant): string {
  return `${v.fs}-dax=${v.dax}`;
}

export function workItems(kernel: string, scenarios: Scenario[], binaries: Map<string, string>): WorkItem[] {
  const items: WorkItem[] = [];
  for (const s of scenarios) {
    const binary = binaries.get(s.id) ?? s.id;
    for (const fs of s.filesystems) {
      for (const dax of s.daxModes) {
        for (let rep = 1; rep <= s.repetitions; rep++) {
          items.push({
            key: `${kernel}/${s.id}:${fs}:${dax}:r${rep}`,
            kernel,
            scenario: s.id,
            variant: { fs, dax },
            rep,
            binary,
            args: s.args,
            timeoutS: s.timeoutS,
            scratch: s.scratch,
            scratchIops: s.scratchIops,
            ownBoot: s.ownBoot ?? false,
            ...(s.bootPerVariant ? { bootGroup: `${kernel}/${s.id}:${fs}:${dax}` } : {}),
            ...(s.expectExit !== undefined ? { expectExit: s.expectExit } : {}),
            ...(s.verdictFrom !== undefined ? { verdictFrom: s.verdictFrom } : {}),
            ...(s.monitors ? { monitors: s.monitors } : {}),
          });
        }
      }
    }
  }
  return items;
}

/** The items of the next boot: every shared item, else one destructive item on its own. */
export function nextBootBatch(pending: WorkItem[]): WorkItem[] {
  const shared = pending.filter((i) => !i.ownBoot);
  if (shared.length) return shared;
  return pending.slice(0, 1);
}

/**
 * The next boot's items when `freeSlots` guests may start now: an even share of what is left, cut
 * at variant boundaries where possible so guests share mkfs/mount setups instead of repeating
 * them. With one slot this is nextBootBatch.
 */
export function shareForGuest(pending: WorkItem[], freeSlots: number): WorkItem[] {
  const batch = nextBootBatch(pending);
  if (freeSlots <= 1 || batch.length <= 1 || batch[0]?.ownBoot) return batch;
  const byVariant = [...batch].sort((a, b) => variantName(a.variant).localeCompare(variantName(b.variant)));
  const want = Math.ceil(batch.length / freeSlots);
  let cut = want;
  // Move the cut to the nearest variant boundary within a quarter of the share.
  for (let d = 0; d <= Math.floor(want / 4); d++) {
    const at = [want + d, want - d].find((c) => c > 0 && c < byVariant.length && variantName((byVariant[c - 1] as WorkItem).variant) !== variantName((byVariant[c] as WorkItem).variant));
    if (at !== undefined) {
      cut = at;
      break;
    }
  }
  return byVariant.slice(0, cut);
}

export type StepKind = 'setup' | 'repro' | 'cleanup';

export interface BootStep {
  /** Number used on the agent channel; unique within one boot. */
  n: number;
  kind: StepKind;
  label: string;
  argv: string[];
  env: Record<string, string>;
  timeoutS: number;
  group: string;
  item?: WorkItem;
  /** An `insmod` step: the filesystem whose modules (moduleListPath) it inserts. */
  loads?: Filesystem;
}

export interface BootPlan {
  pmemBytes: number;
  /** Filesystems whose modules the agent inserts before the plan; the others have an `insmod` step. */
  startFs: Filesystem[];
  /** The NVDIMM starts from a pmem template holding this filesystem (planBoot's `template`). */
  template?: Filesystem | undefined;
  scratchBytes: number;
  /** Throttle of the scratch disk (widens DMA windows); the lowest any item asks for. */
  scratchIops?: number | undefined;
  steps: BootStep[];
  groups: string[];
}

export const DAX_MOUNT = '/mnt/dax';
export const SCRATCH_MOUNT = '/mnt/scratch';
export const PMEM_DEV = '/dev/pmem0';
export const SCRATCH_DEV = '/dev/vda';
const SETUP_TIMEOUT_S = 300; // mkfs of a large pmem under TCG is slow; a hang is still caught

/** How the guest makes its fsdax namespace; a pmem template is valid only for these words. */
export const NAMESPACE_ARGV = ['ndctl', 'create-namespace', '-f', '-e', 'namespace0.0', '-m', 'fsdax', '-a', '2M'];
export const NAMESPACE_LABEL = 'create fsdax namespace';

/** The setup step of a boot whose NVDIMM starts from a pmem template (harness/engine/pmem-template.ts). */
export function templateLabel(fs: Filesystem): string {
  return `fsdax namespace + mkfs ${fs} from the host's pmem template`;
}
/** First words of what that step prints on stderr when the template did not take. */
export const TEMPLATE_FALLBACK = 'pmem0 was not fsdax at boot';

/**
 * The template step: pmem0 must have come up claimed by a pfn device (fsdax, from the template's
 * info block). If it did not, the step makes the namespace and the filesystem the usual way, so
 * the group still starts on a fresh filesystem, and says so.
 */
function templateArgv(fs: Filesystem): string[] {
  const sh = (argv: string[]): string => argv.map(shQuote).join(' ');
  const script = [
    'd=$(readlink /sys/block/pmem0/device 2>/dev/null);',
    'case $d in',
    `*/pfn*) echo "pmem0: fsdax on \${d##*/}, ${fs} made on the host" ;;`,
    `*) echo "${TEMPLATE_FALLBACK} (\${d:-no pmem0}): making the namespace and the filesystem here" >&2;`,
    `${sh(NAMESPACE_ARGV)} >/dev/null && ${sh(mkfsArgv(fs, PMEM_DEV))} ;;`,
    'esac',
  ].join(' ');
  return ['sh', '-c', script];
}

export function mkfsArgv(fs: Filesystem, dev: string): string[] {
  // xfs DAX needs a 4 KiB block size; reflink and DAX are not allowed together on older kernels.
  return fs === 'ext4' ? ['mkfs.ext4', '-F', '-q', '-b', '4096', dev] : ['mkfs.xfs', '-f', '-q', '-b', 'size=4096', '-m', 'reflink=0', dev];
}

/** Guest path of the module list an `insmod FS` step reads (written by the boot, engine/boot.ts). */
export function moduleListPath(fs: Filesystem): string {
  return `/daxlab/modules-${fs}.list`;
}

/** The filesystem of the boot's first group: the one a pmem template would hold. */
export function firstFilesystem(items: WorkItem[]): Filesystem | undefined {
  return items[0]?.variant.fs;
}

/**
 * One boot for `items`: create the fsdax namespace once, then per variant mkfs + mount, the
 * runs, and umount. Items keep their order within a variant; variants appear in first-use order.
 * With `template` (the first group's filesystem), the NVDIMM starts as a pmem template holding
 * the namespace and that filesystem: one check step replaces create-namespace and the first mkfs.
 */
export function planBoot(items: WorkItem[], opts: { pmemBytes: number; scratchBytes?: number; template?: Filesystem | undefined; moduleFs?: readonly Filesystem[] }): BootPlan {
  const steps: BootStep[] = [];
  const groups: string[] = [];
  const byVariant = new Map<string, WorkItem[]>();
  for (const it of items) {
    const k = variantName(it.variant);
    if (!byVariant.has(k)) byVariant.set(k, []);
    byVariant.get(k)?.push(it);
  }
  const needScratch = items.some((i) => i.scratch);
  let n = 0;
  const add = (s: Omit<BootStep, 'n' | 'env'> & { env?: Record<string, string> }): void => {
    steps.push({ ...s, env: s.env ?? {}, n: ++n });
  };
  // The agent inserts the first group's modules before the plan starts; another filesystem's (xfs:
  // ~4 s of insmod under TCG) only before the first group that uses it, so the first reproducer
  // does not wait for them.
  const atStart = new Set<Filesystem>([...(firstFilesystem(items) ? [firstFilesystem(items) as Filesystem] : []), ...(needScratch ? (['ext4'] as const) : [])]);
  const loaded = new Set<Filesystem>(atStart);
  let first = true;
  for (const [group, its] of byVariant) {
    const v = (its[0] as WorkItem).variant;
    groups.push(group);
    if (!loaded.has(v.fs) && opts.moduleFs?.includes(v.fs)) {
      loaded.add(v.fs);
      add({ kind: 'setup', label: `insmod ${v.fs}`, argv: ['sh', '-c', 'while read m; do insmod /lib/modules/$m || exit 1; done < "$1"', 'insmod', moduleListPath(v.fs)], timeoutS: SETUP_TIMEOUT_S, group, loads: v.fs });
    }
    const fromTemplate = first && opts.template === v.fs;
    if (first) {
      if (fromTemplate) add({ kind: 'setup', label: templateLabel(v.fs), argv: templateArgv(v.fs), timeoutS: SETUP_TIMEOUT_S, group });
      else add({ kind: 'setup', label: NAMESPACE_LABEL, argv: NAMESPACE_ARGV, timeoutS: SETUP_TIMEOUT_S, group });
      if (needScratch) {
        add({ kind: 'setup', label: 'mkfs scratch', argv: mkfsArgv('ext4', SCRATCH_DEV), timeoutS: SETUP_TIMEOUT_S, group });
        add({ kind: 'setup', label: 'mount scratch', argv: ['mount', '-t', 'ext4', SCRATCH_DEV, SCRATCH_MOUNT], timeoutS: 60, group });
      }
      first = false;
    }
    if (!fromTemplate) add({ kind: 'setup', label: `mkfs ${v.fs}`, argv: mkfsArgv(v.fs, PMEM_DEV), timeoutS: SETUP_TIMEOUT_S, group });
    add({ kind: 'setup', label: `mount ${v.fs} dax=${v.dax}`, argv: ['mount', '-t', v.fs, '-o', `dax=${v.dax}`, PMEM_DEV, DAX_MOUNT], timeoutS: 60, group });
    for (const it of its) {
      const bin = `/daxlab/bin/${it.binary}`;
      add({
        kind: 'repro',
        label: it.key,
        // $DAXLAB_* in the arguments are the agent's to expand (images/guest/agent.sh xarg).
        argv: it.binary.endsWith('.sh') ? ['sh', bin, ...it.args] : [bin, ...it.args],
        env: {
          DAXLAB_DIR: DAX_MOUNT,
          DAXLAB_FS: v.fs,
          DAXLAB_DAX: v.dax,
          DAXLAB_DEV: PMEM_DEV,
          DAXLAB_SCRATCH: needScratch ? SCRATCH_MOUNT : '',
          DAXLAB_REP: String(it.rep),
        },
        timeoutS: it.timeoutS,
        group,
        item: it,
      });
    }
    add({ kind: 'cleanup', label: `umount ${v.fs}`, argv: ['umount', DAX_MOUNT], timeoutS: 60, group });
  }
  const iops = items.flatMap((i) => (i.scratchIops ? [i.scratchIops] : []));
  return {
    pmemBytes: opts.pmemBytes,
    startFs: [...atStart],
    ...(opts.template && opts.template === firstFilesystem(items) ? { template: opts.template } : {}),
    scratchBytes: needScratch ? (opts.scratchBytes ?? 1024 ** 3) : 0,
    scratchIops: iops.length ? Math.min(...iops) : undefined,
    steps,
    groups,
  };
}

/** Quote for the guest's busybox sh. Only the guest shell ever sees this script. */
export function shQuote(s: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The plan as the agent runs it (/daxlab/plan.sh, sourced by images/guest/agent.sh). */
export function agentScript(plan: BootPlan): string {
  const lines = ['# generated by daxlab; sourced by the guest agent'];
  let group = '';
  for (const s of plan.steps) {
    if (s.group !== group) {
      group = s.group;
      lines.push(`group ${shQuote(group)}`);
    }
    const env = Object.entries(s.env).map(([k, v]) => `${k}=${v}`);
    const argv = env.length ? ['env', ...env, ...s.argv] : s.argv;
    // soak: a reproducer whose timeout is its normal end (verdict_from: console), stopped
    // without the SysRq task dumps a timeout otherwise gets.
    const kind = s.kind === 'repro' && s.item?.verdictFrom === 'console' ? 'soak' : s.kind;
    lines.push(`name ${shQuote(s.item?.key ?? s.label)}`);
    if (s.item?.monitors) lines.push(`monitors ${agentWords(s.item.monitors).map(shQuote).join(' ')}`);
    lines.push(`run_step ${s.n} ${kind} ${Math.ceil(s.timeoutS)} ${argv.map(shQuote).join(' ')}`);
  }
  return lines.join('\n') + '\n';
}
