// `daxlab kernel list` as rows and text: what each cache entry is (spec, config request,
// patches), whether its spec file still asks for it, fitted to the terminal. Pure: the command
// reads the cache and the spec files.
import { basename } from 'node:path';
import { columns } from '../results/table.ts';
import type { AppliedPatch } from './build.ts';

/** How an entry relates to the spec file it was built from, as of now. */
export type SpecState =
  /** The spec file still builds exactly this (same source, config request, patch contents). */
  | 'current'
  /** The spec file now asks for something else: this entry is an earlier build of it. */
  | 'stale'
  /** The spec file is no longer there (deleted or moved). */
  | 'gone'
  /** The spec file is there but does not load (a bad edit, a parent gone). */
  | 'invalid'
  /** Built by an older daxlab build recipe: no spec reaches it any more. */
  | 'old-recipe'
  /** Not built from a spec file: a Debian package, an inline spec, an ab series prefix. */
  | 'untracked';

const MARK: Record<SpecState, string> = {
  current: '',
  untracked: '',
  stale: ' (stale: spec changed)',
  gone: ' (spec gone)',
  invalid: ' (spec invalid)',
  'old-recipe': ' (old recipe)',
};

/** What the cache manifest of a kernel entry may hold (Debian packages and source builds). */
export interface KernelMeta {
  release?: string;
  spec?: string;
  package?: string;
  recipe?: number;
  specFile?: string;
  description?: string;
  request?: string;
  base?: string;
  fragments?: string[];
  options?: string[];
  patches?: Partial<AppliedPatch>[];
}

export interface KernelRow {
  key: string;
  release: string;
  spec: string;
  state: SpecState;
  description?: string | undefined;
  config: string;
  patches: number;
  firstPatch?: string | undefined;
  size: string;
  lastUsed: string;
  dir: string;
}

export interface ListedKernel {
  key: string;
  dir: string;
  bytes: number;
  lastUsed: Date;
  meta: KernelMeta;
}

/** What a spec file says now, for the entries built from it. */
export type SpecCheck = { exists: false } | { exists: true; request: string } | { exists: true; error: string };

export function specState(meta: KernelMeta, recipe: number, check: SpecCheck | undefined): SpecState {
  if (meta.package || !meta.spec) return 'untracked';
  if (meta.recipe !== recipe) return 'old-recipe';
  if (!meta.specFile || !check) return 'untracked';
  if (!check.exists) return 'gone';
  if ('error' in check) return 'invalid';
  return check.request === meta.request ? 'current' : 'stale';
}

export const mib = (bytes: number): string => `${(bytes / 1024 ** 2).toFixed(1)}M`;

export function kernelRow(e: ListedKernel, state: SpecState, configText: string): KernelRow {
  const m = e.meta;
  const series = /^linux-image-(\d+\.\d+)/.exec(m.package ?? '')?.[1];
  const patches = m.patches ?? [];
  return {
    key: e.key,
    release: m.release ?? '?',
    spec: m.package ? (series ? `debian:${series}` : m.package) : (m.spec ?? '?'),
    state,
    description: m.description,
    config: m.package ? 'debian' : configText,
    patches: patches.reduce((n, p) => n + (p.count ?? 1), 0),
    // Builds before subjects were recorded have only the file.
    firstPatch: patches[0]?.subject ?? (patches[0]?.patch ? basename(patches[0].patch) : undefined),
    size: mib(e.bytes),
    lastUsed: e.lastUsed.toISOString().slice(0, 16).replace('T', ' '),
    dir: e.dir,
  };
}

const CONTROL = /[\x00-\x1f\x7f-\x9f]/g;

/** Cut to `n` columns with '…', keeping the end (paths: the file name matters) or the start. */
function cut(s: string, n: number, keep: 'start' | 'end'): string {
  if (s.length <= n) return s;
  if (n <= 1) return '…'.slice(0, n);
  return keep === 'end' ? `…${s.slice(s.length - n + 1)}` : `${s.slice(0, n - 1)}…`;
}

interface Column {
  head: string;
  /** The cell cut to `w` columns (Infinity: in full). */
  cell: (r: KernelRow, w: number) => string;
}

const patchCell = (r: KernelRow): string => (r.patches === 0 ? '-' : r.firstPatch ? `${r.patches}: ${r.firstPatch}${r.patches > 1 ? ` (+${r.patches - 1})` : ''}` : String(r.patches));

