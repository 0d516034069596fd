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

export function dedupFindings(findings: Finding[]): FindingGroup[] {
  const byTitle = new Map<string, FindingGroup>();
  for (const f of findings) {
    let g = byTitle.get(f.title);
    if (!g) {
      g = { title: f.title, kind: f.kind, count: 0, steps: [], first: f };
      byTitle.set(f.title, g);
    }
    g.count++;
    // Prefer a complete report as the example over a cut or interleaved one.
    if (g.first.corrupted && !f.corrupted) g.first = f;
    if (f.step !== undefined && !g.steps.includes(f.step)) g.steps.push(f.step);
  }
  for (const g of byTitle.values()) g.steps.sort((a, b) => a - b);
  return [...byTitle.values()];
}
