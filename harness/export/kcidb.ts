// A run as a KernelCI KCIDB v5 report (kcidb-schema.ts): the source each kernel came from as a
// checkout, each kernel as a build, each step as a test with its headline number, and each
// distinct console finding as an issue with an incident per step it showed up in. Pure: the
// caller validates (validateKcidb) and writes it.
import { createHash } from 'node:crypto';
import { hashValue, shortHash } from '../util/hash.ts';
import type { KernelRecord, RunSummary, StepResult, StepStatus } from '../results/types.ts';
import { findingsByTitle, headline, notRunReason, pendingItems, sampleSummaries, setupFindings, stepStart } from './facts.ts';
import { cleanText, oneLine, tailLines } from './text.ts';

/** The KCIDB I/O schema version the report says it is (kcidb-schema.ts explains why 5.0). */
export const KCIDB_VERSION = { major: 5, minor: 0 } as const;

export const DEFAULT_ORIGIN = 'daxlab';
export const ORIGIN_RE = /^[a-z0-9_]+$/;

/** KCIDB caps log excerpts at 16384 characters. */
const EXCERPT_CHARS = 16384;

export type KcidbStatus = 'FAIL' | 'ERROR' | 'MISS' | 'PASS' | 'DONE' | 'SKIP';

/**
 * FAIL: the kernel misbehaved (a failing check, a task stuck in the kernel, a crash); ERROR: the
 * reproducer died or ran out of time, so the kernel's state is unknown. MISS is for work items
 * the run never got to.
 */
export const KCIDB_STATUS: Record<StepStatus, KcidbStatus> = {
  pass: 'PASS',
  fail: 'FAIL',
  hung: 'FAIL',
  crashed: 'FAIL',
  error: 'ERROR',
  timeout: 'ERROR',
  skip: 'SKIP',
};

export interface KcidbCheckout {
  id: string;
  origin: string;
  tree_name?: string;
  git_repository_url?: string;
  git_commit_hash?: string;
  patchset_hash?: string;
  comment?: string;
  valid?: boolean;
  misc?: Record<string, unknown>;
}

export interface KcidbBuild {
  id: string;
  checkout_id: string;
  origin: string;
  comment?: string;
  start_time?: string;
  duration?: number;
  architecture?: string;
  config_name?: string;
  status?: KcidbStatus;
  misc?: Record<string, unknown>;
}

export interface KcidbTest {
  id: string;
  build_id: string;
  origin: string;
  path?: string;
  comment?: string;
  status?: KcidbStatus;
  start_time?: string;
  duration?: number;
  log_excerpt?: string;
  environment?: { comment?: string; misc?: Record<string, unknown> };
  number?: { value: number; unit?: string; prefix?: 'metric' | 'binary' };
  misc?: Record<string, unknown>;
}

export interface KcidbIssue {
  id: string;
  version: number;
  origin: string;
  report_subject?: string;
  culprit?: { code?: boolean; tool?: boolean; harness?: boolean };
  comment?: string;
  misc?: Record<string, unknown>;
}

export interface KcidbIncident {
  id: string;
  origin: string;
  issue_id: string;
  issue_version: number;
  build_id?: string;
  test_id?: string;
  present?: boolean;
  comment?: string;
  misc?: Record<string, unknown>;
}

export interface KcidbReport {
  version: { major: number; minor: number };
  checkouts: KcidbCheckout[];
  builds: KcidbBuild[];
  tests: KcidbTest[];
  issues: KcidbIssue[];
  incidents: KcidbIncident[];
}

export interface KcidbOptions {
  /** The CI system's name in KCIDB (prefix of every id). */
  origin?: string;
  /**
   * Full sha256 of each patch, in order, per kernel name, when the kernel's build is still in the
   * cache: the identity keeps only short hashes, and KCIDB's patchset hash needs whole ones.
   */
  patchHashes?: ReadonlyMap<string, readonly string[]>;
}

/** Findings never change once reported: one version of each issue. */
const ISSUE_VERSION = 1;

