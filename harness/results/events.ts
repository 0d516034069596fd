// The run's event log (events.jsonl): one self-describing, versioned JSON object a line, appended
// as things happen. It is the only record a run writes while it runs; summary.json and
// report.html are views rebuilt from it (results/view.ts). Schemas are zod so a reader says
// which line is corrupt instead of trusting it. Pure.
import { z } from 'zod';
import { DAX_MODES, FILESYSTEMS } from '../scenario/schema.ts';

export const EVENT_VERSION = 1;

const num = z.number();
const str = z.string();
const variant = z.object({ fs: z.enum(FILESYSTEMS), dax: z.enum(DAX_MODES) });
const status = z.enum(['pass', 'fail', 'skip', 'error', 'timeout', 'hung', 'crashed']);
// file:line when the kernel printed it or the run decoded it (console/symbolizer.ts); inlined: a
// function inlined at the next frame's address, which addr2line -i names.
const frame = z.object({ fn: str, offset: str.optional(), file: str.optional(), line: num.optional(), inlined: z.boolean().optional() });
const stepFinding = z.object({ kind: str, title: str, corrupted: z.boolean(), line: num, allowed: z.boolean() });
const timings = z.object({ spawnMs: num.optional(), firstConsoleMs: num.optional(), helloMs: num.optional(), readyMs: num.optional(), firstStepMs: num.optional(), firstReproMs: num.optional(), byeMs: num.optional(), exitMs: num });

const bootPhases = z.object({
  clock: z.enum(['host', 'icount']),
  firstLine: str.optional(),
  phases: z.array(z.object({ name: str, ms: num.optional(), guestMs: num.optional() })),
  toFirstReproMs: num.optional(),
  furtherSetups: z.array(z.object({ group: str, ms: num, insmodMs: num.optional() })),
  spawnMs: num,
  host: z.object({ firstByteMs: num.optional(), console: z.record(str, num), agent: z.record(str, num) }).optional(),
});

/** How a boot's NVDIMM got its namespace and first filesystem (results/types.ts PmemSetup). */
const PmemSetupSchema = z.object({ how: z.enum(['guest', 'template']), template: str.optional(), fs: str.optional(), made: str.optional() });
const base = { v: z.literal(EVENT_VERSION), at: str };

export const KernelRecordSchema = z.object({
  /** Name used in work-item keys (`NAME/scenario:fs:dax:rN`). */
  name: str,
  spec: str,
  release: str,
  banner: str,
  identity: z.record(str, str),
  image: z.object({ key: str, bytes: num, modules: z.array(str), hit: z.boolean() }),
  accel: z.object({ accel: str, reason: str, probeMs: num.optional(), cached: z.boolean(), tcgThread: str.optional() }),
  /** How guests entered the kernel: its vmlinux through PVH, or the bzImage (with why, when PVH was asked for). Absent in older runs. */
  boot: z.object({ entry: z.enum(['pvh', 'bzimage']), why: str.optional() }).optional(),
});

/** slot: the A/B design's boot slot an item belongs to (harness/ab/design.ts); items of one slot share a boot. */
export const ItemRecordSchema = z.object({ key: str, kernel: str, scenario: str, variant, rep: num, slot: num.optional() });

const OverridesSchema = z.object({
  filesystems: z.array(z.enum(FILESYSTEMS)).optional(),
  daxModes: z.array(z.enum(DAX_MODES)).optional(),
  repetitions: num.optional(),
  timeoutS: num.optional(),
  pmemBytes: num.optional(),
  args: z.array(str).optional(),
  bootPerVariant: z.boolean().optional(),
  monitors: z.record(z.string(), z.array(str)).optional(),
});

