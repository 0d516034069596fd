// The scenario file format. Strict: an unknown key is an error, so a typo never silently
// falls back to a default.
import { z } from 'zod';
import type { SourceLocation } from '../util/errors.ts';
import { monitorsField, type MonitorRequest } from '../monitor/spec.ts';
import { closest } from '../util/suggest.ts';
import { parseDuration, parseSize } from './units.ts';

export const FILESYSTEMS = ['ext4', 'xfs'] as const;
export const DAX_MODES = ['always', 'never', 'inode'] as const;
export type Filesystem = (typeof FILESYSTEMS)[number];
export type DaxMode = (typeof DAX_MODES)[number];
export const BETTER = ['lower', 'higher', 'none'] as const;
export const BOOT_MODES = ['shared', 'per-variant'] as const;
/** What decides a step: the exit status, the kernel console, or both (the default). */
export const VERDICT_FROM = ['exit', 'console', 'both'] as const;
export type VerdictFrom = (typeof VERDICT_FROM)[number];
/** The variables the agent sets for a reproducer and expands in its arguments. */
export const REPRO_VARIABLES = ['DAXLAB_DIR', 'DAXLAB_FS', 'DAXLAB_DAX', 'DAXLAB_DEV', 'DAXLAB_SCRATCH', 'DAXLAB_REP'] as const;

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

const didYouMeanVar = (n: string): string => {
  const c = closest(n, REPRO_VARIABLES);
  return c ? ` (did you mean $${c}?)` : '';
};

/** One reproducer argument: `$DAXLAB_NAME`/`${DAXLAB_NAME}` must name a variable the agent expands. */
const reproArg = z.union([z.string(), z.number()]).transform(String).superRefine((v, ctx) => {
  if (/[\x00-\x1f\x7f]/.test(v)) ctx.addIssue({ code: 'custom', message: `control characters (a newline, a tab) are not allowed in an argument` });
  for (const m of v.matchAll(/\$\{?(DAXLAB_[A-Za-z0-9_]*)/g)) {
    const n = m[1] ?? '';
    if (!(REPRO_VARIABLES as readonly string[]).includes(n)) ctx.addIssue({ code: 'custom', message: `unknown variable $${n}${didYouMeanVar(n)}; the agent expands ${REPRO_VARIABLES.map((x) => `$${x}`).join(', ')}` });
  }
});

/** Flags that would make gcc produce something other than the reproducer's binary. */
const NOT_A_BINARY = /^-(c|S|E|M|MM|o.*|shared|fsyntax-only)$/;

const cflag = z.string().superRefine((v, ctx) => {
  if (/[\x00-\x1f\x7f]/.test(v)) ctx.addIssue({ code: 'custom', message: `control characters are not allowed in a flag` });
  else if (!v.startsWith('-')) ctx.addIssue({ code: 'custom', message: `expected a compiler flag starting with '-', got '${v}' (one flag per list entry; sources go in reproducer:)` });
  else if (NOT_A_BINARY.test(v)) ctx.addIssue({ code: 'custom', message: `'${v}' would not produce the reproducer binary; daxlab gives -o and links statically itself` });
});

const lib = z.string().superRefine((v, ctx) => {
  if (!/^-l[A-Za-z0-9_+.-]+$/.test(v)) ctx.addIssue({ code: 'custom', message: `expected -lNAME (e.g. -laio, -luring), got '${v.replace(/[\x00-\x1f\x7f]/g, '?')}'` });
});

export const scenarioSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, . _ - only').optional(),
    title: z.string().optional(),
    description: z.string().optional(),
    reproducer: z.string().min(1),
    args: z.array(reproArg).default([]),
    /** Extra gcc flags for a brought C reproducer (after daxlab's: -O0, -Wno-..., -DFOO). */
    cflags: z.array(cflag).default([]),
    /** Libraries to link statically (-laio, -luring), after the source. */
    libs: z.array(lib).default([]),
    /** The exit status that means pass (default 0); 77 is still a skip. */
    expect_exit: z.number().int().min(0).max(255).optional(),
    /** exit: the exit status alone; console: kernel reports alone (exit and timeout ignored); both. */
    verdict_from: z.enum(VERDICT_FROM).optional(),
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
    /** Kernel-side monitors sampled around each run (harness/monitor/spec.ts): names, or name -> words. */
    monitors: monitorsField.optional(),
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
  /** A shell script (run by the guest's sh) instead of a C file; undefined: C. */
  reproducerKind?: 'c' | 'sh' | undefined;
  /** A catalog entry (scenarios/<id>/): compiled -Werror. Undefined: decided by the path. */
  catalog?: boolean | undefined;
  /** Extra gcc flags and libraries (brought C reproducers). */
  cflags?: string[] | undefined;
  libs?: string[] | undefined;
  /** Where `libs:` was written, for a library that is not installed. */
  libsAt?: SourceLocation | undefined;
  /** The exit status that passes (default 0). */
  expectExit?: number | undefined;
  /** Undefined: both. */
  verdictFrom?: VerdictFrom | undefined;
  /** Values taken by default rather than written anywhere (a bare `daxlab run FILE.c`): printed at the start. */
  defaulted?: boolean | undefined;
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
  /** Kernel-side monitors each run of the scenario samples (scenario field, then --monitor). */
  monitors?: MonitorRequest | undefined;
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
