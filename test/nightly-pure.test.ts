// Nightly plans, sharding and merging, without QEMU: plan files parsed like scenarios, the shard
// split on planned items, and merge on the event logs of a real two-shard run (test/data/nightly).
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeEvents } from '../harness/nightly/merge.ts';
import { loadPlanFile, parsePlanText, planGuest } from '../harness/nightly/plan.ts';
import { bootSlots, parseShard, shardItems } from '../harness/nightly/shard.ts';
import { workItems, type WorkItem } from '../harness/plan/plan.ts';
import { parseEventLog } from '../harness/results/event-log.ts';
import { RunView } from '../harness/results/view.ts';
import type { Scenario } from '../harness/scenario/schema.ts';
import { UserError } from '../harness/util/errors.ts';

const DATA = join(import.meta.dirname, 'data', 'nightly');

test('the sample plan and the test plan load; paths are relative to the plan file', async (t) => {
  const sample = await loadPlanFile('images/nightly/sample-plan.yaml');
  t.deepEqual(sample.kernels.map((k) => k.name), ['debian-6.12', 'debug-dax']);
  t.regex(sample.kernels[1]?.spec ?? '', /\/images\/kernels\/debug-6\.12\.yaml$/);
  t.deepEqual(sample.overrides, { filesystems: ['ext4', 'xfs'], daxModes: ['always', 'never'], repetitions: 2 });
  t.is(sample.boots, 2);
  const p = await loadPlanFile(join(DATA, 'tl-two-boots.yaml'));
  t.regex(p.scenarioArgs[0] ?? '', /\/test\/data\/scenarios\/tl-quick$/);
  t.regex(p.hash, /^[0-9a-f]{16}$/);
  // Comments do not change what the plan asks for.
  t.is(parsePlanText(`# a comment\n${readFileSync(join(DATA, 'tl-two-boots.yaml'), 'utf8')}`, join(DATA, 'tl-two-boots.yaml')).hash, p.hash);
});

test('bad plans: one line naming file, line and field, with what was given', (t) => {
  const bad = (text: string): string => (t.throws(() => parsePlanText(text, join(DATA, 'bad.yaml')), { instanceOf: UserError }) as UserError).oneLine();
  t.regex(bad('name: n\nkernels: {a: debian:6.12}\nbots: 2\n'), /bad\.yaml:3: bots: unknown key \(did you mean 'boots'\?\)$/);
  t.regex(bad('name: n\nkernels: {Big Name: debian:6.12}\n'), /bad\.yaml:2: kernels\.Big Name: kernel names: lower-case/);
  t.regex(bad('name: n\nkernels: {}\n'), /bad\.yaml:2: kernels: give at least one/);
  t.regex(bad('name: n\nkernels: {a: debian:6.12}\nboots: 0\n'), /bad\.yaml:3: boots: must be at least 1, got 0$/);
  t.regex(bad('kernels: {a: debian:6.12}\n'), /bad\.yaml:1: name: required field is missing$/);
  t.regex(bad('name: n\nkernels: {a: debian:6.12}\ndax: [alway]\n'), /dax\.0: expected one of always, never, inode; got 'alway' \(did you mean 'always'\?\)$/);
});

const scenario = (id: string, over: Partial<Scenario> = {}): Scenario => ({
  id, title: id, description: '', file: `/s/${id}.yaml`, reproducerSource: `/s/${id}.c`, args: [], filesystems: ['ext4', 'xfs'], daxModes: ['always', 'never'],
  pmemBytes: 1024 ** 3, scratch: false, scratchIops: undefined, repetitions: 2, timeoutS: 60, isDefault: false, checks: '', references: [], requires: [], expect: '',
  verdictRules: '', metrics: {}, metricBetter: {}, allowFindings: [], ...over,
});

test('shards: deterministic, disjoint, covering, even by estimated cost; a unit keeps its boot', (t) => {
  const scen = [scenario('a'), scenario('b', { repetitions: 5 }), scenario('c', { timeoutS: 5 }), scenario('d', { filesystems: ['ext4'] })];
  const all: WorkItem[] = bootSlots(['k1', 'k2'].flatMap((k) => workItems(k, scen, new Map())), 3);
  for (const n of [1, 2, 3, 5, 7]) {
    const parts = Array.from({ length: n }, (_, i) => shardItems(all, { index: i + 1, count: n }));
    const keys = parts.flat().map((i) => i.key);
    t.is(keys.length, all.length, `${n} shards cover every item once`);
    t.is(new Set(keys).size, all.length);
    t.deepEqual(shardItems(all, { index: 1, count: n }).map((i) => i.key), parts[0]?.map((i) => i.key), 'same split every time');
    // A (kernel, boot slot, scenario) never spans two shards.
    const unitOf = (i: WorkItem): string => `${i.kernel}/${i.slot}/${i.scenario}`;
    const owner = new Map<string, number>();
    parts.forEach((p, j) => p.forEach((i) => t.is(owner.get(unitOf(i)) ?? j, j) || owner.set(unitOf(i), j)));
    if (n > 1) {
      const cost = parts.map((p) => p.length);
      t.true(Math.max(...cost) <= 2 * Math.min(...cost) + 10, `${n} shards: items per shard ${cost.join(' ')}`);
    }
  }
  t.deepEqual(bootSlots(all.slice(0, 1), 1), all.slice(0, 1));
  t.throws(() => parseShard('3/2'), { message: "--shard must be i/n with 1 <= i <= n <= 1000 (e.g. 2/4), got '3/2'" });
  t.throws(() => parseShard('1of2'), { instanceOf: UserError });
  t.deepEqual(parseShard('2/4'), { index: 2, count: 4 });
});

