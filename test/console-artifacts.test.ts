// Emulator artifacts, table-driven: each console log in test/data/artifacts has its expected
// artifacts and findings, under TCG and under KVM, in <name>.expected.json beside it. Real kernel
// reports (every captured splat) must never be taken for artifacts.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifactRule, trappedByte } from '../harness/console/artifacts.ts';
import { parseConsoleText } from '../harness/console/parser.ts';
import { BootConsole } from '../harness/engine/boot-console.ts';

const DIR = 'test/data/artifacts';
interface Expect {
  artifacts: { rule: string; title: string; step?: number; fromStep: number }[];
  findings: string[];
}

function feed(text: string, accel: string): BootConsole {
  const c = new BootConsole(accel);
  for (const l of text.split('\n')) c.push(l);
  c.end();
  return c;
}

const LOGS = readdirSync(DIR).filter((f) => f.endsWith('.log'));

test('every captured log has its expected results beside it (and there are logs: *.log is git-ignored)', (t) => {
  t.true(LOGS.length >= 3, `${LOGS.length} logs in ${DIR}`);
  for (const f of readdirSync(DIR).filter((x) => x.endsWith('.expected.json'))) t.true(LOGS.includes(f.replace(/\.expected\.json$/, '.log')), `${f} has its log`);
});

for (const log of LOGS) {
  const expected = JSON.parse(readFileSync(join(DIR, log.replace(/\.log$/, '.expected.json')), 'utf8')) as Record<'tcg' | 'kvm', Expect>;
  for (const accel of ['tcg', 'kvm'] as const) {
    test(`${log} under ${accel}`, (t) => {
      const c = feed(readFileSync(join(DIR, log), 'latin1'), accel);
      const want = expected[accel];
      t.deepEqual(
        c.artifacts.map((a) => ({ rule: a.rule, title: a.title, ...(a.step !== undefined ? { step: a.step } : {}), fromStep: a.fromStep })),
        want.artifacts,
      );
      t.deepEqual(c.all.map((f) => f.title), want.findings, 'artifacts are not findings; everything else is');
      t.is(c.taintedFrom, want.artifacts[0]?.fromStep);
    });
  }
}

test('no captured kernel report is taken for an emulator artifact', (t) => {
  const dir = 'test/data/console';
  let n = 0;
  for (const log of readdirSync(dir).filter((f) => f.endsWith('.log') && !f.includes('int3'))) {
    for (const f of parseConsoleText(readFileSync(join(dir, log), 'latin1'))) {
      n++;
      t.is(artifactRule(f, 'tcg'), undefined, `${log}: ${f.title}`);
    }
  }
  t.true(n > 30, `${n} real reports checked`);
});

test('the trapped byte is read from the Code: line of the report', (t) => {
  t.is(trappedByte('RIP: 0010:x+0x1/0x2\nCode: 90 90 eb <2e> f0'), 'eb');
  t.is(trappedByte('Code: 90 cc <2e> f0'), 'cc');
  t.is(trappedByte('Code: Unable to access opcode bytes at 0x46182d.'), undefined);
  // no Code: bytes, no evidence: a report stays a finding
  t.is(artifactRule({ kind: 'oops', title: 'Oops: int3 in put_page', text: 'Oops: int3: 0000 [#1]' }, 'tcg'), undefined);
});
