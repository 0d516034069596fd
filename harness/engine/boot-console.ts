// Console of one boot as the runner sees it: splat findings per step (console/boot-findings.ts),
// emulator artifacts kept apart from them (console/artifacts.ts), and the last panic line, for
// crash reasons.
import { artifactRule } from '../console/artifacts.ts';
import { BootFindings } from '../console/boot-findings.ts';
import type { Finding } from '../console/parser.ts';

export interface BootArtifact {
  rule: string;
  why: string;
  title: string;
  line: number;
  /** Step the report came in; undefined: outside any step. */
  step: number | undefined;
  /** First step whose results the artifact makes untrustworthy (it and every later one). */
  fromStep: number;
}

const STEP_BEGIN = /^daxlab: step (\d+) begin\b/;

export class BootConsole {
  lastPanic: string | undefined;
  readonly artifacts: BootArtifact[] = [];
  private readonly findings = new BootFindings();
  private lastBegun = 0;
  constructor(private readonly accel: string) {}

  /** Feed one console line; returns artifacts that this line completed. */
  push(line: string): BootArtifact[] {
    const m = /Kernel panic - not syncing: (.*)$/.exec(line);
    if (m) this.lastPanic = (m[1] ?? '').replace(/[\x00-\x1f\x7f]/g, '').slice(0, 200);
    const b = STEP_BEGIN.exec(line.replace(/^\[[ \d.]+\] /, ''));
    if (b) this.lastBegun = Number(b[1]);
    return this.classify(this.findings.push(line));
  }
  end(): BootArtifact[] {
    return this.classify(this.findings.end());
  }
  findingsFor(step: number): Finding[] {
    return this.all.filter((f) => f.step === step);
  }
  /** Kernel findings, emulator artifacts excluded. */
  get all(): Finding[] {
    return this.findings.all.filter((f) => !this.artifacts.some((a) => a.line === f.line));
  }
  /** The first step an artifact taints, if any. */
  get taintedFrom(): number | undefined {
    return this.artifacts.length ? Math.min(...this.artifacts.map((a) => a.fromStep)) : undefined;
  }
  private classify(fs: Finding[]): BootArtifact[] {
    const out: BootArtifact[] = [];
    for (const f of fs) {
      const r = artifactRule(f, this.accel);
      if (!r) continue;
      // Outside a step, the kernel is suspect from the next step on (an oops can leave locks held).
      out.push({ rule: r.id, why: r.why, title: f.title, line: f.line, step: f.step, fromStep: f.step ?? this.lastBegun + 1 });
    }
    this.artifacts.push(...out);
    return out;
  }
}
