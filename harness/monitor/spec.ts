// Kernel-side monitors a step can ask for: which exist, what each takes, their defaults, the
// scenario field and --monitor flag that request them, and the words the guest agent gets for
// them (images/guest/agent.sh `monitors`). Pure.
import { z } from 'zod';
import { UserError } from '../util/errors.ts';
import { didYouMean } from '../util/suggest.ts';

export const MONITORS = ['vmstat', 'funclatency', 'dax_events', 'lock_stat'] as const;
export type MonitorName = (typeof MONITORS)[number];

/** What each monitor samples: vmstat counters, kernel functions, fs_dax events, lock_stat's top classes. */
export type MonitorRequest = Partial<Record<MonitorName, string[]>>;

/** The busy-page path of truncate/punch and the DAX fault handler: what the 2018 thread timed. */
export const DEFAULT_FUNCTIONS = ['dax_layout_busy_page_range', 'ext4_break_layouts', 'xfs_break_dax_layouts', 'dax_iomap_fault'];
/** Faults, THP fallbacks and the page-cache traffic a DAX mapping should not have. */
export const DEFAULT_VMSTAT = ['pgfault', 'pgmajfault', 'thp_fault_alloc', 'thp_fault_fallback', 'pgpgin', 'pgpgout', 'nr_dirtied', 'nr_written'];
/** Every fs_dax tracepoint of 6.x kernels that fault and insert paths fire. */
export const DAX_EVENTS = [
  'dax_pmd_fault',
  'dax_pmd_fault_done',
  'dax_pmd_load_hole',
  'dax_pmd_load_hole_fallback',
  'dax_pmd_insert_mapping',
  'dax_pte_fault',
  'dax_pte_fault_done',
  'dax_load_hole',
  'dax_insert_pfn_mkwrite_no_entry',
  'dax_insert_pfn_mkwrite',
  'dax_insert_mapping',
  'dax_writeback_range',
  'dax_writeback_one',
];
/** lock_stat keeps this many classes, by total wait time, unless `top=N` says otherwise. */
export const LOCK_STAT_TOP = 10;

const WORD: Record<MonitorName, { re: RegExp; what: string }> = {
  vmstat: { re: /^[a-z][a-z0-9_]*$/, what: 'a /proc/vmstat counter name (e.g. pgfault)' },
  funclatency: { re: /^[A-Za-z_][A-Za-z0-9_.]*$/, what: 'a kernel function name (e.g. dax_layout_busy_page_range)' },
  dax_events: { re: /^dax_[a-z0-9_]+$/, what: `an fs_dax tracepoint (${DAX_EVENTS.slice(0, 3).join(', ')}, ...)` },
  lock_stat: { re: /^top=[1-9][0-9]?$/, what: 'top=N (classes kept by wait time, 1..99)' },
};

/** Why `word` cannot be an argument of `m`, or undefined. */
export function badWord(m: MonitorName, word: string): string | undefined {
  const w = WORD[m];
  return w.re.test(word) ? undefined : `'${word.replace(/[\x00-\x1f\x7f]/g, '?')}' is not ${w.what}`;
}

export const defaultsOf = (m: MonitorName): string[] =>
  m === 'vmstat' ? DEFAULT_VMSTAT : m === 'funclatency' ? DEFAULT_FUNCTIONS : m === 'dax_events' ? DAX_EVENTS : [`top=${LOCK_STAT_TOP}`];

/**
 * The scenario field: a list of monitor names (their defaults), or a map of a name to its words
 * (`funclatency: [dax_layout_busy_page_range]`) or to true (the defaults).
 */
export const monitorsField = z
  .union([z.array(z.enum(MONITORS)), z.record(z.string(), z.union([z.literal(true), z.array(z.string()).min(1)]))])
  .transform((v, ctx): MonitorRequest => {
    const out: MonitorRequest = {};
    const entries: [string, true | string[]][] = Array.isArray(v) ? v.map((n) => [n, true]) : Object.entries(v);
    for (const [name, words] of entries) {
      if (!(MONITORS as readonly string[]).includes(name)) {
        ctx.addIssue({ code: 'custom', message: `unknown monitor '${name}'; known: ${MONITORS.join(', ')}${didYouMean(name, MONITORS)}` });
        continue;
      }
      const m = name as MonitorName;
      const list = words === true ? defaultsOf(m) : words;
      for (const w of list) {
        const bad = badWord(m, w);
        if (bad) ctx.addIssue({ code: 'custom', message: `${m}: ${bad}` });
      }
      out[m] = [...new Set(list)];
    }
    return out;
  });

/** `--monitor vmstat,funclatency=dax_iomap_fault+ext4_break_layouts` (repeatable) -> the request. */
export function parseMonitorFlag(given: readonly string[]): MonitorRequest {
  const out: MonitorRequest = {};
  for (const part of given.flatMap((g) => g.split(',')).map((x) => x.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    const arg = eq < 0 ? undefined : part.slice(eq + 1);
    if (!(MONITORS as readonly string[]).includes(name)) throw new UserError(`--monitor: '${name}' is not one of ${MONITORS.join(', ')}${didYouMean(name, MONITORS)}`);
    const m = name as MonitorName;
    const words = arg === undefined ? defaultsOf(m) : arg.split('+').filter(Boolean);
    for (const w of words) {
      const bad = badWord(m, w);
      if (bad) throw new UserError(`--monitor ${m}: ${bad}`);
    }
    out[m] = [...new Set(words)];
  }
  if (!Object.keys(out).length) throw new UserError(`--monitor: give at least one of ${MONITORS.join(', ')}`);
  return out;
}

/** The scenario's monitors with the command line's on top (a monitor named on both: the flag's words). */
export function mergeMonitors(scenario: MonitorRequest | undefined, flag: MonitorRequest | undefined): MonitorRequest | undefined {
  const out = { ...scenario, ...flag };
  return Object.keys(out).length ? out : undefined;
}

/** plan.sh words: `vmstat=pgfault,pgmajfault funclatency=a,b`, in MONITORS order (agent-side order of sampling). */
export function agentWords(r: MonitorRequest): string[] {
  return MONITORS.flatMap((m) => (r[m] ? [`${m}=${r[m].join(',')}`] : []));
}

/** The first word of a monitor metric's name is its monitor: `funclatency.dax_iomap_fault.p50`. */
export function monitorOfMetric(name: string): MonitorName | undefined {
  const head = name.slice(0, name.indexOf('.'));
  return (MONITORS as readonly string[]).includes(head) ? (head as MonitorName) : undefined;
}