export const RunEventSchema = z.discriminatedUnion('type', [
  z.object({
    ...base,
    type: z.literal('run-started'),
    runId: str,
    command: z.array(str),
    host: z.object({ hostname: str, release: str, cpus: num, memBytes: num, node: str, qemu: str }),
    scenarios: z.array(z.object({ id: str, title: str, file: str, reproducer: str, allowFindings: z.array(str) })),
    guest: z.object({ cpus: num, memBytes: num, pmemBytes: num, append: z.array(str).optional(), clock: z.enum(['host', 'icount']).optional() }),
    /** Guests allowed at once; timing comparisons want 1. */
    concurrency: num,
    /** Command-line changes to every scenario (scenario/overrides.ts). */
    overrides: OverridesSchema.optional(),
    /** The nightly plan and shard (nightly/plan.ts, nightly/shard.ts). */
    plan: z.object({ name: str, hash: str, boots: num, shard: z.object({ index: num, count: num }).optional() }).optional(),
  }),
  z.object({ ...base, type: z.literal('run-resumed'), command: z.array(str) }),
  z.object({ ...base, type: z.literal('kernel-ready'), kernel: KernelRecordSchema, phases: z.record(str, num) }),
  z.object({ ...base, type: z.literal('items-planned'), items: z.array(ItemRecordSchema) }),
  z.object({ ...base, type: z.literal('boot-started'), boot: num, kernel: str, items: z.array(str), argv: z.array(str), consoleLog: str, agentLog: str, pmem: PmemSetupSchema.optional() }),
  z.object({ ...base, type: z.literal('guest-up'), boot: num, release: str, ms: num }),
  z.object({ ...base, type: z.literal('setup-ended'), boot: num, n: num, label: str, group: str, status: z.enum(['done', 'timeout', 'hung', 'skipped']), exitCode: num.nullable(), ms: num, output: z.array(str) }),
  z.object({ ...base, type: z.literal('step-began'), boot: num, key: str, n: num }),
  z.object({ ...base, type: z.literal('sample'), boot: num, key: str, name: str, value: num, unit: str }),
  z.object({ ...base, type: z.literal('metric'), boot: num, key: str, name: str, value: num, unit: str }),
  z.object({
    ...base,
    type: z.literal('step-ended'),
    boot: num,
    key: str,
    status,
    reason: str,
    exitCode: num.nullable(),
    durationMs: num,
    infos: z.array(str),
    output: z.array(str),
    stderr: z.array(str),
    findings: z.array(stepFinding),
    /** Monitors the step asked for that the kernel could not give (harness/monitor/), each said once. */
    skippedMonitors: z.array(z.object({ monitor: str, reason: str })).optional(),
  }),
  /** A late console report (or a crash) changed a step's verdict after its step-ended. */
  z.object({ ...base, type: z.literal('verdict-revised'), boot: num, key: str, status, reason: str, findings: z.array(stepFinding), cause: str }),
  /** A result taken back: its boot turned out untrustworthy (an emulator artifact); the item runs again. */
  z.object({ ...base, type: z.literal('step-discarded'), boot: num, key: str, reason: str }),
  z.object({
    ...base,
    type: z.literal('finding'),
    boot: num,
    where: str,
    title: str,
    kind: str,
    consoleLog: str,
    line: num,
    corrupted: z.boolean(),
    text: str,
    frames: z.array(frame),
  }),
  z.object({ ...base, type: z.literal('artifact'), boot: num, rule: str, why: str, title: str, line: num, step: num.optional(), fromStep: num }),
  z.object({ ...base, type: z.literal('retry'), boot: num, scope: z.enum(['boot', 'step']), reason: str, items: z.array(str) }),
  z.object({
    ...base,
    type: z.literal('boot-ended'),
    boot: num,
    end: str,
    qemuExitCode: num.nullable(),
    qemuSignal: str.nullable(),
    qemuStderr: str,
    timings,
    warnings: z.array(str),
    /** Where the boot's time went, QEMU start to the first reproducer (results/boot-phases.ts); absent in older logs. */
    phases: bootPhases.optional(),
  }),
  z.object({ ...base, type: z.literal('run-ended'), status: z.enum(['completed', 'interrupted', 'failed']), reason: str, phases: z.record(str, num) }),
]);

export type RunEvent = z.infer<typeof RunEventSchema>;
export type EventType = RunEvent['type'];
export type EventOf<T extends EventType> = Extract<RunEvent, { type: T }>;
/** What a producer writes: the log adds the version and the time. */
export type NewEvent = RunEvent extends infer E ? (E extends RunEvent ? Omit<E, 'v' | 'at'> : never) : never;
export type KernelRecord = z.infer<typeof KernelRecordSchema>;
export type ItemRecord = z.infer<typeof ItemRecordSchema>;