const shardLog = (name: string) => ({ dir: `/r/${name}`, events: parseEventLog(readFileSync(join(DATA, 'shards', `${name}.jsonl`), 'utf8'), name).events });

test('merge of a real two-shard run: boots renumbered, logs renamed, one run with every step', (t) => {
  const m = mergeEvents([shardLog('s1'), shardLog('s2')], 'merged-1', ['merge']);
  const s = RunView.of(m.events).summary;
  t.is(s.status, 'completed');
  t.deepEqual(s.steps.map((x) => `${x.key} boot ${x.boot}`), ['deb/tl-quick:ext4:always:r1@1 boot 1', 'deb/tl-quick:xfs:always:r1@1 boot 1', 'deb/tl-quick:ext4:always:r1@2 boot 2', 'deb/tl-quick:xfs:always:r1@2 boot 2']);
  t.deepEqual(s.boots.map((b) => b.consoleLog), ['console-1.log', 'console-2.log']);
  t.deepEqual(m.renames.map(([d, from, to]) => `${d}:${from}>${to}`), ['/r/s1:console-1.log>console-1.log', '/r/s1:agent-1.log>agent-1.log', '/r/s2:console-1.log>console-2.log', '/r/s2:agent-1.log>agent-2.log']);
  t.is(s.kernels.length, 1);
  t.is(s.plan?.shard, undefined, 'the merged run is the whole plan');
  t.regex(s.statusReason ?? '', /shards 1,2 of 2$/);
  // One shard alone: a partial merge says what is missing.
  const half = mergeEvents([shardLog('s2')], 'merged-2', ['merge']);
  t.deepEqual(half.missing, [1]);
  t.is(RunView.of(half.events).summary.status, 'interrupted');
});

test('merge refuses shards of different plans, a shard given twice, and runs that are not shards', (t) => {
  const s1 = shardLog('s1');
  const s2 = shardLog('s2');
  const other = { ...s2, events: s2.events.map((e) => (e.type === 'run-started' && e.plan ? { ...e, plan: { ...e.plan, hash: '0000000000000000' } } : e)) };
  t.throws(() => mergeEvents([s1, other], 'm', []), { message: /\/r\/s2: a shard of plan tl-two-boots 0000000000000000, not of tl-two-boots [0-9a-f]{16}/ });
  t.throws(() => mergeEvents([s1, s1], 'm', []), { message: 'shard 1/2 given twice' });
  const plain = { ...s1, events: s1.events.map((e) => (e.type === 'run-started' ? { ...e, plan: undefined } : e)) };
  t.throws(() => mergeEvents([plain], 'm', []), { message: /not a shard of a nightly plan/ });
  const otherKernel = { ...s2, events: s2.events.map((e) => (e.type === 'kernel-ready' ? { ...e, kernel: { ...e.kernel, identity: { ...e.kernel.identity, sha256: 'different' } } } : e)) };
  t.throws(() => mergeEvents([s1, otherKernel], 'm', []), { message: /kernel deb is .* here but .* in another shard/ });
  const otherClock = { ...s2, events: s2.events.map((e) => (e.type === 'run-started' ? { ...e, guest: { ...e.guest, clock: 'icount' as const } } : e)) };
  t.throws(() => mergeEvents([s1, otherClock], 'm', []), { message: /\/r\/s2: guest clock=icount cpus=2 mem=2048M, the first shard's is clock=host cpus=2 mem=2048M \(give every shard the same --clock/ });
});

test("a plan's guest clock: icount unless the plan or --clock says host; the default leaves the plan hash as it was", (t) => {
  const text = readFileSync(join(DATA, 'tl-two-boots.yaml'), 'utf8');
  const file = join(DATA, 'tl-two-boots.yaml');
  const p = parsePlanText(text, file);
  t.is(p.clock, 'icount');
  t.is(planGuest(p, {} as { clock?: 'host' | 'icount' }).clock, 'icount');
  t.is(planGuest(p, { clock: 'host' as const }).clock, 'host');
  t.is(parsePlanText(`${text}\nclock: icount\n`, file).hash, p.hash);
  const host = parsePlanText(`${text}\nclock: host\n`, file);
  t.is(host.clock, 'host');
  t.not(host.hash, p.hash);
  const e = t.throws(() => parsePlanText(`${text}\nclock: wall\n`, file), { instanceOf: UserError }) as UserError;
  t.regex(e.oneLine(), /tl-two-boots\.yaml:\d+: clock: expected one of host, icount; got 'wall'$/);
});
