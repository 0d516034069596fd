// Findings of one boot as the runner needs them: fed console lines while the guest runs, asked
// per step when the step ends. A report can still be printing when the agent says the step
// ended (the console and the agent channel are separate serial ports), so findingsFor() also
// answers again at the end of the boot with everything attributed to that step.
import { ConsoleParser, type Finding } from './parser.ts';

export class BootFindings {
  private readonly parser: ConsoleParser;
  readonly all: Finding[] = [];
  constructor(opts?: { maxReportLines?: number }) {
    this.parser = new ConsoleParser(opts);
  }
  push(line: string): Finding[] {
    const fs = this.parser.push(line);
    if (fs.length) this.all.push(...fs);
    return fs;
  }
  end(): Finding[] {
    const fs = this.parser.end();
    if (fs.length) this.all.push(...fs);
    return fs;
  }
  findingsFor(step: number): Finding[] {
    return this.all.filter((f) => f.step === step);
  }
  /** Reports outside any step (boot, setup between steps, shutdown). */
  outsideSteps(): Finding[] {
    return this.all.filter((f) => f.step === undefined);
  }
}
