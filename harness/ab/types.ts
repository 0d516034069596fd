// The shape of ab.json: one A/B comparison (and its bisection) of a patched kernel against its
// base. Versioned; the report page, the terminal table and (later) nightly history read it.
// Values are per boot: the boot is the statistical unit (harness/ab/collect.ts).

export const AB_SCHEMA = 1;

/** Which way is better for a metric, from the scenario's metric metadata. */
export type Better = 'lower' | 'higher' | 'none';

/**
 * regression / improvement: the change is significant (p < alpha) and its whole confidence
 * interval lies beyond the threshold in that direction. no change: the whole interval lies within
 * ±threshold. changed: as regression/improvement, for a metric without a better direction.
 * inconclusive: anything else (more boots may settle it).
 */
export type MetricVerdict = 'regression' | 'improvement' | 'no change' | 'changed' | 'inconclusive';

export interface Describe {
  n: number;
  min: number;
  median: number;
  mean: number;
  stddev: number;
  p90: number;
  p99: number;
  max: number;
}

export interface MetricComparison {
  /** `scenario:fs:dax:metric` (sample metrics: the per-repetition median of the samples). */
  key: string;
  scenario: string;
  variant: string;
  metric: string;
  unit: string;
  better: Better;
  /** Per-boot values of A and B (median over the boot's measured repetitions), in run order. */
  a: Describe;
  b: Describe;
  /** 100 * (median(B) / median(A) - 1); null when median(A) is 0. */
  changePct: number | null;
  /** median(B) / median(A) and its seeded percentile-bootstrap interval; null when undefined. */
  ratio: number | null;
  ci: [number, number] | null;
  /** Two-sided Mann-Whitney U p-value (exact for small samples, normal with tie correction beyond). */
  p: number;
  /** p after Holm's adjustment over the comparison's directed metrics (the one the verdict uses). */
  pAdjusted: number;
  u: number;
  pMethod: 'exact' | 'normal';
  /** Hodges-Lehmann estimate of the shift B - A, in the metric's unit. */
  hl: number;
  verdict: MetricVerdict;
}

export interface AbSettings {
  threshold: number;
  alpha: number;
  confidence: number;
  resamples: number;
  seed: number;
}

/** One boot's value of a metric: the median of its measured repetitions (warm-up excluded). */
export interface BootValue {
  side: 'A' | 'B';
  boot: number;
  slot: number;
  value: number;
  /** The per-repetition values it summarises, in repetition order. */
  reps: number[];
}

export interface AbMetric extends MetricComparison {
  /** Per-boot values of both sides in run order (for the drift plot and for re-analysis). */
  boots: BootValue[];
}

export interface AbKernel {
  name: string;
  spec: string;
  release: string;
  identity: Record<string, string>;
}

/** A console finding title seen on B's boots and never on A's in the same comparison. */
export interface NewFinding {
  title: string;
  kind: string;
  where: string[];
}

export interface AbComparison {
  /** `main`, or `k3` for the bisection step with the first 3 patches of the series. */
  id: string;
  a: AbKernel;
  b: AbKernel;
  boots: { a: number; b: number };
  slots: { slot: number; side: 'A' | 'B'; boots: number[] }[];
  metrics: AbMetric[];
  newFindings: NewFinding[];
  /** Items that passed on every A boot and did not pass on some B boot (scenario:fs:dax). */
  newFailures: { item: string; statuses: string[] }[];
  /** What limits the comparison's meaning, in words (e.g. lockdep switched itself off on B). */
  caveats: string[];
  /** Measured steps left out of the statistics (not pass), per side. */
  excluded: { a: number; b: number };
  /** regression: some metric regressed, or a new finding or failure on B. */
  outcome: 'regression' | 'no regression' | 'inconclusive';
  wallMs: number;
}

export interface SeriesPatch {
  /** 1-based position in the series. */
  index: number;
  subject: string;
  file: string;
}

export type BisectStepOutcome = 'bad' | 'good' | 'inconclusive' | 'build-failed' | 'apply-failed';

export interface Bisection {
  /** What was bisected: metric keys that regressed and/or finding titles new on the patched side. */
  targets: { metrics: string[]; findings: string[] };
  steps: { k: number; comparison: string; outcome: BisectStepOutcome; detail: string }[];
  status: 'found' | 'inconclusive' | 'failed';
  /** The first patch that carries the regression (status found). */
  culprit?: SeriesPatch & { comparison: string };
  /** Last known good and first known bad prefix length (0 = the base). */
  range: { good: number; bad: number };
  reason: string;
}

export interface AbReport {
  schema: typeof AB_SCHEMA;
  runId: string;
  createdAt: string;
  command: string[];
  settings: AbSettings & { bootsPerSide: number; repetitions: Record<string, number>; warmup: 1; budgetMs: number | null; design: 'ABBA/BAAB blocks, seeded' };
  /** clock: the guests' clock (qemu/args.ts GuestClock): icount under TCG unless --clock host. */
  accel: { accel: string; tcgThread?: string | undefined; clock: 'host' | 'icount' };
  guest: { cpus: number; memBytes: number };
  series: SeriesPatch[];
  comparisons: AbComparison[];
  bisection?: Bisection;
  exitCode: 0 | 1;
  /** One line: what the comparison concluded. */
  verdict: string;
}
