// Where a boot's time goes, QEMU start to the first reproducer (issue 12 (b)). Pure: console
// lines and agent events, each with the host time it arrived (ms since the boot's clock start),
// plus QEMU's spawn time, in; phases out.
//
// Boundaries, in order, and the clock each is read on:
//   spawn      host: QEMU spawned.
//   setup      host: first console byte, when the first console line is the kernel's real-mode
//              setup or decompressor text ("Probing EDD ..."); qboot and SeaBIOS print nothing on
//              ttyS0. A kernel that prints nothing before printk (no CONFIG_EDD): undefined.
//   printk0    printk time 0 placed on the host clock: min over console lines with a printk time
//              of (arrival - printk time) (a line never arrives before it was printed). Only with
//              the host guest clock; under icount the guest's clock is virtual: undefined.
//   init       host: arrival of "Run /init as init process".
//   hello      host: the agent's hello (agent start done).
//   ready      host: the agent's ready (modules inserted; undefined when no modules were loaded).
//   step N     host: the agent's begin of each setup step of the first filesystem setup.
//   repro      host: the agent's begin of the first reproducer step.
// A phase runs from its boundary to the next known one; a missing boundary merges two phases
// ("firmware + decompress"), it never gets an invented number. guestMs: the same span on the
// kernel's printk clock, where both ends have one.
import type { AgentEvent } from '../agent/protocol.ts';
import { splitLine } from '../console/line.ts';

export interface BootPhase {
  /** firmware, decompress, kernel, agent, modules, plan, a setup step's label, or several joined by " + ". */
  name: string;
  ms?: number | undefined;
  guestMs?: number | undefined;
}

export interface FurtherSetup {
  group: string;
  /** Begin of the step after the previous group's last reproducer (umount) to this group's first reproducer, less `insmodMs`. */
  ms: number;
  /** An `insmod` step for this group's filesystem in that span (plan.ts): module loading, not filesystem setup. */
  insmodMs?: number | undefined;
}

export interface BootPhases {
  clock: 'host' | 'icount';
  /** What the console printed first (truncated), undefined: nothing. */
  firstLine?: string | undefined;
  phases: BootPhase[];
  /** QEMU spawn to the first reproducer's begin, host ms. */
  toFirstReproMs?: number | undefined;
  furtherSetups: FurtherSetup[];
  /** Host ms since the boot's clock start the phases are anchored to. */
  spawnMs: number;
  /** The host arrival times the phases used, to replay them from the logs (test/boot-phases.test.ts):
   * console line number (1-based) -> ms, agent event ("hello", "begin 4") -> ms, first console byte. */
  host?: { firstByteMs?: number | undefined; console: Record<string, number>; agent: Record<string, number> } | undefined;
}

export interface StepInfo {
  n: number;
  kind: string;
  label: string;
  group: string;
  /** Set on an `insmod` step: the filesystem whose modules it inserts. */
  loads?: string | undefined;
}

const SETUP_TEXT = /^(Probing EDD|early console in (setup code|extract_kernel)|Decompressing Linux|Parsing ELF|Booting the kernel|No EFI environment)/;

/** Collects what the phases need while a boot runs (or from its logs read back). */
export class BootClock {
  private firstLine: string | undefined;
  private firstByteMs: number | undefined;
  private offset: number | undefined; // host ms of printk 0
  private initMs: number | undefined;
  private initGuest: number | undefined;
  private agent = new Map<string, number>();
  private guestMark = new Map<string, number>();
  private lines = 0;
  private offsetLine: [number, number] | undefined;
  private initLine: [number, number] | undefined;

  /** Console line `text` arrived (its end) at host `ms` (undefined: unknown). */
  console(text: string, ms: number | undefined): void {
    this.lines++;
    const t = text.replace(/\r$/, '');
    if (this.firstLine === undefined && t.trim()) {
      this.firstLine = t.slice(0, 120);
      this.firstByteMs = ms;
    }
    // The console parser's own split: a printk caller id (`[    T1]`) after the time is allowed.
    const l = splitLine(t);
    if (l.timeS === undefined) return;
    const guest = l.timeS * 1000;
    const body = l.text;
    if (ms !== undefined && guest > 0 && ms - guest < (this.offset ?? Infinity)) {
      this.offset = ms - guest;
      this.offsetLine = [this.lines, ms];
    }
    if (body.startsWith('Run /init as init process') && this.initGuest === undefined) {
      this.initMs = ms;
      if (ms !== undefined) this.initLine = [this.lines, ms];
      this.initGuest ??= guest;
    }
    const s = /^daxlab: step (\d+) begin\b/.exec(body);
    if (s) this.guestMark.set(`begin ${s[1]}`, guest);
    if (body === 'daxlab: agent up') this.guestMark.set('hello', guest);
  }

  agentEvent(ev: AgentEvent, ms: number): void {
    if (ev.event === 'hello' || ev.event === 'ready') this.agent.set(ev.event, ms);
    else if (ev.event === 'begin' || ev.event === 'end') this.agent.set(`${ev.event} ${ev.step}`, ms);
  }

