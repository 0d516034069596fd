// Preload for test/db-cli.test.ts and test/fleet.test.ts (node --import): appends to
// $DAXLAB_LOAD_PROBE the name of every database or Redis module the process loads (kysely, pg,
// better-sqlite3, bullmq, ioredis), through ESM imports (a resolve hook) or require (the
// CommonJS cache at exit), so a test can show that commands which use neither never load them.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const file = process.env.DAXLAB_LOAD_PROBE;
const NAMES = /^(kysely|pg|better-sqlite3|bullmq|ioredis)$/;
if (file) {
  const hooks = `
    import { appendFileSync } from 'node:fs';
    export async function resolve(spec, ctx, next) {
      if (${NAMES}.test(spec)) appendFileSync(${JSON.stringify(file)}, 'import ' + spec + '\\n');
      return next(spec, ctx);
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => {
    const seen = new Set(Object.keys(cache).map((k) => /\/node_modules\/(kysely|pg|better-sqlite3|bullmq|ioredis)\//.exec(k)?.[1]).filter(Boolean));
    for (const name of seen) appendFileSync(file, `require ${name}\n`);
  });
}
