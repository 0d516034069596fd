// The CI examples in images/nightly/ci/ stay true to the CLI: the shard count of the matrix and
// the Indexed Job agrees with the n of --shard, every index gives a valid shard, the plan they
// name loads, and every option their daxlab commands use is one the command has.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { loadPlanFile } from '../harness/nightly/plan.ts';
import { parseShard } from '../harness/nightly/shard.ts';
import { daxlab, root } from './helpers.ts';

const file = (f: string): string => readFileSync(join(root, 'images/nightly/ci', f), 'utf8');

/** `./daxlab CMD ... --opt ...` lines of a shell script: [command, long options]. */
function daxlabCalls(script: string): [string, string[]][] {
  return [...script.matchAll(/\.\/daxlab (\w+)([^\n]*)/g)].map((m) => [m[1] ?? '', [...(m[2] ?? '').matchAll(/(?<=\s)--[a-z-]+/g)].map((o) => o[0])]);
}

async function checkOptions(t: import('ava').ExecutionContext, calls: [string, string[]][]): Promise<void> {
  t.true(calls.length > 0);
  for (const [cmd, opts] of calls) {
    const help = await daxlab([cmd, '--help']);
    t.is(help.exitCode, 0, `${cmd}: ${String(help.all)}`);
    for (const o of opts) t.regex(String(help.stdout), new RegExp(`${o}\\b`), `daxlab ${cmd} has no ${o}`);
  }
}

interface Step {
  run?: string;
}

test('GitHub Actions example: a matrix shard per --shard index, commands the CLI has', async (t) => {
  const wf = parse(file('github-actions.yml')) as { env: Record<string, string>; jobs: Record<string, { strategy?: { matrix: { shard: number[] } }; steps: Step[] }> };
  const n = Number(wf.env['SHARDS']);
  const shards = wf.jobs['shard']?.strategy?.matrix.shard ?? [];
  t.deepEqual(shards, Array.from({ length: n }, (_, i) => i + 1));
  for (const i of shards) t.deepEqual(parseShard(`${i}/${n}`), { index: i, count: n });
  t.is((await loadPlanFile(join(root, wf.env['PLAN'] ?? ''))).name, 'sample-dax');
  const scripts = Object.values(wf.jobs).flatMap((j) => j.steps.map((s) => s.run ?? '')).join('\n');
  t.regex(scripts, /--shard \$\{\{ matrix\.shard \}\}\/\$SHARDS/);
  await checkOptions(t, daxlabCalls(scripts));
});

interface K8sJob {
  spec: { completionMode?: string; completions?: number; parallelism?: number; template: { spec: { containers: { env?: { name: string; value?: string }[]; args?: string[] }[] } } };
}

test('Kubernetes example: an Indexed Job of n completions, pod index i runs shard i+1/n', async (t) => {
  const [shardJob, mergeJob] = parseAllDocuments(file('k8s-indexed-job.yaml')).map((d) => d.toJS() as K8sJob);
  t.is(shardJob?.spec.completionMode, 'Indexed');
  const c = shardJob?.spec.template.spec.containers[0];
  const env = new Map((c?.env ?? []).map((e) => [e.name, e.value ?? '']));
  const n = Number(env.get('SHARDS'));
  t.is(shardJob?.spec.completions, n);
  t.is(shardJob?.spec.parallelism, n);
  t.is((await loadPlanFile(join(root, env.get('PLAN') ?? ''))).name, 'sample-dax');
  const script = c?.args?.join('\n') ?? '';
  // JOB_COMPLETION_INDEX is 0-based; --shard is 1-based.
  t.regex(script, /i=\$\(\(JOB_COMPLETION_INDEX \+ 1\)\)/);
  t.regex(script, /--shard "\$i\/\$SHARDS"/);
  const merge = mergeJob?.spec.template.spec.containers[0]?.args?.join('\n') ?? '';
  await checkOptions(t, daxlabCalls(`${script}\n${merge}`));
});
