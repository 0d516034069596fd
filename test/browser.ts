// A real browser for report tests: Debian's chromium driven by playwright-core, one per test file.
import type { ExecutionContext } from 'ava';
import test from 'ava';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** DAXLAB_CHROMIUM: another build, or a missing path to see the failure. */
export const CHROMIUM = process.env['DAXLAB_CHROMIUM'] ?? '/usr/bin/chromium';

let browser: Promise<Browser> | undefined;
export function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    return Promise.reject(new Error(`no browser at ${CHROMIUM}: these tests need Debian's chromium package (apt-get install -y chromium; .ci/run installs it)`));
  }
  browser ??= chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  return browser;
}
test.after.always(async () => {
  if (browser) await (await browser).close();
});

export function scratchDir(t: ExecutionContext, prefix = 'daxlab-report-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Open `html` from a file, as a user opens report.html; `errors` collects console errors and page errors. */
export async function openHtml(t: ExecutionContext, html: string): Promise<{ page: Page; errors: string[] }> {
  const file = join(scratchDir(t), 'report.html');
  writeFileSync(file, html);
  return openFile(t, file);
}

export async function openFile(t: ExecutionContext, file: string): Promise<{ page: Page; errors: string[] }> {
  const page = await (await launch()).newPage({ viewport: { width: 1280, height: 900 } });
  t.teardown(() => page.close());
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, errors };
}
