#!/usr/bin/env node
// Runs the ava suite with the TAP reporter, passes its output through, and ends with the plain
// "N passed, N failed" line CI reads. Extra arguments go to ava (e.g. a file or --match).
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const avaCli = join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs');
const child = spawn(process.execPath, [avaCli, '--tap', ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'] });
let passed = 0;
let failed = 0;
let skipped = 0;
let buf = '';
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  buf += d.toString();
  const lines = buf.split('\n');
  buf = lines.pop() ?? '';
  for (const l of lines) {
    if (/^not ok \d+/.test(l)) {
      if (/# TODO/.test(l)) continue;
      failed++;
    } else if (/^ok \d+/.test(l)) {
      if (/# SKIP/.test(l)) skipped++;
      else passed++;
    }
  }
});
child.on('close', (code) => {
  // ava exits non-zero for an uncaught error outside a test too; count that as a failure.
  if (code !== 0 && failed === 0) failed = 1;
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(failed ? 1 : 0);
});
