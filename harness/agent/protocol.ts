// The guest agent's structured channel: lines `@@DX <step> <event> <rest>` on ttyS1.
// Anything else on the channel (line noise, a partial line at power-off) is ignored.

export type AgentEvent =
  | { step: 0; event: 'hello'; release: string; cpus: number; uptimeS: number }
  | { step: 0; event: 'ready' }
  | { step: 0; event: 'bye' }
  | { step: 0; event: 'warn'; text: string }
  | { step: 0; event: 'group'; name: string }
  | { step: number; event: 'begin'; kind: string; timeoutS: number }
  | { step: number; event: 'skip'; reason: string }
  | { step: number; event: 'out' | 'err'; text: string }
  /** A monitor's sample line (harness/monitor/), taken at the step's begin or end. */
  | { step: number; event: 'mon'; name: string; phase: string; text: string }
  /** A monitor (or one function or event of one) the kernel cannot provide. */
  | { step: number; event: 'monskip'; name: string; reason: string }
  | { step: number; event: 'end'; status: 'done' | 'timeout' | 'hung'; exitCode: number | null; ms: number };

const PREFIX = '@@DX ';

export function parseAgentLine(raw: string): AgentEvent | undefined {
  const line = raw.replace(/\r$/, '');
  const at = line.indexOf(PREFIX);
  if (at < 0) return undefined;
  const body = line.slice(at + PREFIX.length);
  const m = /^(\d+) (\w+)(?: (.*))?$/s.exec(body);
  if (!m || m[1] === undefined || m[2] === undefined) return undefined;
  const step = Number(m[1]);
  const rest = m[3] ?? '';
  const words = rest.split(' ');
  switch (m[2]) {
    case 'hello':
      return { step: 0, event: 'hello', release: words[0] ?? '', cpus: Number(words[1] ?? 0), uptimeS: Number(words[2] ?? 0) };
    case 'ready':
    case 'bye':
      return { step: 0, event: m[2] };
    case 'warn':
      return { step: 0, event: 'warn', text: rest };
    case 'group':
      return { step: 0, event: 'group', name: rest };
    case 'begin':
      return { step, event: 'begin', kind: words[0] ?? '', timeoutS: Number(words[1] ?? 0) };
    case 'skip':
      return { step, event: 'skip', reason: rest };
    case 'out':
    case 'err':
      return { step, event: m[2], text: rest };
    case 'mon':
      return { step, event: 'mon', name: words[0] ?? '', phase: words[1] ?? '', text: words.slice(2).join(' ') };
    case 'monskip':
      return { step, event: 'monskip', name: words[0] ?? '', reason: words.slice(1).join(' ') };
    case 'end': {
      const status = words[0];
      if (status !== 'done' && status !== 'timeout' && status !== 'hung') return undefined;
      const rc = words[1] === undefined || words[1] === '-' ? null : Number(words[1]);
      return { step, event: 'end', status, exitCode: rc !== null && Number.isFinite(rc) ? rc : null, ms: Number(words[2] ?? 0) };
    }
    default:
      return undefined;
  }
}

/**
 * Splits a byte stream into lines, keeping the unfinished tail for the next chunk. A line longer
 * than maxLine is cut there and the rest of it, up to its newline, is dropped: passed on as lines
 * of their own, pieces of a guest program's output could start with `@@DX` and forge events.
 */
export class LineSplitter {
  private tail = '';
  private skipping = false;
  constructor(private readonly maxLine = 64 * 1024) {}
  push(chunk: string): string[] {
    const parts = (this.tail + chunk).split('\n');
    this.tail = parts.pop() ?? '';
    if (this.skipping) {
      if (parts.length === 0) {
        this.tail = ''; // still inside the over-long line
        return [];
      }
      parts.shift();
      this.skipping = false;
    }
    if (this.tail.length > this.maxLine) {
      parts.push(this.tail.slice(0, this.maxLine));
      this.tail = '';
      this.skipping = true;
    }
    return parts;
  }
  flush(): string[] {
    const t = this.tail;
    this.tail = '';
    this.skipping = false;
    return t ? [t] : [];
  }
}
