// `daxlab findings`: parse saved console logs (a results directory's console-<boot>.log files, or
// any one log) and list the kernel reports in them, deduplicated by title.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { EVENTS_FILE, readEventLog } from '../results/event-log.ts';
import { stepNames, whereInBoot } from '../results/findings.ts';
import { findRunDir } from '../results/store.ts';
import { UserError } from '../util/errors.ts';
import { displayPath } from '../util/paths.ts';
import { stderrLogger } from '../util/log.ts';
import type { RunEvent } from '../results/events.ts';
import { dedupFindings, type FindingGroup } from './dedup.ts';
import { parseConsoleText, type Finding, type Frame } from './parser.ts';
import { formatFrame, wrongVmlinux } from './symbolize.ts';
import { openSymbolizer } from './symbolizer.ts';

/** A finding with the log it came from: boot index and step name for results directories. */
export interface LocatedFinding extends Finding {
  file: string;
  boot?: number;
  /** The work item (`KERNEL/scenario:fs:dax:rN`) or setup step the report fell in, from events.jsonl. */
  where?: string;
}

// Logs are capped by the capture (64 MiB); refuse anything far larger rather than read it whole.
const MAX_LOG_BYTES = 256 * 1024 * 1024;

async function readLog(path: string): Promise<string> {
  const st = await stat(path).catch(() => undefined);
  if (!st?.isFile()) throw new UserError(`not a file: ${path}`);
  if (st.size > MAX_LOG_BYTES) throw new UserError(`${path} is ${st.size} bytes; console logs over ${MAX_LOG_BYTES} bytes are not parsed`);
  // latin1: every byte maps to one character, so broken UTF-8 from the guest cannot throw.
  return readFile(path, 'latin1');
}

export async function findingsInFile(path: string, boot?: number): Promise<LocatedFinding[]> {
  const text = await readLog(path);
  return parseConsoleText(text).map((f) => (boot === undefined ? { ...f, file: path } : { ...f, file: path, boot }));
}

/** `runFrames`: frames as the run decoded them (events.jsonl), else as the console printed them. */
export async function findingsInResults(ref: string, o: { runFrames?: boolean } = {}): Promise<LocatedFinding[]> {
  const dir = await findRunDir(ref).catch(async (e: unknown) => {
    // A directory of saved console logs that is not a run is fine too.
    if ((await stat(ref).catch(() => undefined))?.isDirectory()) return ref;
    throw e;
  });
  const logs = (await readdir(dir))
    .map((n) => ({ n, m: /^console-(\d+)\.log$/.exec(n) }))
    .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => Number(a.m[1]) - Number(b.m[1]));
  if (!logs.length) throw new UserError(`no console-<boot>.log files in ${displayPath(dir)}`);
  const events = existsSync(join(dir, EVENTS_FILE)) ? readEventLog(join(dir, EVENTS_FILE)).events : undefined;
  const names = events ? stepNames(events) : undefined;
  const decoded = events && o.runFrames !== false ? decodedFrames(events) : undefined;
  const out: LocatedFinding[] = [];
  for (const l of logs) {
    const boot = Number(l.m[1]);
    for (const f of await findingsInFile(join(dir, l.n), boot)) {
      const frames = decoded?.get(`${boot}:${f.line}`) ?? f.frames;
      out.push(names ? { ...f, frames, where: whereInBoot(boot, f.step === undefined ? undefined : names.get(`${boot}:${f.step}`)) } : f);
    }
  }
  return out;
}

/** Frames the run decoded to file:line (symbolizer.ts), by `boot:console line` of the report. */
function decodedFrames(events: readonly RunEvent[]): Map<string, Frame[]> {
  const m = new Map<string, Frame[]>();
  for (const e of events) if (e.type === 'finding' && e.frames.some((fr) => fr.file !== undefined)) m.set(`${e.boot}:${e.line}`, e.frames);
  return m;
}

/** Every finding's frames decoded with one vmlinux (`--vmlinux`), whatever the run did. */
export async function decodeWith(vmlinux: string, findings: LocatedFinding[], log: (s: string) => void): Promise<LocatedFinding[]> {
  const s = await openSymbolizer(vmlinux, log);
  const { frames, stats } = await s.decode(findings.map((f) => ({ frames: f.frames, text: f.text })));
  if (wrongVmlinux(stats)) throw new UserError(`${displayPath(vmlinux)} is not the kernel these reports came from (their frames do not fit its functions)`);
  return findings.map((f, i) => ({ ...f, frames: frames[i] ?? f.frames }));
}

/** Up to this many frames of a group's example under it, when they have source lines. */
const SHOWN_FRAMES = 16;

function where(fs: LocatedFinding[]): string {
  const parts = fs.map((f) => `${f.where ?? `${f.boot !== undefined ? `boot ${f.boot} ` : ''}${f.step !== undefined ? `step ${f.step}` : 'outside steps'}`} (line ${f.line}${f.corrupted ? ', corrupted' : ''})`);
  const shown = [...new Set(parts)].slice(0, 4);
  return shown.join(', ') + (parts.length > shown.length ? `, +${parts.length - shown.length}` : '');
}

export function renderFindings(findings: LocatedFinding[]): string {
  if (!findings.length) return 'no findings\n';
  const groups = dedupFindings(findings);
  const lines = [`${findings.length} finding${findings.length === 1 ? '' : 's'}, ${groups.length} distinct`];
  for (const g of groups) {
    const members = findings.filter((f) => f.title === g.title);
    lines.push(`${String(g.count).padStart(4)}x  ${g.title}  [${g.kind}]`);
    lines.push(`       ${where(members)}`);
    if (g.first.frames.some((fr) => fr.file !== undefined)) for (const fr of g.first.frames.slice(0, SHOWN_FRAMES)) lines.push(`         ${formatFrame(fr)}`);
  }
  return lines.join('\n') + '\n';
}

export interface FindingsJson {
  sources: string[];
  groups: (Omit<FindingGroup, 'first'> & { first: LocatedFinding })[];
  findings: LocatedFinding[];
}

export function findingsJson(sources: string[], findings: LocatedFinding[]): FindingsJson {
  const groups = dedupFindings(findings).map((g) => ({ ...g, first: g.first as LocatedFinding }));
  return { sources, groups, findings };
}

export function registerFindingsCommand(program: Command): void {
  program
    .command('findings')
    .description('list kernel reports (lockdep, WARN, BUG, oops, hung task, ...) in console logs, deduplicated by title')
    .argument('[run]', 'run id, results directory (with console-<boot>.log files), or latest')
    .option('--console <file>', 'parse one saved console log instead')
    .option('--json', 'machine-readable output: groups and every finding with its full text')
    .option('--vmlinux <file>', 'decode stack frames to file:line with this vmlinux (debug info) instead of what the run decoded')
    .action(async (dir: string | undefined, opts: { console?: string; json?: boolean; vmlinux?: string }) => {
      if (!dir === !opts.console) throw new UserError('give a run (id, results directory or latest) or --console FILE (one of them)');
      const parsed = opts.console ? await findingsInFile(opts.console) : await findingsInResults(dir as string, { runFrames: !opts.vmlinux });
      const findings = opts.vmlinux ? await decodeWith(opts.vmlinux, parsed, stderrLogger()) : parsed;
      const sources = opts.console ? [opts.console] : [...new Set(findings.map((f) => basename(f.file)))];
      process.stdout.write(opts.json ? JSON.stringify(findingsJson(sources, findings), null, 2) + '\n' : renderFindings(findings));
    });
}
