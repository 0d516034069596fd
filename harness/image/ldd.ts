// Host binaries copied into the guest need their shared libraries at the same paths.
import { execa } from 'execa';

/** Absolute library paths from ldd output (the vDSO has no file and is skipped). */
export function parseLdd(text: string): string[] {
  const libs = new Set<string>();
  for (const line of text.split('\n')) {
    const arrow = /=>\s+(\/\S+)\s+\(0x/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(0x/.exec(line);
    const p = arrow?.[1] ?? bare?.[1];
    if (p) libs.add(p);
  }
  return [...libs].sort();
}

export async function sharedLibraries(binary: string): Promise<string[]> {
  const r = await execa('ldd', [binary], { reject: false });
  if (/not a dynamic executable/.test(r.stdout + r.stderr)) return [];
  return parseLdd(r.stdout);
}
