// Streaming console parser: fed one console line at a time while the guest runs, it recognises
// kernel reports (see kinds.ts), collects each one's lines, stack and task details, and returns a
// Finding when the report ends. Memory is bounded whatever the guest prints: one report keeps at
// most maxReportLines lines and is closed (as corrupted) if it runs far past that.
import { continues, matchHeader, type Header } from './kinds.ts';
import { parseAt, parseFrame, parseRip, stackMarker, type Frame, type ParsedFrame } from './frames.ts';
import { scrub, splitLine, type ConsoleLine } from './line.ts';
import { guiltyFunction, isMachinery, makeTitle, stableText } from './title.ts';

export type { Frame } from './frames.ts';

export interface Finding {
  kind: string;
  title: string;
  /** Reproducer step that was running (agent markers `daxlab: step N begin/end`). */
  step?: number;
  text: string;
  frames: Frame[];
  taint?: string;
  cpu?: number;
  pid?: number;
  comm?: string;
  /** Cut short (reboot, end of log, another report) or mixed with another CPU's output. */
  corrupted: boolean;
  /** 1-based console line where the report starts. */
  line: number;
}

export interface ParserOptions {
  /** Lines kept per report; a report running past 4x this is closed as corrupted. */
  maxReportLines?: number;
}

export const DEFAULT_MAX_REPORT_LINES = 1000;
const MAX_FRAMES = 64;

interface Open {
  h: Header;
  line: number;
  step: number | undefined;
  lines: string[];
  count: number;
  dropped: number;
  rip?: ParsedFrame;
  frames: ParsedFrame[];
  taskFrames: ParsedFrame[];
  /** 0: no call trace yet; 1: inside the first one; 2: after it. */
  trace: 0 | 1 | 2;
  section: string;
  sawMarker: boolean;
  at?: ParsedFrame;
  atPending: boolean;
  locks: 0 | 1 | 2;
  corrupted: boolean;
  access?: string;
  taint?: string;
  cpu?: number;
  pid?: number;
  comm?: string;
}

