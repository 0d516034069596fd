// `daxlab nightly PLAN.yaml [--shard i/n]` runs a plan's matrix (or one shard of it) as one run,
// and writes junit.xml and kcidb.json beside it; `daxlab merge DIR... --out DIR` joins shards.
// History, change-point alerts and the worker fleet build on these (issue 11).
import type { Command } from 'commander';
import { exportRun } from '../export/command.ts';
import { checkOutDir } from '../results/store.ts';
import { reportRun, type RunCancel } from '../run/command.ts';
import { addGuestOptions, guestSettings, intFlag, type GuestFlags } from '../run/guest-flags.ts';
import { progressRenderer } from '../run/progress.ts';
import { run } from '../run/runner.ts';
import { mergeAndPublish } from './publish.ts';
import { loadPlanFile, planGuest } from './plan.ts';
import { parseShard } from './shard.ts';
import { judgeNight, type Judged } from './evaluate.ts';
import { DB_ENV, DEFAULT_DB_FILE, parseDbTarget } from '../history/db/target.ts';
import { resolveScenarios } from '../scenario/load.ts';
import { recordedCommand } from '../util/secrets.ts';

interface NightlyFlags extends GuestFlags {
  shard?: string;
  db?: string;
  out?: string;
  jobs?: string;
}

export function registerNightlyCommands(program: Command, cancel: RunCancel): void {
  const cmd = program
    .command('nightly')
    .description("run a nightly plan's kernels x scenarios x variants x boots (or one shard of it); writes junit.xml and kcidb.json in the run")
    .argument('<plan>', 'nightly plan YAML (see images/nightly/sample-plan.yaml)')
    .option('--shard <i/n>', 'run shard i of n (1-based): the matrix split evenly by estimated cost, the same split on every machine')
    .option('-o, --out <dir>', 'results directory (default results/<run-id>)')
    .option('-j, --jobs <n>', 'guests at once (default: as many as host CPUs and free memory allow)')
    .option('--db <url>', `history database: postgres://USER@HOST[:PORT]/DB, sqlite:PATH or a file (default: $${DB_ENV}, else <results>/${DEFAULT_DB_FILE})`);
  addGuestOptions(cmd).action(async (planFile: string, f: NightlyFlags) => {
    const plan = await loadPlanFile(planFile);
    const target = parseDbTarget(f.db);
    const shard = f.shard === undefined ? undefined : parseShard(f.shard);
    const guest = planGuest(plan, guestSettings(f));
    const jobs = f.jobs === undefined ? 'auto' : intFlag('--jobs', f.jobs, 64);
    if (f.out) await checkOutDir(f.out);
    const r = await run({
      scenarioArgs: plan.scenarioArgs,
      kernels: plan.kernels.map((k) => `${k.name}=${k.spec}`),
      outDir: f.out,
      accel: f.accel,
      tcgThread: f.tcgThread,
      guest,
      concurrency: jobs,
      overrides: plan.overrides,
      plan: { name: plan.name, hash: plan.hash, boots: plan.boots, ...(shard ? { shard } : {}) },
      command: recordedCommand(),
      progress: progressRenderer({ write: (s) => process.stderr.write(s), tty: Boolean(process.stderr.isTTY) && !process.env['CI'] }),
      signal: cancel.signal,
      onRecording: cancel.recording,
    });
    // Alerts first: what got slower or newly splats is the morning's answer. A shard is part of a
    // night; its night is judged once the shards are merged and imported.
    // The CI files first: a history database that is down must not cost the night its JUnit/KCIDB.
    const ex = await exportRun(r.summary, { junit: `${r.dir}/junit.xml`, kcidb: `${r.dir}/kcidb.json` });
    let judged: Judged;
    try {
      judged = shard
        ? { alerts: [], dbLine: `shard ${shard.index}/${shard.count}: not compared with history (merge the shards with daxlab merge --db)` }
        : r.summary.status === 'completed'
          ? await judgeNight(target, r.summary, await resolveScenarios(plan.scenarioArgs), { pageDir: r.dir })
          : { alerts: [], dbLine: `run ${r.summary.status}: not imported or compared with history (finish it with daxlab run --resume ${r.summary.runId}, then daxlab db import)` };
    } finally {
      // After the judge, so report.html links the history.html it wrote; also when it failed.
      await reportRun(r, cancel);
    }
    for (const l of [...ex.lines, judged.dbLine]) process.stdout.write(`${l}\n`);
    if (judged.alerts.length) process.exitCode = 1;
  });

  program
    .command('merge')
    .description('merge the shard runs of one nightly plan into one run (with report.html, junit.xml and kcidb.json)')
    .argument('<runs...>', 'shard runs: run ids or results directories')
    .requiredOption('-o, --out <dir>', 'results directory of the merged run (must not exist)')
    .option('--db [url]', `also import the merged night into the history database and compare it with its history (default database: $${DB_ENV}, else <results>/${DEFAULT_DB_FILE})`)
    .action(async (runs: string[], o: { out: string; db?: string | boolean }) => {
      const target = o.db === undefined || o.db === false ? undefined : parseDbTarget(o.db === true ? undefined : o.db);
      process.exitCode = (await mergeAndPublish(runs, o.out, target)).exitCode;
    });
}