/** A finding's issue id: the same title gives the same id in every run (titles are stable). */
export function issueId(origin: string, title: string): string {
  return `${origin}:finding-${shortHash(createHash('sha256').update(title).digest('hex'))}`;
}

/** KCIDB's patchset hash: sha256 over each patch's sha256 and a newline, in order. */
export function patchsetHash(patchSha256s: readonly string[]): string {
  return patchSha256s.length ? createHash('sha256').update(patchSha256s.map((h) => `${h}\n`).join('')).digest('hex') : '';
}

export function buildKcidb(summary: RunSummary, o: KcidbOptions = {}): KcidbReport {
  const origin = o.origin ?? DEFAULT_ORIGIN;
  const run = summary.runId;
  const checkouts = new Map<string, KcidbCheckout>();
  const builds: KcidbBuild[] = [];
  const buildId = (kernel: string): string => `${origin}:${run}/${kernel}`;

  for (const k of summary.kernels) {
    const co = checkoutOf(k, origin, o.patchHashes?.get(k.name));
    if (!checkouts.has(co.id)) checkouts.set(co.id, co);
    const prepMs = summary.phases[`${k.name}/kernelMs`];
    builds.push({
      id: buildId(k.name),
      checkout_id: co.id,
      origin,
      comment: oneLine(`${k.name}: ${k.release || k.spec}`),
      start_time: summary.startedAt,
      // What this run spent getting the kernel: a download, a build, or a cache look-up.
      ...(prepMs !== undefined ? { duration: prepMs / 1000 } : {}),
      architecture: 'x86_64',
      ...configName(k),
      // A kernel that did not build or unpack stops the run before it is recorded.
      status: 'PASS',
      misc: {
        name: k.name,
        spec: k.spec,
        release: k.release,
        banner: oneLine(k.banner),
        ...(k.identity['config'] ? { config_request_hash: k.identity['config'] } : {}),
        image: { key: k.image.key, bytes: k.image.bytes, modules: k.image.modules },
      },
    });
  }

  const env = new Map(summary.kernels.map((k) => [k.name, environmentOf(summary, k)]));
  const reports = findingsByTitle(summary);
  const tests: KcidbTest[] = [];
  const issues = new Map<string, KcidbIssue>();
  const incidents: KcidbIncident[] = [];
  const issueFor = (title: string, kind: string): string => {
    const iid = issueId(origin, title);
    if (!issues.has(iid)) {
      issues.set(iid, {
        id: iid,
        version: ISSUE_VERSION,
        origin,
        report_subject: oneLine(title),
        // A kernel report is the kernel's: emulator artifacts never become findings.
        culprit: { code: true, tool: false, harness: false },
        comment: oneLine(`${title} [${kind}]`),
        misc: { kind, title: oneLine(title) },
      });
    }
    return iid;
  };

  for (const st of summary.steps) {
    const tid = `${origin}:${run}/${st.key}`;
    const h = headline(st);
    const firstReport = st.findings.map((f) => reports.get(f.title)?.text).find((t) => t);
    const excerpt = st.status === 'pass' ? undefined : firstReport ? cleanText(firstReport, EXCERPT_CHARS) : tailLines([...st.stderr, ...st.output], EXCERPT_CHARS);
    tests.push({
      id: tid,
      build_id: buildId(st.kernel),
      origin,
      path: testPath(st.scenario, st.variant.fs, st.variant.dax),
      comment: oneLine(`${st.key}: ${st.status}${st.reason ? ` (${st.reason})` : ''}`),
      status: KCIDB_STATUS[st.status],
      start_time: stepStart(st).toISOString(),
      duration: st.durationMs / 1000,
      ...(excerpt ? { log_excerpt: excerpt } : {}),
      ...(env.get(st.kernel) ? { environment: env.get(st.kernel) } : {}),
      // KCIDB reads a number only from a test that ran (not SKIP or MISS).
      ...(h && st.status !== 'skip' ? { number: numberOf(h.value, h.unit) } : {}),
      misc: stepMisc(st, h?.name),
    });
    // One incident per issue and step: a report that repeats in a step (hung task) is one occurrence.
    const seen = new Set<string>();
    for (const f of st.findings) {
      const iid = issueFor(f.title, f.kind);
      if (seen.has(iid)) continue;
      seen.add(iid);
      incidents.push({
        id: `${tid}#${iid.slice(origin.length + 1)}`,
        origin,
        issue_id: iid,
        issue_version: ISSUE_VERSION,
        test_id: tid,
        present: true,
        ...(f.allowed ? { comment: 'allowed by the scenario (allow_findings): the step did not fail for it' } : {}),
        misc: { kind: f.kind, console_line: f.line, corrupted: f.corrupted, allowed: f.allowed, ...(reports.get(f.title) ? { console_log: reports.get(f.title)?.consoleLog } : {}) },
      });
    }
  }

  const notRun = notRunReason(summary);
  for (const p of pendingItems(summary)) {
    tests.push({
      id: `${origin}:${run}/${p.key}`,
      build_id: buildId(p.kernel),
      origin,
      path: testPath(p.scenario, p.variant.fs, p.variant.dax),
      comment: oneLine(`${p.key}: ${notRun}`),
      status: 'MISS',
      misc: { key: p.key, kernel: p.kernel, rep: p.rep },
    });
  }

  // Reports outside steps (mkfs, mount, namespace setup) belong to the kernel's build in this run.
  for (const sf of setupFindings(summary)) {
    const iid = issueFor(sf.finding.title, sf.finding.kind);
    incidents.push({
      id: `${buildId(sf.kernel)}#boot${sf.boot}#${iid.slice(origin.length + 1)}`,
      origin,
      issue_id: iid,
      issue_version: ISSUE_VERSION,
      build_id: buildId(sf.kernel),
      present: true,
      comment: oneLine(`during setup of boot ${sf.boot}: ${sf.label}`),
      misc: { kind: sf.finding.kind, boot: sf.boot, setup: oneLine(sf.label), console_log: sf.finding.consoleLog, console_line: sf.finding.line },
    });
  }

  return { version: { ...KCIDB_VERSION }, checkouts: [...checkouts.values()], builds, tests, issues: [...issues.values()], incidents };
}

