// daxlab command line. Bad input exits 2 with one line; a run whose steps did not all pass exits 1.
import { Command, CommanderError } from 'commander';
import { registerAbCommand } from './ab/command.ts';
import { registerCatalogCommand } from './catalog/command.ts';
import { registerFindingsCommand } from './console/command.ts';
import { registerFleetCommands } from './fleet/command.ts';
import { registerExportCommand } from './export/command.ts';
import { registerDbCommands } from './history/command.ts';
import { registerKernelCommands } from './kernel/command.ts';
import { registerNightlyCommands } from './nightly/command.ts';
import { registerHistoryCommand } from './nightly/history.ts';
import { registerReportCommand } from './report/command.ts';
import { registerRunCommand } from './run/command.ts';
import { runCleanups } from './util/cleanup.ts';
import { oneLineSafe, UserError, USER_ERROR_EXIT } from './util/errors.ts';

// Signals: while a run records results, the first one cancels it (the run writes what it has and
// returns; the exit code says which signal); otherwise, or on a second signal, clean up and exit.
// This is the only place daxlab exits the process.
const controller = new AbortController();
let recording = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (recording && !controller.signal.aborted) {
      controller.abort(sig);
      return;
    }
    runCleanups();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}
const cancel = { signal: controller.signal, recording: (): void => void (recording = true) };

const program = new Command();
program
  .name('daxlab')
  .description('Boot kernels in QEMU with emulated NVDIMM and run filesystem-DAX reproducers')
  // Usage errors are bad input like any other: one line, no help screen after it.
  // commander puts its "(Did you mean --x?)" on a line of its own: join it to the one line.
  .configureOutput({ outputError: (msg, write) => write(oneLineSafe(`daxlab: ${msg.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')} (see --help)`) + '\n') })
  .exitOverride();

registerRunCommand(program, cancel);
registerAbCommand(program, cancel);
registerNightlyCommands(program, cancel);
registerFleetCommands(program, cancel);
registerHistoryCommand(program);
registerKernelCommands(program);
registerCatalogCommand(program);
registerFindingsCommand(program);
registerReportCommand(program);
registerExportCommand(program);
registerDbCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof UserError) {
    process.stderr.write(e.lines().join('\n') + '\n');
    process.exitCode = USER_ERROR_EXIT;
  } else if (e instanceof CommanderError) {
    // help and version exit 0; usage errors are bad input
    process.exitCode = e.exitCode === 0 ? 0 : USER_ERROR_EXIT;
  } else {
    throw e;
  }
}
