// A night made of parts (shard runs, fleet job results): merged into one run, then what an
// unsharded night gets: report.html, junit.xml and kcidb.json, and with a history database the
// import and alerts. `daxlab merge` and `daxlab enqueue` share it, so a night looks the same
// however it was run.
import { exportRun } from '../export/command.ts';
import type { DbTarget } from '../history/db/target.ts';
import { writeRunReport } from '../report/command.ts';
import type { RunSummary } from '../results/types.ts';
import { loadScenarioFile } from '../scenario/load.ts';
import { displayPath } from '../util/paths.ts';
import { judgeNight } from './evaluate.ts';
import { mergeRuns } from './merge.ts';

export interface Published {
  dir: string;
  summary: RunSummary;
  missing: number[];
  /** 0: every step passed or skipped, nothing missing, no alert; 1 otherwise. */
  exitCode: number;
}

/** Merge `refs` into `out` and publish the night; `parts` names the parts in messages. */
export async function mergeAndPublish(refs: readonly string[], out: string, target: DbTarget | undefined, parts = 'shards'): Promise<Published> {
  // The summary mergeRuns wrote is the merged run's: no need to read the log back.
  const { dir, merged, summary: s } = await mergeRuns(refs, out);
  await writeRunReport(dir, s);
  // The merged night is what CI and a lab dashboard read, as they would an unsharded night's;
  // written before the judge, as the report is, so a database that is down leaves both.
  const ex = await exportRun(s, { junit: `${dir}/junit.xml`, kcidb: `${dir}/kcidb.json` });
  // A night with parts missing is not judged: its missing work would read as a change.
  const judged = target && !merged.missing.length ? await judgeNight(target, s, await Promise.all(s.scenarios.map((x) => loadScenarioFile(x.file))), { pageDir: dir }) : undefined;
  // Again, to link the history.html the judge wrote.
  if (judged?.historyPage) await writeRunReport(dir, s);
  process.stdout.write(`${displayPath(dir)}: ${s.statusReason ?? s.status}\n`);
  for (const l of ex.lines) process.stdout.write(`${l}\n`);
  if (judged) process.stdout.write(`${judged.dbLine}\n`);
  if (merged.missing.length) process.stderr.write(`daxlab: ${parts} ${merged.missing.join(', ')} missing: the merged run is marked interrupted${target ? ' and not compared with history' : ''}\n`);
  const bad = s.steps.some((x) => x.status !== 'pass' && x.status !== 'skip');
  return { dir, summary: s, missing: merged.missing, exitCode: bad || merged.missing.length || judged?.alerts.length ? 1 : 0 };
}