/** `daxlab.<scenario>.<fs>.<dax>`; a scenario id's dots would make a deeper path, so they become `_`. */
export function testPath(scenario: string, fs: string, dax: string): string {
  return ['daxlab', scenario, fs, dax].map((p) => p.replace(/[^A-Za-z0-9_-]/g, '_') || '_').join('.');
}

// The identity fields that name the built configuration rather than the source (kernel/build.ts).
const BUILD_FIELDS = new Set(['base', 'config', 'patches']);

/**
 * The source a kernel came from: the same source with the same patches is one checkout, across
 * kernels and runs (the id is a hash of it), so KCIDB groups every night's builds of it.
 */
function checkoutOf(k: KernelRecord, origin: string, fullPatches: readonly string[] | undefined): KcidbCheckout {
  const id = k.identity;
  const source = Object.fromEntries(Object.entries(id).filter(([f]) => !BUILD_FIELDS.has(f)));
  const shortPatches = (id['patches'] ?? '').split(',').filter(Boolean);
  const co: KcidbCheckout = { id: `${origin}:checkout-${shortHash(hashValue({ source, patches: shortPatches }))}`, origin };
  if (id['source'] === 'debian' || id['source'] === 'debian-src') co.tree_name = 'debian';
  const repo = id['repo'];
  if (repo && /^https:\/\/\S+$/.test(repo)) co.git_repository_url = repo;
  const commit = id['commit'];
  if (commit && /^[0-9a-f]{40}$/.test(commit)) co.git_commit_hash = commit;
  // Whole hashes only when they are the patches the identity names; else the hash is unknown.
  if (!shortPatches.length) co.patchset_hash = '';
  else if (fullPatches && fullPatches.length === shortPatches.length && fullPatches.every((h, i) => /^[0-9a-f]{64}$/.test(h) && shortHash(h) === shortPatches[i])) co.patchset_hash = patchsetHash(fullPatches);
  co.comment = oneLine(sourceComment(id));
  co.valid = true;
  co.misc = { identity: source, ...(shortPatches.length ? { patches: shortPatches } : {}) };
  return co;
}

