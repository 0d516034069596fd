import test from 'ava';
import { agentScript, nextBootBatch, planBoot, shQuote, workItems } from '../harness/plan/plan.ts';
import type { Scenario } from '../harness/scenario/schema.ts';

const scenario = (over: Partial<Scenario> = {}): Scenario => ({
  id: 'tl', title: 'tl', description: '', file: '/x/scenario.yaml', reproducerSource: '/x/tl.c', args: ['--iterations', '5'],
  filesystems: ['ext4', 'xfs'], daxModes: ['always', 'never'], pmemBytes: 1024 ** 3, scratch: false, repetitions: 2,
  timeoutS: 30, isDefault: true, checks: '', references: [], requires: [], expect: '', metrics: {}, metricBetter: {}, allowFindings: [], scratchIops: undefined, verdictRules: '', ...over,
});

test('work items expand filesystem x dax x repetitions with stable keys', (t) => {
  const items = workItems('k', [scenario()], new Map([['tl', 'tl-bin']]));
  t.is(items.length, 8);
  t.deepEqual(items.slice(0, 2).map((i) => i.key), ['k/tl:ext4:always:r1', 'k/tl:ext4:always:r2']);
  t.is(items[7]?.key, 'k/tl:xfs:never:r2');
  t.is(items[0]?.binary, 'tl-bin');
});

test('one boot creates the namespace once and mkfs+mounts per variant', (t) => {
  const plan = planBoot(workItems('k', [scenario()], new Map()), { pmemBytes: 1024 ** 3 });
  const labels = plan.steps.map((s) => s.label);
  t.is(labels.filter((l) => l === 'create fsdax namespace').length, 1);
  t.is(labels.filter((l) => l.startsWith('mkfs ')).length, 4);
  t.deepEqual(plan.groups, ['ext4-dax=always', 'ext4-dax=never', 'xfs-dax=always', 'xfs-dax=never']);
  t.deepEqual(plan.steps.map((s) => s.n), plan.steps.map((_, i) => i + 1));
  t.is(plan.scratchBytes, 0);
  const xfsMount = plan.steps.find((s) => s.label === 'mount xfs dax=never');
  t.deepEqual(xfsMount?.argv, ['mount', '-t', 'xfs', '-o', 'dax=never', '/dev/pmem0', '/mnt/dax']);
});

test('scratch disk is planned only when a scenario asks for it', (t) => {
  const plan = planBoot(workItems('k', [scenario({ scratch: true, filesystems: ['ext4'], daxModes: ['always'], repetitions: 1 })], new Map()), { pmemBytes: 1024 ** 3 });
  t.true(plan.scratchBytes > 0);
  t.true(plan.steps.some((s) => s.label === 'mount scratch'));
  t.is(plan.steps.find((s) => s.kind === 'repro')?.env['DAXLAB_SCRATCH'], '/mnt/scratch');
  t.is(plan.scratchIops, undefined);
  const throttled = planBoot(workItems('k', [scenario({ scratch: true, scratchIops: 200 }), scenario({ id: 'b', scratch: true, scratchIops: 50 })], new Map()), { pmemBytes: 1024 ** 3 });
  t.is(throttled.scratchIops, 50, 'the tightest throttle asked for wins');
});

test('shell quoting survives hostile arguments', (t) => {
  t.is(shQuote('plain-arg_1.0'), 'plain-arg_1.0');
  t.is(shQuote("it's"), `'it'\\''s'`);
  t.is(shQuote('$(reboot)'), `'$(reboot)'`);
  const script = agentScript(planBoot(workItems('k', [scenario({ args: ['a b', '`x`'], filesystems: ['ext4'], daxModes: ['always'], repetitions: 1 })], new Map()), { pmemBytes: 1024 ** 3 }));
  t.regex(script, /run_step 4 repro 30 env .* \/daxlab\/bin\/tl 'a b' '`x`'/);
  // Each step is named for the console markers: its work item, or the setup's label.
  t.regex(script, /\nname k\/tl:ext4:always:r1\nrun_step 4 repro /);
  t.regex(script, /\nname 'mkfs ext4'\nrun_step \d setup /);
});

