// The CLI's rendering of engine progress: timestamped lines on stderr; each finished step with a
// counter, and on a terminal an ETA, so a long multi-boot run says how far along it is. Guest text
// in these lines never reaches the terminal raw (util/log.ts).
import type { Progress, ProgressFn } from '../engine/types.ts';
import { logLine } from '../util/log.ts';

/** Remaining time from the pace so far; undefined until there is a pace. Pure. */
export function etaMs(startedMs: number, nowMs: number, done: number, total: number): number | undefined {
  if (done <= 0 || total <= done) return undefined;
  return ((nowMs - startedMs) / done) * (total - done);
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export interface RendererOptions {
  write: (s: string) => void;
  /** A terminal (and not CI): add the ETA and running-guest count to step lines. */
  tty: boolean;
  t0?: number;
  now?: () => number;
}

export function progressRenderer(o: RendererOptions): ProgressFn {
  const now = o.now ?? Date.now;
  const t0 = o.t0 ?? now();
  let firstBoot: number | undefined;
  let running = 0;
  const line = (s: string): void => o.write(logLine(now() - t0, s));
  return (p: Progress) => {
    switch (p.kind) {
      case 'line':
        line(p.text);
        return;
      case 'began':
        return;
      case 'boot':
        if (p.phase === 'started') {
          firstBoot ??= now();
          running++;
        } else running = Math.max(0, running - 1);
        return;
      case 'step': {
        let counter = `${p.done}/${p.total}`;
        if (o.tty && firstBoot !== undefined) {
          const eta = etaMs(firstBoot, now(), p.done, p.total);
          counter += `${eta !== undefined ? `, ETA ${formatDuration(eta)}` : ''}${running > 1 ? `, ${running} guests` : ''}`;
        }
        line(`[${counter}] ${p.key}: ${p.status}${p.reason ? ` (${p.reason})` : ''} ${(p.ms / 1000).toFixed(2)}s`);
        return;
      }
    }
  };
}