const STEP = /^daxlab: step (\d+) (begin|end)\b/;
const BANNER = /^Linux version \d/;
const CUT_HERE = /^-+\[ cut here \]-+$/;
const RULE = /^={10,}$/;
const END_TRACE = /^---\[ end trace/;
// The last lines panic() prints; kernels without a stack dump in panic print only these.
const END_PANIC = /^(?:---\[ end Kernel panic|Kernel Offset: |Rebooting in )/;
const CPU_LINE = /^CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (.{1,64}?) (?:Not tainted|Tainted: ([A-Z][A-Z ]*?))\s+\d/;
const TAINT = /(?:^|\s)(?:Not tainted|Tainted: ([A-Z][A-Z ]*[A-Z]|[A-Z]))(?:\s|$)/;
const LOCKS_HELD = /^(?:\d+|no) locks? held by /;
const LOCK_ITEM = /^\s*#\d+:/;
// Lines that belong inside a call trace besides frames: register dumps and the user-space RIP.
const TRACE_OTHER = /^(?:Code: |[A-Z][A-Z0-9]{1,3}: )/;
const ACCESS = /^(Read|Write) of size \d+/;
const FATAL_EXCEPTION = /^Kernel panic - not syncing: Fatal exception/;

export class ConsoleParser {
  private readonly maxLines: number;
  private lineNo = 0;
  private step: number | undefined;
  /** Open reports by printk caller id ('' when the kernel does not print caller ids). */
  private readonly open = new Map<string, Open>();
  /** The last few lines, for the "cut here"/"====" preamble and WARN message before a header. */
  private readonly recent: { text: string; raw: string; line: number }[] = [];
  private lastEnd = -1000;

  constructor(opts: ParserOptions = {}) {
    this.maxLines = Math.max(10, opts.maxReportLines ?? DEFAULT_MAX_REPORT_LINES);
  }

  get currentStep(): number | undefined {
    return this.step;
  }

  /** Feed one console line (a trailing `\r` or `\n` is fine); returns reports it completed. */
  push(input: string): Finding[] {
    this.lineNo++;
    const out: Finding[] = [];
    this.handle(splitLine(input), out);
    return out;
  }

  /** End of the log or a reboot: reports still open are returned, corrupted if they were cut. */
  end(): Finding[] {
    const out: Finding[] = [];
    for (const [slot, o] of this.open) {
      this.forget(slot, o);
      out.push(this.finish(o, cutShort(o)));
    }
    this.step = undefined;
    this.recent.length = 0;
    return out;
  }

  private handle(cl: ConsoleLine, out: Finding[]): void {
    const text = cl.text;
    if (text.charCodeAt(0) === 0x64 /* d */ && text.startsWith('daxlab: step ')) {
      const m = STEP.exec(text);
      if (m) {
        // A marker is not part of any report, but it does end a trace printed without <TASK>
        // markers (older kernels), which otherwise only ends at the next non-frame line.
        for (const [slot, o] of this.open) if (o.trace === 1 && !o.sawMarker && o.h.end === 'task') this.close(slot, o, out);
        this.step = m[2] === 'begin' ? Number(m[1]) : undefined;
        return;
      }
    }
    if (text.charCodeAt(0) === 0x4c /* L */ && BANNER.test(text)) {
      out.push(...this.end()); // a new boot: whatever was open was cut by the reboot
      return;
    }
    const slot = cl.caller ?? '';
    const o = this.open.get(slot);
    const h = matchHeader(text);
    if (h && !(o && continues(o.h.kind, h))) {
      let cut = false;
      if (o) {
        this.forget(slot, o);
        cut = cutShort(o);
        out.push(this.finish(o, cut));
      }
      if (h.kind === 'panic' && FATAL_EXCEPTION.test(text) && this.lineNo - this.lastEnd < 100) {
        return; // the panic an oops just caused: already reported as that oops
      }
      this.start(h, cl, slot, out);
      // A report that starts inside an unfinished one: without caller ids the rest of that one
      // most likely continues inside this one (two CPUs printing at once).
      const n = this.open.get(slot);
      if (cut && n) n.corrupted = true;
      return;
    }
    if (!o) {
      // With caller ids, an RCU stall or hard lockup is announced by one CPU and its stack is
      // printed by the stalled CPU from NMI context: that CPU's lines join the waiting report.
      if (slot !== '' && text.startsWith('NMI backtrace for cpu')) {
        for (const r of this.open.values()) {
          if ((r.h.kind === 'rcu-stall' || r.h.kind === 'hard-lockup') && r.trace === 0) {
            this.open.set(slot, r);
            this.add(r, cl, slot, out);
            return;
          }
        }
      }
      this.remember(cl);
      return;
    }
    this.add(o, cl, slot, out);
  }

  private remember(cl: ConsoleLine): void {
    // Only preamble lines matter; keeping just those avoids work on every ordinary line.
    const c = cl.text.charCodeAt(0);
    const prev = this.recent[this.recent.length - 1];
    if (c === 0x2d /* - */ || c === 0x3d /* = */ || (prev !== undefined && this.lineNo - prev.line < 3)) {
      this.recent.push({ text: cl.text, raw: cl.raw, line: this.lineNo });
      if (this.recent.length > 3) this.recent.shift();
    }
  }

  private start(h: Header, cl: ConsoleLine, slot: string, out: Finding[]): void {
    const o: Open = {
      h,
      line: this.lineNo,
      step: this.step,
      lines: [],
      count: 0,
      dropped: 0,
      frames: [],
      taskFrames: [],
      trace: 0,
      section: '',
      sawMarker: false,
      atPending: false,
      locks: 0,
      corrupted: false,
    };
    if (h.cpu !== undefined) o.cpu = h.cpu;
    if (h.pid !== undefined) o.pid = h.pid;
    if (h.comm !== undefined) o.comm = h.comm;
    // Preamble: "cut here" (and a WARN's own message) or lockdep's "====" line just before.
    let from = -1;
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const r = this.recent[i];
      if (r && r.line >= this.lineNo - 3 && (CUT_HERE.test(r.text) || RULE.test(r.text))) {
        from = i;
        break;
      }
    }
    if (from >= 0) {
      const first = this.recent[from];
      if (first) o.line = first.line;
      for (let i = from; i < this.recent.length; i++) o.lines.push(scrub((this.recent[i] as { raw: string }).raw));
    }
    this.recent.length = 0;
    o.lines.push(scrub(cl.raw));
    o.count = o.lines.length;
    if (h.end === 'line') {
      out.push(this.finish(o, false));
      return;
    }
    this.open.set(slot, o);
  }

  private add(o: Open, cl: ConsoleLine, slot: string, out: Finding[]): void {
    const text = cl.text;
    // A "locks" report is over at the first line after its held-locks list; that line is not its.
    if (o.h.end === 'locks') {
      if (o.locks === 1 && !LOCK_ITEM.test(text)) {
        this.close(slot, o, out);
        this.handle(cl, out);
        return;
      }
      if (LOCKS_HELD.test(text)) o.locks = 1;
    }
    // Old kernels print no <TASK> markers: a trace ends at the first line that is not part of it.
    if (o.trace === 1 && !o.sawMarker && o.h.end === 'task' && text.length > 0 && !stackMarker(text) && !parseFrame(text) && !TRACE_OTHER.test(text.trim())) {
      o.trace = 2;
      this.close(slot, o, out);
      this.handle(cl, out);
      return;
    }
    o.count++;
    if (o.lines.length < this.maxLines) o.lines.push(scrub(cl.raw));
    else o.dropped++;
    this.inspect(o, text);
    if (this.ended(o, text)) {
      this.close(slot, o, out);
      return;
    }
    if (o.count > this.maxLines * 4) {
      o.corrupted = true;
      this.close(slot, o, out);
    }
  }

  private inspect(o: Open, text: string): void {
    if (o.trace === 1) {
      const mk = stackMarker(text);
      if (mk) {
        o.sawMarker = true;
        if (mk.startsWith('END-')) o.section = '';
        else if (mk !== 'EOE') o.section = mk;
        if (mk === 'END-TASK') o.trace = 2;
        return;
      }
      const f = parseFrame(text);
      if (f) {
        if (o.frames.length < MAX_FRAMES) o.frames.push(f);
        if (o.section === 'TASK' && o.taskFrames.length < MAX_FRAMES) o.taskFrames.push(f);
        return;
      }
    }
    const t = text.trimStart();
    if (t.startsWith('Call Trace:')) {
      if (o.trace === 0) o.trace = 1;
      else o.corrupted = true; // a second stack inside one report: another CPU's output mixed in
      return;
    }
    if (t.startsWith('CPU: ')) {
      const m = CPU_LINE.exec(t);
      if (m) {
        const cpu = Number(m[1]);
        // Another CPU's report header inside ours: the two are interleaved.
        if (o.cpu !== undefined && o.cpu !== cpu && o.h.kind !== 'rcu-stall' && o.h.kind !== 'hard-lockup') o.corrupted = true;
        o.cpu ??= cpu;
        o.pid ??= Number(m[2]);
        o.comm ??= m[3];
        if (o.taint === undefined) o.taint = m[4] ? m[4].replace(/\s+/g, ' ') : '';
      }
      return;
    }
    if (t.startsWith('RIP: ')) {
      if (o.trace === 0 && !o.rip) {
        const f = parseRip(t);
        if (f) o.rip = f;
      }
      return;
    }
    if (o.at === undefined) {
      if (o.atPending) {
        o.atPending = false;
        const f = parseFrame(t);
        if (f) o.at = f;
      } else if (t.endsWith(' at:')) {
        o.atPending = true;
      } else if (t.includes('at: ')) {
        const f = parseAt(t);
        if (f) o.at = f;
      }
    }
    if (o.taint === undefined && o.count <= 4 && (t.includes('tainted') || t.includes('Tainted: '))) {
      const m = TAINT.exec(t);
      if (m) o.taint = m[1] ? m[1].replace(/\s+/g, ' ') : '';
    }
    if (o.h.kind === 'kasan' && o.access === undefined) {
      const m = ACCESS.exec(t);
      if (m) o.access = m[1];
    }
  }

  private ended(o: Open, text: string): boolean {
    switch (o.h.end) {
      case 'trace':
        return END_TRACE.test(text) || (o.h.kind === 'ubsan' && RULE.test(text));
      case 'rule':
        return RULE.test(text);
      case 'task':
        if (o.trace === 2) return true;
        if (o.h.kind === 'panic' && END_PANIC.test(text)) return true;
        return o.trace === 0 && o.h.noTraceLimit !== undefined && o.count > o.h.noTraceLimit;
      case 'locks':
        return o.count > 40 && o.locks === 0;
      default:
        return true;
    }
  }

  private close(slot: string, o: Open, out: Finding[]): void {
    this.forget(slot, o);
    out.push(this.finish(o, false));
  }

  /** Drop a report from its slot and from any slot that joined it. */
  private forget(slot: string, o: Open): void {
    this.open.delete(slot);
    for (const [k, v] of this.open) if (v === o) this.open.delete(k);
  }

  private finish(o: Open, cut: boolean): Finding {
    this.lastEnd = this.lineNo;
    o.frames = usableStack(o.frames);
    o.taskFrames = usableStack(o.taskFrames);
    const frames = o.rip ? [o.rip, ...o.frames] : o.frames;
    const f: Finding = {
      kind: o.h.kind,
      title: titleFor(o),
      text: o.lines.join('\n') + (o.dropped ? `\n[daxlab: ${o.dropped} more lines of this report dropped]` : ''),
      frames: frames.slice(0, MAX_FRAMES).map(publicFrame),
      corrupted: cut || o.corrupted,
      line: o.line,
    };
    if (o.step !== undefined) f.step = o.step;
    if (o.taint !== undefined) f.taint = o.taint;
    if (o.cpu !== undefined) f.cpu = o.cpu;
    if (o.pid !== undefined) f.pid = o.pid;
    if (o.comm !== undefined) f.comm = scrub(o.comm);
    return f;
  }
}

/**
 * The frames to believe. Normally the reliable ones: "? " marks stale return addresses the
 * unwinder found on the stack. But a kernel without frame pointers or ORC (tinyconfig's guess
 * unwinder) marks every frame "? ": then all of them are the stack, stale entries included.
 */
function usableStack(frames: ParsedFrame[]): ParsedFrame[] {
  const reliable = frames.filter((f) => !f.unreliable);
  if (reliable.length || !frames.length) return reliable;
  // "fn+0xe/0xe" points just past fn: a function pointer left on the stack (a timer callback,
  // say), never a return address, so the guess unwinder's stale entries of that shape go.
  return frames.filter((f) => f.offset === undefined || f.offset !== f.size).map((f) => ({ ...f, unreliable: false }));
}

/** Whether a report still open when something else comes (EOF, reboot, another report) is cut. */
function cutShort(o: Open): boolean {
  if (o.h.end === 'locks') return o.locks === 0;
  // After a panic nothing more is expected: only a stack that stopped halfway is a cut.
  if (o.h.kind === 'panic') return o.trace === 1;
  return true;
}

function publicFrame(p: ParsedFrame): Frame {
  const f: Frame = { fn: p.fn };
  if (p.offset !== undefined) f.offset = p.offset;
  if (p.file !== undefined) f.file = p.file;
  if (p.line !== undefined) f.line = p.line;
  if (p.inlined) f.inlined = true;
  return f;
}

function usable(f: ParsedFrame | undefined): string | undefined {
  return f && !isMachinery(f.fn) ? f.fn : undefined;
}

function titleFor(o: Open): string {
  const k = o.h.kind;
  const stack = o.rip ? [o.rip, ...o.frames] : o.frames;
  switch (k) {
    case 'lockdep-exhausted':
    case 'lockdep-off':
      return o.h.prefix;
    case 'panic': {
      const first = o.lines.find((l) => l.includes('Kernel panic - not syncing: ')) ?? '';
      const msg = first.slice(first.indexOf('not syncing: ') + 13);
      return `kernel panic: ${stableText(scrub(msg))}`;
    }
    case 'warning':
    case 'kasan': {
      const fn = (o.h.fn && !isMachinery(o.h.fn) ? o.h.fn : undefined) ?? guiltyFunction(stack);
      const prefix = k === 'kasan' && o.access ? `${o.h.prefix} ${o.access}` : o.h.prefix;
      return makeTitle(prefix, fn);
    }
    case 'kernel-bug':
    case 'page-fault':
    case 'gpf':
    case 'oops':
      return makeTitle(o.h.prefix, usable(o.rip) ?? guiltyFunction(o.frames));
    case 'soft-lockup':
    case 'hard-lockup':
    case 'rcu-stall':
      return makeTitle(o.h.prefix, usable(o.rip) ?? guiltyFunction(o.taskFrames) ?? guiltyFunction(o.frames));
    default:
      if (k.startsWith('lockdep-') && k !== 'lockdep-held-freed' && k !== 'lockdep-rcu') {
        return makeTitle(o.h.prefix, usable(o.at) ?? guiltyFunction(stack));
      }
      return makeTitle(o.h.prefix, guiltyFunction(stack));
  }
}

/** Parse a whole saved console log. */
export function parseConsoleText(text: string, opts?: ParserOptions): Finding[] {
  const p = new ConsoleParser(opts);
  const out: Finding[] = [];
  let start = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) break;
    const fs = p.push(text.slice(start, nl));
    if (fs.length) out.push(...fs);
    start = nl + 1;
  }
  if (start < text.length) out.push(...p.push(text.slice(start)));
  out.push(...p.end());
  return out;
}
