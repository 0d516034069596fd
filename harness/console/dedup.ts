// One entry per distinct bug: findings with the same title are the same bug, wherever they came
// from (steps, boots, runs). The first occurrence keeps the full text for the report.
import type { Finding } from './parser.ts';

export interface FindingGroup {
  title: string;
  kind: string;
  count: number;
  /** Steps the bug showed up in, ascending, each once. */
  steps: number[];
  first: Finding;
}

export interface TitleGroup<T> {
  title: string;
  /** The example: the first complete report, else the first one. */
  first: T;
  members: T[];
}

/** The one dedup rule of daxlab: same title, same bug; groups in order of first appearance. */
export function groupByTitle<T extends { title: string; corrupted: boolean }>(items: readonly T[]): TitleGroup<T>[] {
  const byTitle = new Map<string, TitleGroup<T>>();
  for (const f of items) {
    let g = byTitle.get(f.title);
    if (!g) {
      g = { title: f.title, first: f, members: [] };
      byTitle.set(f.title, g);
    }
    g.members.push(f);
    // Prefer a complete report as the example over a cut or interleaved one.
    if (g.first.corrupted && !f.corrupted) g.first = f;
  }
  return [...byTitle.values()];
}

export function dedupFindings(findings: Finding[]): FindingGroup[] {
  return groupByTitle(findings).map((g) => ({
    title: g.title,
    kind: g.members[0]?.kind ?? g.first.kind,
    count: g.members.length,
    steps: [...new Set(g.members.flatMap((f) => (f.step === undefined ? [] : [f.step])))].sort((a, b) => a - b),
    first: g.first,
  }));
}
