// Findings of one boot as the runner needs them: fed console lines while the guest runs, asked
// per step when the step ends. A report can still be printing when the agent says the step
// ended (the console and the agent channel are separate serial ports), so findingsFor() also
// answers again at the end of the boot with everything attributed to that step.
import { ConsoleParser, type Finding } from './parser.ts';

/**
 * A guest that prints the same report in a loop must not grow host memory without bound: past
 * this many occurrences of one title, findings keep their kind, title, step and line but not
 * their text and frames (counts stay exact).
 */
export const FULL_FINDINGS_PER_TITLE = 10;

export class BootFindings {
  private readonly parser: ConsoleParser;
  private readonly perTitle = new Map<string, number>();
  readonly all: Finding[] = [];
  constructor(opts?: { maxReportLines?: number }) {
    this.parser = new ConsoleParser(opts);
  }
  push(line: string): Finding[] {
    const fs = this.parser.push(line);
    return fs.length ? this.keep(fs) : fs;
  }
  end(): Finding[] {
    return this.keep(this.parser.end());
  }
  findingsFor(step: number): Finding[] {
    return this.all.filter((f) => f.step === step);
  }
  /** Reports outside any step (boot, setup between steps, shutdown). */
  outsideSteps(): Finding[] {
    return this.all.filter((f) => f.step === undefined);
  }
  private keep(fs: Finding[]): Finding[] {
    const out = fs.map((f) => {
      const n = (this.perTitle.get(f.title) ?? 0) + 1;
      this.perTitle.set(f.title, n);
      return n > FULL_FINDINGS_PER_TITLE ? { ...f, text: '', frames: [] } : f;
    });
    this.all.push(...out);
    return out;
  }
}
