// `daxlab catalog [--json]` lists the reproducer catalog (scenarios/<id>/scenario.yaml);
// `daxlab catalog show ID [--json]` prints one entry's metadata: what it checks, references,
// requirements, the expected outcome on a correct kernel, metrics and verdict rules.
import { stat } from 'node:fs/promises';
import { relative } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../util/errors.ts';
import { repoRoot } from '../util/paths.ts';
import { catalogFiles, loadScenarioFile, resolveScenarios } from '../scenario/load.ts';
import { didYouMean } from '../util/suggest.ts';
import type { Scenario } from '../scenario/schema.ts';
import { formatSize } from '../scenario/units.ts';

/** One catalog entry as printed by `--json` (stable field names, snake_case like the YAML). */
export interface CatalogEntry {
  id: string;
  title: string;
  description: string;
  file: string;
  reproducer: string;
  filesystems: string[];
  dax: string[];
  scratch: boolean;
  scratch_iops: number | null;
  own_boot: boolean;
  default: boolean;
  pmem: string;
  timeout_s: number;
  args: string[];
  checks: string;
  references: string[];
  requires: string[];
  expect: string;
  metrics: Record<string, string>;
  verdict: string;
  allow_findings: string[];
}

function rel(p: string): string {
  const r = relative(repoRoot, p);
  return r.startsWith('..') ? p : r;
}

export function catalogEntry(s: Scenario): CatalogEntry {
  return {
    id: s.id,
    title: s.title,
    description: s.description,
    file: rel(s.file),
    reproducer: rel(s.reproducerSource),
    filesystems: s.filesystems,
    dax: s.daxModes,
    scratch: s.scratch,
    scratch_iops: s.scratchIops ?? null,
    own_boot: s.ownBoot ?? false,
    default: s.isDefault,
    pmem: formatSize(s.pmemBytes),
    timeout_s: s.timeoutS,
    args: s.args,
    checks: s.checks,
    references: s.references,
    requires: s.requires,
    expect: s.expect,
    metrics: s.metrics,
    verdict: s.verdictRules,
    allow_findings: s.allowFindings,
  };
}

/** Metadata an entry must carry to belong in the catalog; empty when complete. */
export function missingMetadata(e: CatalogEntry): string[] {
  const missing: string[] = [];
  if (!e.checks) missing.push('checks');
  if (e.references.length === 0) missing.push('references');
  if (e.requires.length === 0) missing.push('requires');
  if (!e.expect) missing.push('expect');
  if (Object.keys(e.metrics).length === 0) missing.push('metrics');
  if (!e.verdict) missing.push('verdict');
  return missing;
}

export async function loadCatalog(): Promise<CatalogEntry[]> {
  const files = await catalogFiles();
  const entries = await Promise.all(files.map(async (f) => catalogEntry(await loadScenarioFile(f))));
  return entries.sort((a, b) => a.id.localeCompare(b.id));
}

export function findEntry(entries: CatalogEntry[], id: string): CatalogEntry {
  const e = entries.find((x) => x.id === id);
  if (!e) throw new UserError(`no catalog entry '${id}'${didYouMean(id, entries.map((x) => x.id))} (known: ${entries.map((x) => x.id).join(', ') || 'none'})`);
  return e;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** The list as a plain-text table: id, filesystems, dax modes, needs, title. */
export function renderCatalogList(entries: CatalogEntry[]): string {
  const rows = entries.map((e) => [
    e.id,
    e.filesystems.join(','),
    e.dax.join(','),
    [e.scratch ? `scratch${e.scratch_iops ? `@${e.scratch_iops}iops` : ''}` : '', e.own_boot ? 'own boot' : '', e.default ? 'default' : ''].filter(Boolean).join(', ') || '-',
    e.title,
  ]);
  const head = ['ID', 'FS', 'DAX', 'NOTES', 'TITLE'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line), '', `${entries.length} entries; daxlab catalog show ID for details, daxlab run ID to run one`].join('\n');
}

function wrap(text: string, indent: string, width = 100): string {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur && indent.length + cur.length + 1 + w.length > width) {
      lines.push(indent + cur);
      cur = w;
    } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(indent + cur);
  return lines.join('\n');
}

export function renderCatalogEntry(e: CatalogEntry): string {
  const out: string[] = [];
  const section = (name: string, body: string): void => {
    if (body) out.push(`${name}:`, wrap(body, '  '));
  };
  out.push(`${e.id}: ${e.title}`);
  out.push(`  file ${e.file}, reproducer ${e.reproducer}${e.args.length ? ` ${e.args.join(' ')}` : ''}`);
  out.push(
    `  filesystems ${e.filesystems.join(', ')}; dax ${e.dax.join(', ')}; pmem ${e.pmem}; timeout ${e.timeout_s}s` +
      (e.scratch ? `; scratch disk${e.scratch_iops ? ` throttled to ${e.scratch_iops} IOPS` : ''}` : '') +
      (e.own_boot ? '; runs in a boot of its own' : '') +
      (e.default ? '; in the default set' : ''),
  );
  section('description', e.description);
  section('checks', e.checks);
  if (e.requires.length) out.push('requires:', ...e.requires.map((r) => `  - ${r}`));
  section('expect (correct kernel)', e.expect);
  if (Object.keys(e.metrics).length) {
    out.push('metrics:');
    for (const [k, v] of Object.entries(e.metrics)) out.push(`  ${k}`, wrap(v, '      '));
  }
  section('verdict', e.verdict);
  if (e.allow_findings.length) out.push(`allowed console findings: ${e.allow_findings.join('; ')}`);
  if (e.references.length) out.push('references:', ...e.references.map((r) => `  - ${r}`));
  const missing = missingMetadata(e);
  if (missing.length) out.push(`(metadata missing: ${missing.join(', ')})`);
  return out.join('\n');
}

export function registerCatalogCommand(program: Command): void {
  const cat = program
    .command('catalog')
    .description('list the reproducer catalog (scenarios/*/scenario.yaml); `catalog show ID` for one entry')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const entries = await loadCatalog();
      process.stdout.write((opts.json ? JSON.stringify(entries, null, 2) : renderCatalogList(entries)) + '\n');
    });
  cat
    .command('show')
    .description("print one catalog entry's metadata")
    .argument('<id>', 'catalog entry id, or a scenario YAML file / directory of your own')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      // A path is a bring-your-own scenario: shown the same way, checked the same way as `run` would.
      const own = (await stat(id).catch(() => undefined)) ? await resolveScenarios([id]) : undefined;
      const e = own?.[0] ? catalogEntry(own[0]) : findEntry(await loadCatalog(), id);
      // `catalog show X --json`: commander hands a trailing --json to the parent's option.
      const json = opts.json || (cat.opts() as { json?: boolean }).json;
      process.stdout.write((json ? JSON.stringify(e, null, 2) : renderCatalogEntry(e)) + '\n');
    });
}
