// Console of one boot as the runner sees it: splat findings per step (console/boot-findings.ts)
// and the last panic line, for crash reasons.
import { BootFindings } from '../console/boot-findings.ts';
import type { Finding } from '../console/parser.ts';

export class BootConsole {
  lastPanic: string | undefined;
  private readonly findings = new BootFindings();
  push(line: string): void {
    const m = /Kernel panic - not syncing: (.*)$/.exec(line);
    if (m) this.lastPanic = (m[1] ?? '').replace(/[\x00-\x1f\x7f]/g, '').slice(0, 200);
    this.findings.push(line);
  }
  end(): void {
    this.findings.end();
  }
  findingsFor(step: number): Finding[] {
    return this.findings.findingsFor(step);
  }
  get all(): Finding[] {
    return this.findings.all;
  }
}