const COLUMNS: Record<string, Column> = {
  key: { head: 'KEY', cell: (r) => r.key },
  release: { head: 'RELEASE', cell: (r) => r.release },
  spec: {
    head: 'SPEC',
    // The state mark is never cut: it is what the row is about when it is there.
    cell: (r, w) => cut(r.spec, Math.max(8, w - MARK[r.state].length), 'end') + MARK[r.state],
  },
  config: { head: 'CONFIG', cell: (r, w) => cut(r.config, w, 'start') },
  patches: {
    head: 'PATCHES',
    cell: (r, w) => {
      const full = patchCell(r);
      if (full.length <= w || !r.firstPatch || r.patches === 0) return cut(full, w, 'start');
      // Keep the count and the (+N): cut the subject.
      const more = r.patches > 1 ? ` (+${r.patches - 1})` : '';
      const head = `${r.patches}: `;
      return head + cut(r.firstPatch, Math.max(4, w - head.length - more.length), 'start') + more;
    },
  },
  size: { head: 'SIZE', cell: (r) => r.size },
  lastUsed: { head: 'LAST USED', cell: (r) => r.lastUsed },
};

const ORDER = ['key', 'release', 'spec', 'config', 'patches', 'size', 'lastUsed'];
/** Columns that may be cut: [comfortable, narrowest] widths. */
const CUTTABLE: Record<string, [number, number]> = { spec: [32, 24], config: [24, 16], patches: [24, 16] };
/**
 * Tried in order until one fits: cut to comfortable widths, then without KEY (the release
 * carries the key's hash), then cut further, then without LAST USED, SIZE, CONFIG.
 */
const LAYOUTS: { drop: string[]; floor: 0 | 1 }[] = [
  { drop: [], floor: 0 },
  { drop: ['key'], floor: 0 },
  { drop: ['key'], floor: 1 },
  { drop: ['key', 'lastUsed'], floor: 1 },
  { drop: ['key', 'lastUsed', 'size'], floor: 1 },
  { drop: ['key', 'lastUsed', 'size', 'config'], floor: 1 },
];

/**
 * Widths for the cuttable columns sharing `room`: none below its floor (or its natural width if
 * smaller), the rest shared out evenly, the narrowest served first (water-filling).
 */
function shareRoom(natural: Map<string, number>, floors: Map<string, number>, room: number): Map<string, number> | undefined {
  const ids = [...natural.keys()].sort((a, b) => (natural.get(a) ?? 0) - (natural.get(b) ?? 0));
  const out = new Map(ids.map((id) => [id, Math.min(natural.get(id) ?? 0, floors.get(id) ?? 0)]));
  let left = room - [...out.values()].reduce((a, b) => a + b, 0);
  if (left < 0) return undefined;
  ids.forEach((id, i) => {
    const want = (natural.get(id) ?? 0) - (out.get(id) ?? 0);
    const give = Math.min(want, Math.floor(left / (ids.length - i)));
    out.set(id, (out.get(id) ?? 0) + give);
    left -= give;
  });
  return out;
}

/**
 * The table; with `width` (a terminal's), long cells are cut and, if that is not enough,
 * columns left out (said under the table) so that a line fits. Without a width nothing is cut.
 */
export function formatKernelTable(rows: KernelRow[], width?: number): string {
  const clean = rows.map((r) => ({ ...r, spec: r.spec.replace(CONTROL, '?'), config: r.config.replace(CONTROL, '?'), firstPatch: r.firstPatch?.replace(CONTROL, '?') }));
  const natural = (id: string): number => {
    const c = COLUMNS[id]!;
    return Math.max(c.head.length, ...clean.map((r) => c.cell(r, Infinity).length));
  };
  let shown = [...ORDER];
  let widths = new Map(shown.map((id) => [id, natural(id)]));
  const total = (w: Map<string, number>): number => [...w.values()].reduce((a, b) => a + b, 0) + 2 * (w.size - 1);
  if (width !== undefined && total(widths) > width) {
    for (const layout of LAYOUTS) {
      shown = ORDER.filter((id) => !layout.drop.includes(id));
      const fixed = shown.filter((id) => !CUTTABLE[id]);
      const cuttable = shown.filter((id) => CUTTABLE[id]);
      const room = width - fixed.reduce((a, id) => a + natural(id), 0) - 2 * (shown.length - 1);
      const floors = new Map(cuttable.map((id) => [id, Math.max(COLUMNS[id]!.head.length, CUTTABLE[id]![layout.floor])]));
      const shared = shareRoom(new Map(cuttable.map((id) => [id, natural(id)])), floors, room);
      widths = new Map(shown.map((id) => [id, shared?.get(id) ?? natural(id)]));
      if (shared) break;
    }
  }
  const head = shown.map((id) => COLUMNS[id]!.head);
  const data = clean.map((r) => shown.map((id) => COLUMNS[id]!.cell(r, widths.get(id) ?? Infinity)));
  const left = ORDER.filter((id) => !shown.includes(id)).map((id) => COLUMNS[id]!.head);
  return columns(head, data) + (left.length ? `\n(not shown at this width: ${left.join(', ')}; --json has everything)` : '');
}
