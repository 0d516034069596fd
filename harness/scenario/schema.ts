// The scenario file format. Strict: an unknown key is an error, so a typo never silently
// falls back to a default.
import { z } from 'zod';
import { parseDuration, parseSize } from './units.ts';

export const FILESYSTEMS = ['ext4', 'xfs'] as const;
export const DAX_MODES = ['always', 'never', 'inode'] as const;
export type Filesystem = (typeof FILESYSTEMS)[number];
export type DaxMode = (typeof DAX_MODES)[number];
export const BETTER = ['lower', 'higher', 'none'] as const;
export const BOOT_MODES = ['shared', 'per-variant'] as const;

/** A scalar or a list in YAML; always a non-empty list after parsing. */
const oneOrMany = <T extends z.ZodType>(t: T) => z.preprocess((v) => (v === undefined || Array.isArray(v) ? v : [v]), z.array(t).min(1));

const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = parseSize(v);
  if (n === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a size: '${v}' (use e.g. 512M, 1G)` });
    return z.NEVER;
  }
  return n;
});

/** `90`, `90s`, `2m` in YAML -> seconds; shared by every YAML input that takes a duration. */
export const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = parseDuration(v);
  if (n === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a duration: '${v}' (use seconds or e.g. 90s, 2m)` });
    return z.NEVER;
  }
  return n;
});

export const scenarioSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, . _ - only').optional(),
    title: z.string().optional(),
    description: z.string().optional(),
    reproducer: z.string().min(1),
    args: z.array(z.union([z.string(), z.number()]).transform(String)).default([]),
    filesystem: oneOrMany(z.enum(FILESYSTEMS)).default(['ext4']),
    dax: oneOrMany(z.enum(DAX_MODES)).default(['always']),
    pmem: size.default(1024 ** 3),
    scratch: z.boolean().default(false),
    /** Throttle the scratch disk to this many I/O operations per second (QEMU throttling.iops-total). */
    scratch_iops: z.number().int().min(1).max(1000000).optional(),
    repetitions: z.number().int().min(1).max(10000).default(1),
    timeout: duration.default(120),
    default: z.boolean().default(false),
    /** Destroys or reconfigures the guest's devices (e.g. tears the namespace down): each of its runs gets a boot of its own, after the others. */
    own_boot: z.boolean().default(false),
    /**
     * shared: all variants in one boot (fast). per-variant: each filesystem/DAX variant in a boot of
     * its own, for reports a kernel prints once per boot (lockdep, WARN_ON_ONCE).
     */
    boot: z.enum(BOOT_MODES).default('shared'),
    // Catalog metadata: what the entry checks and what a correct kernel does.
    checks: z.string().optional(),
    references: z.array(z.string()).default([]),
    /** Kernel features needed; an entry whose features are absent is skipped, not failed. */
    requires: z.array(z.string()).default([]),
    /** Expected outcome on a correct kernel, in words. */
    expect: z.string().optional(),
    /** How the reproducer decides pass / fail / skip / error, in words. */
    verdict: z.string().optional(),
    /**
     * Metrics the reproducer emits: name -> meaning, or {description, better} where better says
     * which way is good for A/B verdicts (lower|higher|none; unset: lower for time units, else none).
     */
    metrics: z.record(z.string(), z.union([z.string(), z.object({ description: z.string(), better: z.enum(BETTER) }).strict()])).default({}),
    /** Console finding kinds or titles that do not fail this scenario (e.g. an expected WARN). */
    allow_findings: z.array(z.string()).default([]),
  })
  .strict();

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type ScenarioFields = z.output<typeof scenarioSchema>;

/** A loaded scenario: fields normalised, paths absolute, origin kept for error messages. */
export interface Scenario {
  id: string;
  title: string;
  description: string;
  file: string;
  reproducerSource: string;
  args: string[];
  filesystems: Filesystem[];
  daxModes: DaxMode[];
  pmemBytes: number;
  scratch: boolean;
  /** I/O operations per second for the scratch disk; undefined means unthrottled. */
  scratchIops: number | undefined;
  repetitions: number;
  timeoutS: number;
  isDefault: boolean;
  /** Run in a boot of its own, after the others (scenario field own_boot). */
  ownBoot?: boolean;
  /** Each filesystem/DAX variant in a boot of its own (scenario field boot: per-variant). */
  bootPerVariant?: boolean;
  checks: string;
  references: string[];
  requires: string[];
  expect: string;
  verdictRules: string;
  metrics: Record<string, string>;
  /** Declared direction per metric (A/B verdicts); metrics not named here are inferred from their unit. */
  metricBetter: Record<string, (typeof BETTER)[number]>;
  allowFindings: string[];
}

/** Limits of the emulated NVDIMM: below 16 MiB fsdax has no room, and the file is a host file. */
export const PMEM_MIN = 64 * 1024 ** 2;
export const PMEM_MAX = 64 * 1024 ** 3;
/** fsdax namespaces are aligned to 2 MiB. */
export const PMEM_ALIGN = 2 * 1024 ** 2;

export const pmemInRange = (bytes: number): boolean => bytes >= PMEM_MIN && bytes <= PMEM_MAX;
export const pmemAligned = (bytes: number): boolean => bytes % PMEM_ALIGN === 0;

/** mkfs.xfs refuses filesystems under 300 MB; an fsdax namespace on 512M of pmem is above it. */
export const XFS_MIN_PMEM = 512 * 1024 ** 2;

/** Why `pmemBytes` cannot hold the filesystems, or undefined when it can. */
export function pmemTooSmall(pmemBytes: number, filesystems: readonly Filesystem[]): string | undefined {
  return filesystems.includes('xfs') && pmemBytes < XFS_MIN_PMEM ? `too small for xfs (mkfs.xfs refuses filesystems under 300 MB; use 512M or more)` : undefined;
}
