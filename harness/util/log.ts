// The one log line format of every command: seconds since start, then the text with control
// characters replaced (log lines quote guests, compilers and patches; none may reach a terminal raw).
import { oneLineSafe } from './errors.ts';

export function logLine(elapsedMs: number, text: string): string {
  return `[${(elapsedMs / 1000).toFixed(1).padStart(6)}s] ${oneLineSafe(text)}\n`;
}

/** A logger writing timestamped, scrubbed lines to stderr, timed from its creation. */
export function stderrLogger(t0 = Date.now()): (text: string) => void {
  return (text) => process.stderr.write(logLine(Date.now() - t0, text));
}
