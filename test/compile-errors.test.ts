// gcc and ld output captured from real failed reproducer builds (test/data/gcc, gcc 12 with
// daxlab's flags) -> the error the user sees. The CLI path with live gcc is in bad-input.test.ts.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { compileError, parseCompilerOutput } from '../harness/repro/compile.ts';

const captured = (name: string): string => readFileSync(`test/data/gcc/${name}.txt`, 'utf8');
const LOG = '/var/cache/daxlab/logs/repro-x.log';

test('an error in an included header names the header and says which line included it', (t) => {
  const f = parseCompilerOutput(captured('header'));
  t.like(f, { file: 'bad.h', line: 1, column: 29, message: 'error: ‘nope’ undeclared (first use in this function)', more: 1 });
  t.deepEqual(f?.context, [
    '    1 | static int f(void) { return nope; }',
    '      |                             ^~~~',
    'bad.h:1:29: note: each undeclared identifier is reported only once for each function it appears in',
    '(in the file included from hdr.c:1)',
  ]);
});

test('a fatal error keeps its excerpt; "compilation terminated." is not an error', (t) => {
  const e = compileError(captured('fatal'), 'fatal.c', LOG);
  t.deepEqual(e.lines(), [
    'fatal.c:1:10: fatal error: nothere.h: No such file or directory',
    '    1 | #include <nothere.h>',
    '      |          ^~~~~~~~~~~',
    `reproducer fatal.c does not compile (full log: ${LOG})`,
  ]);
});

test("link errors: the first ld error, without gcc's temporary object names, and the count of the rest", (t) => {
  const e = compileError(captured('multiple-definition'), 'link.c', LOG);
  t.deepEqual(e.lines(), [
    "link.c: error: multiple definition of 'main'; link.c:(.text.startup+0x0): first defined here (in function 'main')",
    `reproducer link.c does not compile: 2 more errors (full log: ${LOG})`,
  ]);
});

test("ld's static-linking warnings are not errors; the undefined reference is", (t) => {
  const e = compileError(captured('static-warning-link'), 'scenarios/x/gai.c', LOG);
  t.is(e.oneLine(), "scenarios/x/gai.c: error: undefined reference to 'nope' (in function 'main')");
  t.is(e.detail.at(-1), `reproducer scenarios/x/gai.c does not compile (full log: ${LOG})`);
});

test('output the parser does not know still names the reproducer and the log', (t) => {
  t.is(parseCompilerOutput(captured('bad-flag')), undefined);
  const e = compileError(captured('bad-flag'), 'x.c', LOG);
  t.deepEqual(e.lines(), ['x.c: error: unrecognized command-line option ‘-frobnicate’', `reproducer x.c does not compile (full log: ${LOG})`]);
});

test('detail lines are made safe for the terminal one by one', (t) => {
  const e = compileError('x.c:1:1: error: bad \x1b[2J thing\n    1 | \x1b]52;c;aGk=\x07\t\n', 'x.c', LOG);
  for (const l of e.lines()) t.notRegex(l, /[\x00-\x1f\x7f]/);
  t.is(e.lines()[1], '    1 | ?]52;c;aGk=?    ');
});
