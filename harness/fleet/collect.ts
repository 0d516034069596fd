// The collector's file edge: the night's job results (one per job id, jobs.ts pickResults) as
// shard run directories, merged and published as one night (nightly/publish.ts), the job runs
// kept under the night's `jobs/` for a look at any one of them.
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DbTarget } from '../history/db/target.ts';
import { mergeAndPublish, type Published } from '../nightly/publish.ts';
import { UserError } from '../util/errors.ts';
import { pickResults, type JobResult } from './jobs.ts';
import { unpackResult } from './result.ts';

export async function publishJobResults(results: readonly JobResult[], jobIds: readonly string[], out: string, target: DbTarget | undefined): Promise<Published> {
  const picked = pickResults(results, jobIds);
  if (!picked.length) throw new UserError('no job of the night has a result: nothing to merge');
  const tmp = resolve(`${out}.jobs-tmp-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  try {
    const dirs = picked.map((r) => {
      const d = join(tmp, String(r.unit.index));
      unpackResult(r, d);
      return d;
    });
    const pub = await mergeAndPublish(dirs, out, target, 'jobs');
    renameSync(tmp, join(pub.dir, 'jobs'));
    return pub;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
