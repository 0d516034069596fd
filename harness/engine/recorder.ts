// Where a run's results go: every event is appended to events.jsonl and folded into the in-memory
// view at once, so memory and disk hold the same record. summary.json is written from the view at
// the end of a run (or an interruption); `daxlab report RUN` can always rebuild it from the log.
import { existsSync, mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventLog, EVENTS_FILE, readEventLog } from '../results/event-log.ts';
import type { NewEvent, RunEvent } from '../results/events.ts';
import type { RunSummary } from '../results/types.ts';
import { RunView } from '../results/view.ts';
import { UserError } from '../util/errors.ts';

export const SUMMARY_FILE = 'summary.json';

export class RunRecorder {
  readonly view: RunView;
  private constructor(readonly dir: string, private readonly log: EventLog, view: RunView) {
    this.view = view;
  }

  /** A new run directory (it may exist, empty, as `--out DIR`). */
  static create(dir: string): RunRecorder {
    mkdirSync(dir, { recursive: true });
    return new RunRecorder(dir, EventLog.create(join(dir, EVENTS_FILE)), new RunView());
  }

  /** An existing run, to resume: its log is read (and validated) and appended to. */
  static open(dir: string): RunRecorder {
    const file = join(dir, EVENTS_FILE);
    if (!existsSync(file)) throw new UserError(`${dir}: no ${EVENTS_FILE} (not a run directory, or a run from before event logs)`);
    const { events } = readEventLog(file);
    if (events[0]?.type !== 'run-started') throw new UserError(`${file}:1: the log does not start with run-started`);
    return new RunRecorder(dir, EventLog.append(file), RunView.of(events));
  }

  get summary(): RunSummary {
    return this.view.summary;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  emit(e: NewEvent): RunEvent {
    const ev = this.log.write(e);
    this.view.apply(ev);
    return ev;
  }

  /** First failed write of the log or a view (disk full...): what is on disk is partial. */
  get writeError(): string | undefined {
    return this.log.error ?? this.viewError;
  }
  private viewError: string | undefined;

  /** A run file written elsewhere (a console log) failed: the results are partial. */
  noteWriteError(msg: string): void {
    this.viewError ??= msg;
  }

  /** summary.json from the view, atomically (temp file + rename). Synchronous: signal-safe. */
  writeSummary(): void {
    const file = join(this.dir, SUMMARY_FILE);
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, JSON.stringify(this.summary, null, 2) + '\n');
      renameSync(tmp, file);
    } catch (e) {
      this.viewError ??= `writing ${file}: ${(e as Error).message}`;
      try {
        unlinkSync(tmp); // no half-written file next to the last good one
      } catch {
        /* never created */
      }
    }
  }

  close(): void {
    this.log.close();
  }
}
