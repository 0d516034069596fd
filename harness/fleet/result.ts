// A job's run directory as its BullMQ return value and back: the files `daxlab merge` reads
// (events.jsonl, and each boot's console and agent log), gzip+base64, so workers and the
// collector share Redis and nothing else. Logs are cut to RESULT_LOG_CAP on the way (the engine's
// own cap is 64 MiB, too much for one Redis value); the worker's local copy stays whole.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { EVENTS_FILE, readEventLog } from '../results/event-log.ts';
import type { RunSummary } from '../results/types.ts';
import { resultSchema, type JobResult } from './jobs.ts';

export const RESULT_LOG_CAP = 8 * 1024 * 1024;

function capped(data: Buffer, cap: number): { data: Buffer; cut: boolean } {
  if (data.length <= cap) return { data, cut: false };
  const marker = Buffer.from(`\n[daxlab: log cut at ${cap} bytes for the job result; ${data.length - cap} bytes dropped; the worker's run directory has it whole]\n`);
  return { data: Buffer.concat([data.subarray(0, cap), marker]), cut: true };
}

/** The job result for the finished run in `dir`. */
export function packRun(dir: string, meta: { jobId: string; night: string; unit: { index: number; count: number }; worker: string }, summary: Pick<RunSummary, 'runId' | 'status'>, cap = RESULT_LOG_CAP): JobResult {
  const files: Record<string, string> = {};
  const truncated: string[] = [];
  files[EVENTS_FILE] = gzipSync(readFileSync(join(dir, EVENTS_FILE))).toString('base64');
  for (const e of readEventLog(join(dir, EVENTS_FILE)).events) {
    if (e.type !== 'boot-started') continue;
    for (const name of [e.consoleLog, e.agentLog]) {
      let raw: Buffer;
      try {
        raw = readFileSync(join(dir, name));
      } catch {
        continue; // a boot that never got its log (spawn failed): merge skips it too
      }
      const c = capped(raw, cap);
      if (c.cut) truncated.push(name);
      files[name] = gzipSync(c.data).toString('base64');
    }
  }
  const status = summary.status === 'running' ? 'interrupted' : summary.status;
  return resultSchema.parse({ v: 1, ...meta, runId: summary.runId, status, files, truncated });
}

/** Write a result's files into `dir` (created): a shard run directory `daxlab merge` takes. */
export function unpackResult(r: JobResult, dir: string): void {
  mkdirSync(dir, { recursive: true });
  // Names are checked by the schema (no '/', no '..'): a result cannot write outside `dir`.
  for (const [name, b64] of Object.entries(r.files)) writeFileSync(join(dir, name), gunzipSync(Buffer.from(b64, 'base64')));
}
