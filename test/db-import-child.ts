// For test/db-import.test.ts: a real process importing a run that stops inside its transaction
// after one table's rows (and says so on stdout), to be killed there with SIGKILL.
// Usage: node --import=tsx test/db-import-child.ts DB_URL RUN_DIR TABLE
import { openHistoryDb } from '../harness/history/db/connect.ts';
import { importRunDir } from '../harness/history/db/import.ts';
import { parseDbTarget } from '../harness/history/db/target.ts';

const [url, dir, table] = process.argv.slice(2);
if (!url || !dir || !table) throw new Error('usage: db-import-child.ts DB_URL RUN_DIR TABLE');
const h = await openHistoryDb(parseDbTarget(url, {}));
await importRunDir(h, dir, {
  afterTable: async (t) => {
    if (t !== table) return;
    process.stdout.write(`paused after ${t}\n`);
    // Hold the transaction open until killed (the timer keeps a SQLite-only process alive).
    await new Promise(() => setInterval(() => undefined, 60_000));
  },
});
throw new Error(`db-import-child: the import finished without reaching ${table}`);
