// Patch series as text: which files a patch touches, in which order patches go, and how a
// failure from `patch` or `git am` becomes one line that names the patch file and the hunk.
// Pure: no file system access.
import { UserError, type SourceLocation } from '../util/errors.ts';

export type PatchKind = 'mbox' | 'diff';

export interface SeriesEntry {
  name: string;
  /** -pN for `patch`; quilt series lines may carry their own. */
  strip: number;
  line: number;
}

/** A quilt `series` file: one patch per line, optional -pN, `#` comments. */
export function parseQuiltSeries(text: string, file: string): SeriesEntry[] {
  const out: SeriesEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (!line) return;
    const [name, ...opts] = line.split(/\s+/);
    let strip = 1;
    for (const o of opts) {
      const m = /^-p(\d+)$/.exec(o);
      if (!m?.[1]) throw new UserError(`unsupported series option '${o}' (only -pN)`, { file, line: i + 1 });
      strip = Number(m[1]);
    }
    if (name) out.push({ name, strip, line: i + 1 });
  });
  return out;
}

const PATCH_FILE_RE = /\.(patch|diff|mbox|eml)$/;

/**
 * Order for a directory of patches: numbered names (`0001-foo.patch`, `2-bar.diff`) in numeric
 * order, so `10-x` follows `9-y`; ties and unnumbered names sort by name.
 */
export function orderPatchFiles(names: string[]): string[] {
  const num = (n: string): number => {
    const m = /^(\d+)/.exec(n);
    return m?.[1] ? Number(m[1]) : Number.POSITIVE_INFINITY;
  };
  return names
    .filter((n) => PATCH_FILE_RE.test(n) && !n.startsWith('.'))
    .sort((a, b) => num(a) - num(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** git format-patch / git send-email output: starts with an mbox `From ` line or mail headers. */
export function isMbox(text: string): boolean {
  const head = text.slice(0, 4096);
  if (/^From [0-9a-f]{40} /.test(head) || /^From \S+ .*\d{4}\s*$/m.test(head.split('\n')[0] ?? '')) return true;
  return /^(From|Subject|Date|Message-I[Dd]): /m.test(head.split('\n\n')[0] ?? '') && /^Subject: /m.test(head);
}

function stripPath(p: string, strip: number): string | undefined {
  const clean = p.split('\t')[0]?.trim() ?? '';
  if (!clean || clean === '/dev/null') return undefined;
  const parts = clean.split('/');
  if (parts.length <= strip) return undefined;
  return parts.slice(strip).join('/');
}

export interface FileSection {
  path: string;
  /** 1-based line in the patch file of the section's first line. */
  line: number;
  /** Patch-file line and old-file start line of each hunk, in order. */
  hunks: { line: number; oldStart: number }[];
  /** Index of the mail in an mbox (0-based), 0 for plain diffs. */
  message: number;
}

/** The file sections of a patch (or an mbox of several), with their hunks. */
export function patchSections(text: string, strip = 1): FileSection[] {
  const lines = text.split('\n');
  const out: FileSection[] = [];
  let cur: FileSection | undefined;
  let message = -1;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? '';
    if (/^From [0-9a-f]{40} /.test(l) || (i === 0 && l.startsWith('From '))) message++;
    const git = /^diff --git a\/(\S+) b\/(\S+)/.exec(l);
    if (git?.[2]) {
      cur = { path: git[2], line: i + 1, hunks: [], message: Math.max(0, message) };
      out.push(cur);
      continue;
    }
    if (l.startsWith('--- ') && (lines[i + 1] ?? '').startsWith('+++ ')) {
      const oldP = stripPath(l.slice(4), strip);
      const newP = stripPath((lines[i + 1] ?? '').slice(4), strip);
      const path = newP ?? oldP;
      if (path && !(cur && cur.path === path && cur.hunks.length === 0 && cur.line >= i - 6)) {
        cur = { path, line: i + 1, hunks: [], message: Math.max(0, message) };
        out.push(cur);
      }
      i++;
      continue;
    }
    const h = /^@@ -(\d+)/.exec(l);
    if (h?.[1] && cur) cur.hunks.push({ line: i + 1, oldStart: Number(h[1]) });
  }
  return out;
}

/** Every path a patch reads or writes (old and new names of renames), after stripping -pN. */
export function touchedFiles(text: string, strip = 1): string[] {
  const set = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] ?? '';
    const git = /^diff --git a\/(\S+) b\/(\S+)/.exec(l);
    if (git?.[1] && git[2]) {
      set.add(git[1]);
      set.add(git[2]);
    } else if (l.startsWith('--- ') && (lines[i + 1] ?? '').startsWith('+++ ')) {
      for (const p of [stripPath(l.slice(4), strip), stripPath((lines[i + 1] ?? '').slice(4), strip)]) if (p) set.add(p);
      i++;
    } else {
      const mv = /^(rename|copy) (from|to) (.+)$/.exec(l);
      if (mv?.[3]) set.add(mv[3].trim());
    }
  }
  return [...set].sort();
}

export interface ApplyFailure {
  file?: string | undefined;
  hunk?: number | undefined;
  /** Line in the original source file the hunk was meant for. */
  at?: number | undefined;
  reason: string;
  /** Line in the patch file to point the user at. */
  patchLine?: number | undefined;
}

