// The shape of results/<run-id>/summary.json, a view of events.jsonl (results/view.ts).
// Versioned so a results database and A/B tooling can read old runs. Schema 2: several kernels
// per run; work-item keys are `KERNEL/scenario:fs:dax:rN`.
import type { Variant } from '../plan/plan.ts';
import type { ScenarioOverrides } from '../scenario/overrides.ts';
import type { KernelRecord } from './events.ts';
import type { BootPhases } from './boot-phases.ts';

export type { KernelRecord } from './events.ts';
export const SUMMARY_SCHEMA = 2;

export type StepStatus = 'pass' | 'fail' | 'skip' | 'error' | 'timeout' | 'hung' | 'crashed';

export interface StepResult {
  key: string;
  /** Name of the kernel (RunSummary.kernels) the step ran on. */
  kernel: string;
  scenario: string;
  variant: Variant;
  rep: number;
  /** A/B runs: the design's boot slot (harness/ab/design.ts); rep 0 there is the discarded warm-up. */
  slot?: number;
  boot: number;
  status: StepStatus;
  reason: string;
  exitCode: number | null;
  durationMs: number;
  samples: Record<string, { unit: string; values: number[] }>;
  metrics: Record<string, { unit: string; value: number }>;
  infos: string[];
  output: string[];
  stderr: string[];
  /** Console findings attributed to this step (titles are stable across runs; text is in summary.findings). */
  findings: StepFinding[];
  /** Monitors asked for that the kernel could not give (harness/monitor/); their metrics are absent. */
  skippedMonitors?: { monitor: string; reason: string }[];
  finishedAt: string;
  /** Verdict changes after the step ended (a console report that finished printing later). */
  revisions?: { status: StepStatus; reason: string; cause: string }[];
}

export interface StepFinding {
  kind: string;
  title: string;
  corrupted: boolean;
  /** Line in the boot's console log where the report starts. */
  line: number;
  allowed: boolean;
}

/** One distinct bug of the run (by title), with where it showed up and its first full report. */
export interface RunFinding {
  title: string;
  kind: string;
  count: number;
  /** Work item keys, or `boot N: <setup step>` for reports outside reproducer steps. */
  where: string[];
  boot: number;
  consoleLog: string;
  line: number;
  corrupted: boolean;
  text: string;
  /** Printed frames, with file:line and inlined callees when the kernel had debug info (console/symbolizer.ts). */
  frames: { fn: string; offset?: string | undefined; file?: string | undefined; line?: number | undefined; inlined?: boolean | undefined }[];
}

export interface SetupResult {
  n: number;
  label: string;
  group: string;
  status: 'done' | 'timeout' | 'hung' | 'skipped';
  exitCode: number | null;
  ms: number;
  output: string[];
}

export interface PmemSetup {
  /** `guest`: ndctl create-namespace and mkfs in the guest; `template`: a pmem template copied in. */
  how: 'guest' | 'template';
  /** Template cache key and what it holds (engine/pmem-template.ts). */
  template?: string | undefined;
  fs?: string | undefined;
  made?: string | undefined;
}

export interface BootRecord {
  index: number;
  kernel: string;
  argv: string[];
  end: string;
  qemuExitCode: number | null;
  qemuSignal: string | null;
  qemuStderr: string;
  timings: { spawnMs?: number; firstConsoleMs?: number; helloMs?: number; readyMs?: number; firstStepMs?: number; firstReproMs?: number; byeMs?: number; exitMs: number };
  /** Where the boot's time went (results/boot-phases.ts); absent in older runs. */
  phases?: BootPhases | undefined;
  consoleLog: string;
  agentLog: string;
  guestRelease?: string;
  setup: SetupResult[];
  /** How the NVDIMM's namespace and first filesystem were made; absent in older runs. */
  pmem?: PmemSetup | undefined;
  warnings: string[];
  items: string[];
  /** Emulator artifacts (console/artifacts.ts): labelled, never findings; their work is retried. */
  artifacts?: { rule: string; why: string; title: string; line: number; step: number | undefined; fromStep: number }[];
}

/** The nightly plan a run belongs to (nightly/plan.ts), and which shard of it the run is. */
export interface RunPlan {
  name: string;
  hash: string;
  boots: number;
  shard?: { index: number; count: number } | undefined;
}

/** A one-shot report (results/once.ts) and the later steps of its boot that could not show it again. */
export interface OneShotNote {
  boot: number;
  title: string;
  kind: string;
  /** The work item it fired in. */
  where: string;
  why: string;
  later: string[];
}

/** A boot or some of its steps run again, and why. */
export interface RetryRecord {
  boot: number;
  scope: 'boot' | 'step';
  reason: string;
  items: string[];
}

export type RunStatus = 'running' | 'completed' | 'interrupted' | 'failed';

export interface RunSummary {
  schema: number;
  runId: string;
  status: RunStatus;
  statusReason?: string;
  startedAt: string;
  finishedAt?: string;
  command: string[];
  host: { hostname: string; release: string; cpus: number; memBytes: number; node: string; qemu: string };
  /** Every kernel of the run, with its guest image and accelerator (tcgThread only under TCG). */
  kernels: KernelRecord[];
  scenarios: { id: string; title: string; file: string; reproducer: string; allowFindings: string[] }[];
  guest: { cpus: number; memBytes: number; pmemBytes: number; append?: string[] | undefined; clock?: 'host' | 'icount' | undefined };
  /** Command-line changes to every scenario (--fs, --dax, --repetitions, --timeout, -- ARGS, --boot-per-variant). */
  overrides?: ScenarioOverrides;
  plan?: RunPlan;
  /** Guests that were allowed to run at once. */
  concurrency: number;
  /** Wall time of the preparation phases, ms. */
  phases: Record<string, number>;
  boots: BootRecord[];
  steps: StepResult[];
  /** Console findings of the whole run, deduplicated by title. */
  findings: RunFinding[];
  /** Work items not run yet (an interrupted run resumes from these). */
  pending: string[];
  retries?: RetryRecord[];
  /** One-shot reports in boots shared by several steps (results/once.ts). */
  oneShot?: OneShotNote[];
}
