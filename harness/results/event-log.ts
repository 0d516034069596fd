// events.jsonl on disk: an append-only writer whose cost is the size of the event (one write on an
// fd kept open, synchronous so a signal handler can still record the interruption), and a reader
// that validates every line and names the file and line of the first corrupt one.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { UserError } from '../util/errors.ts';
import { EVENT_VERSION, RunEventSchema, type NewEvent, type RunEvent } from './events.ts';

export const EVENTS_FILE = 'events.jsonl';

export class EventLog {
  private fd: number | undefined;
  /** First write failure (disk full...); later events are kept in memory only. */
  error: string | undefined;
  constructor(readonly file: string) {}

  static create(file: string): EventLog {
    const log = new EventLog(file);
    log.fd = openSync(file, 'wx');
    return log;
  }

  static append(file: string): EventLog {
    const log = new EventLog(file);
    log.fd = openSync(file, 'a');
    return log;
  }

  /** Stamps the event, writes it as one line and returns it. */
  write(e: NewEvent): RunEvent {
    const ev = { v: EVENT_VERSION, at: new Date().toISOString(), ...e } as RunEvent;
    if (this.fd !== undefined && this.error === undefined) {
      try {
        writeSync(this.fd, JSON.stringify(ev) + '\n');
      } catch (err) {
        this.error = `writing ${this.file}: ${(err as Error).message}`;
      }
    }
    return ev;
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      closeSync(this.fd);
    } catch {
      /* already gone */
    }
    this.fd = undefined;
  }
}

export interface ReadLog {
  events: RunEvent[];
  /** The last line had no newline (the writer died mid-line): it was skipped. */
  truncatedTail: boolean;
}

/** Every event of `file`; a line that is not a valid event is bad input naming FILE:LINE. */
export function readEventLog(file: string): ReadLog {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  return parseEventLog(text, file);
}

export function parseEventLog(text: string, file: string): ReadLog {
  const lines = text.split('\n');
  // The piece after the last newline: '' for a complete log, else a line the writer never finished.
  const truncatedTail = (lines.pop() ?? '') !== '';
  const events: RunEvent[] = [];
  lines.forEach((line, i) => {
    const where = `${file}:${i + 1}`;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new UserError(`${where}: not JSON`);
    }
    const v = (obj as { v?: unknown } | null)?.v;
    if (v !== EVENT_VERSION) throw new UserError(`${where}: event version ${JSON.stringify(v)} is not ${EVENT_VERSION}`);
    const r = RunEventSchema.safeParse(obj);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new UserError(`${where}: ${issue ? `${issue.path.join('.') || 'event'}: ${issue.message}` : 'not a run event'}`);
    }
    events.push(r.data);
  });
  return { events, truncatedTail };
}