test('destructive scenarios run alone, after every shared item', (t) => {
  const items = workItems('k', [scenario({ id: 'teardown', ownBoot: true, repetitions: 1, daxModes: ['always'] }), scenario({ repetitions: 1, filesystems: ['ext4'], daxModes: ['always'] })], new Map());
  const first = nextBootBatch(items);
  t.deepEqual(first.map((i) => i.scenario), ['tl']);
  const rest = items.filter((i) => !first.includes(i));
  t.deepEqual(nextBootBatch(rest).map((i) => i.key), ['k/teardown:ext4:always:r1']);
  t.is(nextBootBatch(rest.slice(1)).length, 1);
});

test('a pmem template replaces create-namespace and the first mkfs with one check step that can fall back', (t) => {
  const items = workItems('k', [scenario({ repetitions: 1 })], new Map());
  const plan = planBoot(items, { pmemBytes: 1024 ** 3, template: 'ext4' });
  const labels = plan.steps.map((s) => s.label);
  t.is(plan.template, 'ext4');
  t.deepEqual(labels.slice(0, 3), ["fsdax namespace + mkfs ext4 from the host's pmem template", 'mount ext4 dax=always', 'k/tl:ext4:always:r1']);
  t.false(labels.includes('create fsdax namespace'));
  t.is(labels.filter((l) => l.startsWith('mkfs ')).length, 3, 'every later group still runs mkfs in the guest');
  // The check is a shell case on pmem0's parent device; the fallback is the usual two commands.
  const script = plan.steps[0]?.argv[2] ?? '';
  t.deepEqual(plan.steps[0]?.argv.slice(0, 2), ['sh', '-c']);
  t.regex(script, /readlink \/sys\/block\/pmem0\/device/);
  t.regex(script, /\*\/pfn\*\) echo "pmem0: fsdax on/);
  t.regex(script, /pmem0 was not fsdax at boot .*>&2; ndctl create-namespace -f -e namespace0\.0 -m fsdax -a 2M >\/dev\/null && mkfs\.ext4 -F -q -b 4096 \/dev\/pmem0 ;;/);
  // A template of another filesystem than the first group's is not used.
  const other = planBoot(items, { pmemBytes: 1024 ** 3, template: 'xfs' });
  t.is(other.template, undefined);
  t.is(other.steps[0]?.label, 'create fsdax namespace');
});

test('a filesystem module set is inserted right before the first group that needs it', (t) => {
  const items = workItems('k', [scenario({ repetitions: 1 })], new Map());
  const plan = planBoot(items, { pmemBytes: 1024 ** 3, moduleFs: ['ext4', 'xfs'] });
  t.deepEqual(plan.startFs, ['ext4']);
  const labels = plan.steps.map((s) => s.label);
  t.is(labels.filter((l) => l === 'insmod xfs').length, 1);
  t.is(labels.indexOf('insmod xfs') + 1, labels.indexOf('mkfs xfs'), 'just before the first xfs mkfs');
  t.true(labels.indexOf('insmod xfs') > labels.indexOf('umount ext4'));
  const step = plan.steps.find((s) => s.label === 'insmod xfs');
  t.like(step, { kind: 'setup', group: 'xfs-dax=always', loads: 'xfs' });
  t.deepEqual(step?.argv.slice(-2), ['insmod', '/daxlab/modules-xfs.list']);
  // A monolithic kernel, or a scratch disk (ext4 at the start): no insmod step for ext4.
  t.false(planBoot(items, { pmemBytes: 1024 ** 3 }).steps.some((s) => s.loads));
  const xfsFirst = workItems('k', [scenario({ repetitions: 1, filesystems: ['xfs', 'ext4'], scratch: true })], new Map());
  const p2 = planBoot(xfsFirst, { pmemBytes: 1024 ** 3, moduleFs: ['ext4', 'xfs'] });
  t.deepEqual(p2.startFs.sort(), ['ext4', 'xfs']);
  t.false(p2.steps.some((s) => s.loads));
});
