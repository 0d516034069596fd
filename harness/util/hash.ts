import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export type HashInput = string | Buffer | number | boolean | null | undefined | HashInput[] | { [k: string]: HashInput };

/** Stable hash of a JSON-ish value: object keys are sorted so field order never changes a key. */
export function hashValue(v: HashInput): string {
  return createHash('sha256').update(stableJson(v)).digest('hex');
}

function stableJson(v: HashInput): string {
  if (Buffer.isBuffer(v)) return JSON.stringify('buf:' + createHash('sha256').update(v).digest('hex'));
  if (Array.isArray(v)) return '[' + v.map(stableJson).join(',') + ']';
  if (v !== null && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + stableJson(v[k])).join(',') + '}';
  }
  return JSON.stringify(v ?? null);
}

export async function hashFile(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

export function shortHash(h: string): string {
  return h.slice(0, 16);
}
