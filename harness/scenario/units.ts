// Sizes and durations as people write them in YAML and on the command line.

const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `1G`, `512M`, `1GiB`, or a byte count. */
export function parseSize(v: string | number): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v > 0 ? v : undefined;
  const m = /^\s*(\d+)\s*([KMGT]?)(i?B)?\s*$/i.exec(v);
  if (!m || !m[1]) return undefined;
  return Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toUpperCase()] ?? 1);
}

export function formatSize(bytes: number): string {
  for (const u of ['T', 'G', 'M', 'K']) {
    const f = SIZE_UNITS[u] as number;
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${u}`;
  }
  return String(bytes);
}

/** `90`, `90s`, `2m`, `1h` -> seconds. */
export function parseDuration(v: string | number): number | undefined {
  if (typeof v === 'number') return v > 0 ? v : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(v);
  if (!m || !m[1]) return undefined;
  const n = Number(m[1]);
  const mult = { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? 's'] ?? 1;
  return n * mult > 0 ? n * mult : undefined;
}