function sourceComment(id: Record<string, string>): string {
  const p = id['patches'] ? ` + ${id['patches'].split(',').length} patch(es)` : '';
  switch (id['source']) {
    case 'debian':
      return `Debian ${id['package'] ?? ''} ${id['version'] ?? ''}`;
    case 'debian-src':
      return `Debian ${id['package'] ?? ''} ${id['version'] ?? ''}${p}`;
    case 'git':
      return `git ${id['repo'] ?? ''} ${id['ref'] ?? ''} (${id['commit'] ?? ''})${p}`;
    case 'tree':
      return `kernel tree ${id['path'] ?? ''}${p}`;
    case 'file':
      return `kernel image ${id['path'] ?? ''}`;
    default:
      return Object.entries(id).map(([a, v]) => `${a}=${v}`).join(' ');
  }
}

function configName(k: KernelRecord): { config_name?: string } {
  if (k.identity['base']) return { config_name: oneLine(k.identity['base']) };
  if (k.identity['source'] === 'debian') return { config_name: 'debian' };
  return {};
}

/** QEMU, accelerator and guest shape: what a lab calls the machine a test ran on. */
function environmentOf(s: RunSummary, k: KernelRecord): KcidbTest['environment'] {
  const a = k.accel;
  const accel = a.accel === 'tcg' ? `TCG${a.tcgThread ? ` (${a.tcgThread}-threaded)` : ''}` : a.accel.toUpperCase();
  const mib = (b: number): string => `${Math.round(b / 2 ** 20)} MiB`;
  return {
    comment: oneLine(`${s.host.qemu}, ${accel}, ${s.guest.cpus} vCPUs, ${mib(s.guest.memBytes)} RAM, ${mib(s.guest.pmemBytes)} NVDIMM (fsdax), clock ${s.guest.clock ?? 'host'}`),
    misc: {
      qemu: s.host.qemu,
      accel: a.accel,
      ...(a.tcgThread ? { tcg_thread: a.tcgThread } : {}),
      accel_reason: a.reason,
      guest_cpus: s.guest.cpus,
      guest_mem_bytes: s.guest.memBytes,
      pmem_bytes: s.guest.pmemBytes,
      clock: s.guest.clock ?? 'host',
      host: { hostname: s.host.hostname, release: s.host.release, cpus: s.host.cpus },
    },
  };
}

const TIME_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1 };

/** Times in seconds with the metric prefix (a dashboard shows 4.1e-4 s as 410 µs); counts unitless. */
function numberOf(value: number, unit: string): NonNullable<KcidbTest['number']> {
  const f = TIME_UNITS[unit];
  if (f !== undefined) return { value: value * f, unit: 's', prefix: 'metric' };
  if (!unit || unit === 'count') return { value };
  return { value, unit: oneLine(unit, 32) };
}

function stepMisc(st: StepResult, headlineName: string | undefined): Record<string, unknown> {
  // Guest-chosen names as keys: entries, not assignments, so `__proto__` stays a name.
  const samples = Object.fromEntries(sampleSummaries(st).map((s) => [oneLine(s.name, 256), { n: s.n, p50: finite(s.p50), p99: finite(s.p99), unit: oneLine(s.unit, 32) }]));
  const metrics = Object.fromEntries(Object.entries(st.metrics).map(([n, m]) => [oneLine(n, 256), { value: finite(m.value), unit: oneLine(m.unit, 32) }]));
  return {
    key: st.key,
    kernel: st.kernel,
    rep: st.rep,
    ...(st.slot !== undefined ? { slot: st.slot } : {}),
    boot: st.boot,
    daxlab_status: st.status,
    reason: oneLine(st.reason),
    exit_code: st.exitCode,
    ...(headlineName ? { number_is: oneLine(headlineName, 256) } : {}),
    samples,
    metrics,
    ...(st.revisions?.length ? { revisions: st.revisions.map((r) => ({ status: r.status, cause: oneLine(r.cause), reason: oneLine(r.reason) })) } : {}),
  };
}

// JSON has no NaN or Infinity: JSON.stringify would write null.
function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}