/** Read GNU patch's output (with --batch --forward) for the first thing that went wrong. */
export function parsePatchFailure(output: string, patchText: string, strip: number): ApplyFailure {
  const lines = output.split('\n');
  let file: string | undefined;
  for (const l of lines) {
    const pf = /^(?:checking|patching) file '?(.+?)'?$/.exec(l);
    if (pf?.[1]) file = pf[1];
    const h = /^Hunk #(\d+) FAILED at (\d+)/.exec(l);
    if (h?.[1] && h[2]) {
      const hunk = Number(h[1]);
      const sec = patchSections(patchText, strip).find((s) => s.path === file);
      return { file, hunk, at: Number(h[2]), reason: 'FAILED', patchLine: sec?.hunks[hunk - 1]?.line ?? sec?.line };
    }
    const nf = /can't find file to patch at input line (\d+)/.exec(l);
    if (nf?.[1]) {
      const line = Number(nf[1]);
      const sec = patchSections(patchText, strip).filter((s) => s.line <= line).pop();
      return { file: sec?.path, reason: 'file not found in the tree', patchLine: line };
    }
    if (/Reversed \(or previously applied\) patch detected/.test(l)) {
      const sec = patchSections(patchText, strip).find((s) => s.path === file);
      return { file, reason: 'already applied (reversed or previously applied patch)', patchLine: sec?.line };
    }
    const mal = /malformed patch at line (\d+)/.exec(l);
    if (mal?.[1]) return { file, reason: 'malformed patch', patchLine: Number(mal[1]) };
    if (/Only garbage was found in the patch input/.test(l)) return { reason: 'no diff found in the file', patchLine: 1 };
  }
  const last = lines.map((l) => l.trim()).filter(Boolean).pop();
  return { file, reason: last ?? 'patch failed' };
}

/** Read `git am` output for the first failing file and map it back to a hunk of the mbox. */
export function parseGitAmFailure(output: string, patchText: string): ApplyFailure {
  const msg = /^Patch failed at (\d+)/m.exec(output);
  const message = msg?.[1] ? Number(msg[1]) - 1 : 0;
  const pf = /^error: patch failed: (.+):(\d+)$/m.exec(output);
  if (pf?.[1] && pf[2]) {
    const file = pf[1];
    const at = Number(pf[2]);
    const secs = patchSections(patchText, 1).filter((s) => s.path === file);
    const sec = secs.find((s) => s.message === message) ?? secs[0];
    const idx = sec ? sec.hunks.findIndex((h) => h.oldStart === at) : -1;
    return { file, at, hunk: idx >= 0 ? idx + 1 : undefined, reason: 'FAILED', patchLine: idx >= 0 ? sec?.hunks[idx]?.line : sec?.line };
  }
  const missing = /^error: (.+): (does not exist in index|No such file or directory)$/m.exec(output);
  if (missing?.[1]) {
    const sec = patchSections(patchText, 1).find((s) => s.path === missing[1]);
    return { file: missing[1], reason: 'file not found in the tree', patchLine: sec?.line };
  }
  const exists = /^error: (.+): already exists in (index|working directory)$/m.exec(output);
  if (exists?.[1]) return { file: exists[1], reason: 'creates a file that already exists', patchLine: patchSections(patchText, 1).find((s) => s.path === exists[1])?.line };
  const corrupt = /^error: corrupt patch at line (\d+)$/m.exec(output);
  if (corrupt?.[1]) return { reason: 'corrupt patch', patchLine: Number(corrupt[1]) };
  if (/Patch format detection failed/.test(output)) return { reason: 'not a patch git am understands', patchLine: 1 };
  const first = output.split('\n').find((l) => l.startsWith('error:') || l.startsWith('fatal:'));
  return { reason: first?.replace(/^(error|fatal): /, '') ?? 'git am failed' };
}

/** The one line a user sees: `fix.patch:42: does not apply: mm/gup.c hunk #2 (at line 123) FAILED`. */
export function applyFailureError(patchFile: string, f: ApplyFailure): UserError {
  const where: SourceLocation = { file: patchFile, line: f.patchLine };
  const target = f.file ? `${f.file}${f.hunk ? ` hunk #${f.hunk}` : ''}${f.at ? ` (at line ${f.at})` : ''}` : '';
  const reason = f.reason === 'FAILED' ? 'FAILED' : f.reason;
  return new UserError(`patch does not apply: ${target ? `${target} ` : ''}${reason}`.replace(/\s+/g, ' ').trim(), where);
}

/** An mbox of several messages (git format-patch --stdout) split into one text per message. */
export function splitMbox(text: string): string[] {
  const starts: number[] = [];
  const re = /^From [0-9a-f]{40} |^From \S+ +\w{3} \w{3} +\d+ [\d:]+ \d{4}\s*$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) starts.push(m.index);
  if (starts.length <= 1) return [text];
  if (starts[0] !== 0 && text.slice(0, starts[0]).trim()) starts.unshift(0);
  return starts.map((s, i) => text.slice(s, starts[i + 1] ?? text.length));
}

/**
 * `Subject:` without the `[PATCH n/m]` tag, folded lines joined; else the first prose line before
 * the diff (a bare `diff -u` has none: then `fallback`, never a hunk header or a context line).
 */
export function patchSubject(text: string, fallback: string): string {
  const m = /^Subject: *(.*(?:\n[ \t].*)*)/m.exec(text.split(/\n\n/)[0] ?? '') ?? /^Subject: *(.*(?:\n[ \t].*)*)/m.exec(text);
  if (m?.[1]) return m[1].replace(/\n[ \t]+/g, ' ').replace(/^\[[^\]]*\]\s*/, '').trim();
  const lines = text.split('\n');
  const diffAt = lines.findIndex((l) => /^(diff |--- |Index: )/.test(l));
  const first = lines.slice(0, diffAt < 0 ? lines.length : diffAt).find((l) => l.trim() && l.trim() !== '---');
  return first?.trim().slice(0, 120) ?? fallback;
}
