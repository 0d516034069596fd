import test from 'ava';
import { readFileSync } from 'node:fs';
import { LineSplitter, parseAgentLine, type AgentEvent } from '../harness/agent/protocol.ts';
import { parseReproOutput } from '../harness/results/output.ts';
import { stepVerdict } from '../harness/results/verdict.ts';

const log = readFileSync(new URL('./data/agent/agent-6.12-truncate-latency.log', import.meta.url), 'utf8');

test('a real agent log parses into hello, begin/end pairs and reproducer output', (t) => {
  const evs = log.split('\n').map(parseAgentLine).filter((e): e is AgentEvent => e !== undefined);
  const hello = evs.find((e) => e.event === 'hello');
  t.is(hello?.event === 'hello' ? hello.release : '', '6.12.117+deb12-amd64');
  const begins = evs.filter((e) => e.event === 'begin').map((e) => e.step);
  const ends = evs.filter((e) => e.event === 'end').map((e) => e.step);
  t.deepEqual(begins, ends);
  t.true(begins.length >= 5);
  t.is(evs.at(-1)?.event, 'bye');
  const outs = evs.flatMap((e) => (e.event === 'out' && e.step === 4 ? [e.text] : []));
  const parsed = parseReproOutput(outs);
  t.is(parsed.samples['truncate']?.values.length, 100);
  t.is(parsed.samples['truncate']?.unit, 'ns');
  t.is(parsed.verdict?.verdict, 'pass');
  t.true((parsed.metrics['truncate_total']?.value ?? 0) > 0);
});

test('noise, CRs and partial lines on the channel are tolerated', (t) => {
  t.is(parseAgentLine('garbage'), undefined);
  t.deepEqual(parseAgentLine('\x00\x00@@DX 3 end done 0 120\r'), { step: 3, event: 'end', status: 'done', exitCode: 0, ms: 120 });
  t.deepEqual(parseAgentLine('@@DX 3 end hung - 5000'), { step: 3, event: 'end', status: 'hung', exitCode: null, ms: 5000 });
  t.is(parseAgentLine('@@DX 3 end exploded 0 1'), undefined);
  t.deepEqual(parseAgentLine('@@DX 7 out  leading space kept'), { step: 7, event: 'out', text: ' leading space kept' });
  const sp = new LineSplitter(10);
  t.deepEqual(sp.push('ab\ncd'), ['ab']);
  t.deepEqual(sp.push('ef\n'), ['cdef']);
  t.deepEqual(sp.push('x'.repeat(25)), ['x'.repeat(10)]);
});

test('verdicts follow exit status, signals, timeouts and the stricter of exit and verdict line', (t) => {
  const none = parseReproOutput([]);
  const end = (exitCode: number | null, status: 'done' | 'timeout' | 'hung' = 'done') => ({ status, exitCode, timeoutS: 30 });
  t.is(stepVerdict(end(0), none).status, 'pass');
  t.is(stepVerdict(end(1), none).status, 'fail');
  t.is(stepVerdict(end(77), none).status, 'skip');
  t.deepEqual(stepVerdict(end(139), none), { status: 'error', reason: 'killed by SIGSEGV' });
  t.is(stepVerdict(end(null, 'timeout'), none).status, 'timeout');
  t.is(stepVerdict(end(null, 'hung'), none).status, 'hung');
  const failLine = parseReproOutput(['{"type":"verdict","verdict":"fail","reason":"stale data at 0x1000"}']);
  t.deepEqual(stepVerdict(end(0), failLine), { status: 'fail', reason: 'stale data at 0x1000' });
  t.is(stepVerdict(end(3), none).status, 'error');
});

test('non-JSON and malformed JSON output lines are kept as text, not lost', (t) => {
  const p = parseReproOutput(['hello', '{"type":"sample","name":"x"}', '{broken', '{"type":"metric","name":"m","value":2,"unit":"s"}']);
  t.deepEqual(p.text, ['hello', '{"type":"sample","name":"x"}', '{broken']);
  t.deepEqual(p.metrics['m'], { unit: 's', value: 2 });
});
