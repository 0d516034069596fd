// "did you mean" for misspelt keys, flags and ids: the closest known name within a small edit
// distance, or nothing (a wild guess is worse than none).
import leven from 'leven';

/** The known name closest to `given` (case-insensitive), within 2 edits (1 for names of ≤4 chars). */
export function closest(given: string, known: readonly string[]): string | undefined {
  const g = given.toLowerCase();
  const max = g.length <= 4 ? 1 : 2;
  let best: { name: string; d: number } | undefined;
  for (const k of known) {
    const kl = k.toLowerCase();
    const d = isOneSwap(g, kl) ? 1 : leven(g, kl, { maxDistance: max + 1 });
    if (d <= max && (!best || d < best.d)) best = { name: k, d };
  }
  return best?.name;
}

/** ` (did you mean 'x'?)` or '' — ready to append to a message. */
export function didYouMean(given: string, known: readonly string[]): string {
  const c = closest(given, known);
  return c !== undefined && c !== given ? ` (did you mean '${c}'?)` : '';
}

/** `xsf` for `xfs`: two neighbours swapped, the commonest typo, which Levenshtein counts as two edits. */
function isOneSwap(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  const diff = [...a].flatMap((c, i) => (c === b[i] ? [] : [i]));
  const [i, j] = diff;
  return diff.length === 2 && i !== undefined && j === i + 1 && a[i] === b[j] && a[j] === b[i];
}
