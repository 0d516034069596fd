// One item of `npm run bench` (bench/run.ts): a module under bench/items/ exporting a BenchItem,
// listed in bench/items/index.ts. An item measures one thing its own way and returns rows; the
// driver prints every item's rows in one table and, with --json, as one object.

export interface BenchOptions {
  /** --reps: repetitions, when given; else each item's own default. */
  reps: number | undefined;
  /** --kernel: the kernel spec items that boot use (default debian:6.12). */
  kernel: string;
  /** Progress for the terminal (stderr), never part of the results. */
  log: (line: string) => void;
}

export interface BenchRow {
  /** What was measured, e.g. `./daxlab --help` or `image cache check`. */
  metric: string;
  /** The headline number (a median when n > 1). */
  value: number;
  /** `/min`: a rate (steps per minute). */
  unit: 'ms' | 's' | 'x' | 'count' | '/min';
  /** How many measurements the value summarises. */
  n: number;
  min?: number;
  max?: number;
  /** CPU time (user + system) of the measured process(es), median, in ms. */
  cpuMs?: number;
  note?: string;
  /** Also put this row's value at the top level of the --json output under this key (e.g. ratio). */
  top?: string;
}

export interface BenchItem {
  /** Short name for --only, e.g. `startup` (the letter is in `title`). */
  name: string;
  title: string;
  /** Runs only when asked for (--builds, or by name in --only): it takes minutes. */
  optIn?: boolean;
  run(o: BenchOptions): Promise<BenchRow[]>;
}