  /** firstByteMs: host arrival of the console's first byte (better than its first line's end). */
  phases(o: { spawnMs: number; firstByteMs?: number | undefined; clock: 'host' | 'icount'; steps: readonly StepInfo[]; modules: number }): BootPhases {
    if (o.firstByteMs !== undefined) this.firstByteMs = o.firstByteMs;
    const b: { name: string; ms: number | undefined; guest: number | undefined }[] = [];
    const setupText = this.firstLine !== undefined && SETUP_TEXT.test(this.firstLine);
    b.push({ name: 'firmware', ms: setupText ? this.firstByteMs : undefined, guest: undefined });
    b.push({ name: 'decompress', ms: o.clock === 'host' && this.offset !== undefined ? this.offset : undefined, guest: 0 });
    b.push({ name: 'kernel', ms: this.initMs, guest: this.initGuest });
    b.push({ name: 'agent', ms: this.agent.get('hello'), guest: this.guestMark.get('hello') });
    b.push({ name: 'modules', ms: o.modules > 0 ? this.agent.get('ready') : undefined, guest: undefined });
    const first = o.steps.find((s) => s.kind === 'repro' && this.agent.has(`begin ${s.n}`));
    const firstGroup = o.steps[0]?.group;
    let prev = 'plan';
    for (const s of o.steps) {
      if (s.group !== firstGroup || s.kind === 'repro' || (first && s.n > first.n)) break;
      b.push({ name: prev, ms: this.agent.get(`begin ${s.n}`), guest: this.guestMark.get(`begin ${s.n}`) });
      prev = s.label;
    }
    const reproMs = first ? this.agent.get(`begin ${first.n}`) : undefined;
    b.push({ name: prev, ms: reproMs, guest: first ? this.guestMark.get(`begin ${first.n}`) : undefined });
    // b[i].name is the phase that ENDS at b[i].ms (the phase before boundary i).
    const phases: BootPhase[] = [];
    let from = o.spawnMs;
    let fromGuest: number | undefined;
    let pending: string[] = [];
    for (const x of b) {
      pending.push(x.name);
      if (x.ms === undefined) continue;
      const p: BootPhase = { name: pending.join(' + '), ms: Math.round(x.ms - from) };
      if (fromGuest !== undefined && x.guest !== undefined && pending.length === 1) p.guestMs = Math.round(x.guest - fromGuest);
      // A merged phase still says which single ones it holds: each of those is undefined.
      if (pending.length > 1) for (const n of pending) phases.push({ name: n });
      phases.push(p);
      from = x.ms;
      fromGuest = x.guest;
      pending = [];
    }
    for (const n of pending) phases.push({ name: n });
    // Further filesystem setups: from the begin of the step after the previous group's last
    // reproducer (its umount) to the new group's first reproducer begin.
    const further: FurtherSetup[] = [];
    const groups = [...new Set(o.steps.map((s) => s.group))];
    for (let gi = 1; gi < groups.length; gi++) {
      const prevRepro = o.steps.filter((s) => s.group === groups[gi - 1] && s.kind === 'repro').pop();
      const firstRepro = o.steps.find((s) => s.group === groups[gi] && s.kind === 'repro');
      if (!prevRepro || !firstRepro) continue;
      const after = o.steps.find((s) => s.n > prevRepro.n);
      const a = after ? this.agent.get(`begin ${after.n}`) : undefined;
      const z = this.agent.get(`begin ${firstRepro.n}`);
      if (a === undefined || z === undefined) continue;
      let insmodMs = 0;
      for (const s of o.steps.filter((x) => x.loads && x.n > prevRepro.n && x.n < firstRepro.n)) {
        const b0 = this.agent.get(`begin ${s.n}`);
        const b1 = this.agent.get(`begin ${s.n + 1}`);
        if (b0 !== undefined && b1 !== undefined) insmodMs += b1 - b0;
      }
      further.push({ group: groups[gi] ?? '', ms: Math.round(z - a - insmodMs), ...(insmodMs ? { insmodMs: Math.round(insmodMs) } : {}) });
    }
    return {
      clock: o.clock,
      firstLine: this.firstLine,
      phases,
      toFirstReproMs: reproMs === undefined ? undefined : Math.round(reproMs - o.spawnMs),
      furtherSetups: further,
      spawnMs: o.spawnMs,
      host: {
        firstByteMs: this.firstByteMs,
        console: Object.fromEntries([this.offsetLine, this.initLine].flatMap((x) => (x ? [[String(x[0]), x[1]]] : []))),
        agent: Object.fromEntries(this.agent),
      },
    };
  }
}

/** "firmware 0.9s · decompress 1.2s · ..." for a terminal line or a report cell. */
export function phasesText(p: BootPhases): string {
  const s = (ms: number | undefined): string => (ms === undefined ? '-' : `${(ms / 1000).toFixed(2)}s`);
  return p.phases.filter((x) => x.ms !== undefined).map((x) => `${x.name} ${s(x.ms)}`).join(' · ');
}
