// `daxlab merge DIR... --out DIR`: the shards of one nightly plan as one run. Boots are numbered
// on, shard after shard, and their console/agent logs renamed to match; everything else is the
// shards' own events. Shards of different plans, or of one plan on different kernels, are
// refused: merged they would compare nothing. mergeEvents is pure; mergeRuns is its file edge.
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RunRecorder } from '../engine/recorder.ts';
import { EVENTS_FILE, readEventLog } from '../results/event-log.ts';
import type { EventOf, RunEvent } from '../results/events.ts';
import { findRunDir, newRunId } from '../results/store.ts';
import type { RunSummary } from '../results/types.ts';
import { guestShape } from '../results/guest-shape.ts';
import { RunView } from '../results/view.ts';
import { outcomeLine } from '../run/runner.ts';
import { UserError } from '../util/errors.ts';
import { displayPath } from '../util/paths.ts';

export interface ShardLog {
  dir: string;
  events: RunEvent[];
}

export interface Merged {
  events: RunEvent[];
  /** [shard dir, original log name, merged log name] for every console/agent log. */
  renames: [string, string, string][];
  missing: number[];
}

const logName = (kind: 'console' | 'agent', boot: number): string => `${kind}-${boot}.log`;

export function mergeEvents(shards: readonly ShardLog[], runId: string, command: string[]): Merged {
  const starts = shards.map((s) => {
    const e = s.events[0];
    if (e?.type !== 'run-started') throw new UserError(`${displayPath(s.dir)}: not a run (its event log does not start with run-started)`);
    if (!e.plan?.shard) throw new UserError(`${displayPath(s.dir)}: not a shard of a nightly plan (run it with daxlab nightly PLAN --shard i/n)`);
    return e;
  });
  const first = starts[0];
  if (!first?.plan?.shard) throw new UserError('merge needs at least one shard');
  for (const [i, e] of starts.entries()) {
    if (e.plan?.hash !== first.plan.hash || e.plan.name !== first.plan.name) throw new UserError(`${displayPath(shards[i]?.dir ?? '')}: a shard of plan ${e.plan?.name} ${e.plan?.hash}, not of ${first.plan.name} ${first.plan.hash}`);
    if (e.plan.shard?.count !== first.plan.shard.count) throw new UserError(`${displayPath(shards[i]?.dir ?? '')}: shard of ${e.plan.shard?.count}, the others are of ${first.plan.shard.count}`);
    // One night is measured one way: a shard on another guest clock or shape would read as a change.
    if (guestShape(e.guest) !== guestShape(first.guest)) throw new UserError(`${displayPath(shards[i]?.dir ?? '')}: guest ${guestShape(e.guest)}, the first shard's is ${guestShape(first.guest)} (give every shard the same --clock, --cpus, --mem and --append)`);
  }
  const indexes = starts.map((e) => e.plan?.shard?.index ?? 0);
  const dup = indexes.find((x, i) => indexes.indexOf(x) !== i);
  if (dup !== undefined) throw new UserError(`shard ${dup}/${first.plan.shard.count} given twice`);
  const missing = Array.from({ length: first.plan.shard.count }, (_, i) => i + 1).filter((i) => !indexes.includes(i));

  const out: RunEvent[] = [{ ...first, runId, command, plan: { name: first.plan.name, hash: first.plan.hash, boots: first.plan.boots }, concurrency: Math.max(...starts.map((e) => e.concurrency)) }];
  const kernels = new Map<string, EventOf<'kernel-ready'>>();
  const renames: [string, string, string][] = [];
  let offset = 0;
  let status: 'completed' | 'interrupted' | 'failed' = 'completed';
  let totalMs = 0;
  for (const sh of shards) {
    let maxBoot = 0;
    for (const e of sh.events.slice(1)) {
      if (e.type === 'run-ended') {
        if (e.status === 'failed' || (e.status === 'interrupted' && status === 'completed')) status = e.status;
        totalMs += e.phases['totalMs'] ?? 0;
        continue;
      }
      if (e.type === 'run-resumed') continue;
      if (e.type === 'kernel-ready') {
        const was = kernels.get(e.kernel.name);
        if (was && JSON.stringify(was.kernel.identity) !== JSON.stringify(e.kernel.identity)) {
          throw new UserError(`${displayPath(sh.dir)}: kernel ${e.kernel.name} is ${JSON.stringify(e.kernel.identity)} here but ${JSON.stringify(was.kernel.identity)} in another shard`);
        }
        if (!was) {
          kernels.set(e.kernel.name, e);
          out.push(e);
        }
        continue;
      }
      if (!('boot' in e)) {
        out.push(e);
        continue;
      }
      const boot = e.boot + offset;
      maxBoot = Math.max(maxBoot, e.boot);
      if (e.type === 'boot-started') {
        const c = logName('console', boot);
        const a = logName('agent', boot);
        renames.push([sh.dir, e.consoleLog, c], [sh.dir, e.agentLog, a]);
        out.push({ ...e, boot, consoleLog: c, agentLog: a });
      } else if (e.type === 'finding') out.push({ ...e, boot, consoleLog: logName('console', boot) });
      else out.push({ ...e, boot } as RunEvent);
    }
    offset += maxBoot;
  }
  const view = RunView.of(out);
  const reason = `${outcomeLine(view.summary)}; shards ${indexes.sort((a, b) => a - b).join(',')} of ${first.plan.shard.count}${missing.length ? ` (missing: ${missing.join(',')})` : ''}`;
  const last = out[out.length - 1];
  out.push({ v: 1, at: last?.at ?? first.at, type: 'run-ended', status: missing.length && status === 'completed' ? 'interrupted' : status, reason, phases: { totalMs } });
  return { events: out, renames, missing };
}

/** Merge shard run directories into `outDir` (written whole, then renamed into place). */
export async function mergeRuns(refs: readonly string[], outDir: string): Promise<{ dir: string; merged: Merged; summary: RunSummary }> {
  if (existsSync(outDir)) throw new UserError(`--out ${displayPath(outDir)} already exists`);
  const shards: ShardLog[] = [];
  for (const r of refs) {
    const dir = await findRunDir(r);
    shards.push({ dir, events: readEventLog(join(dir, EVENTS_FILE)).events });
  }
  const merged = mergeEvents(shards, newRunId(), ['merge', ...refs]);
  const tmp = resolve(`${outDir}.tmp-${process.pid}`);
  let summary: RunSummary;
  mkdirSync(tmp, { recursive: true });
  try {
    writeFileSync(join(tmp, EVENTS_FILE), merged.events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    for (const [dir, from, to] of merged.renames) if (existsSync(join(dir, from))) copyFileSync(join(dir, from), join(tmp, to));
    const rec = RunRecorder.open(tmp);
    rec.close();
    rec.writeSummary();
    summary = rec.summary;
    if (rec.writeError) throw new UserError(rec.writeError);
    renameSync(tmp, outDir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { dir: resolve(outDir), merged, summary };
}
