// Patch series on disk: expand a spec's patches into an ordered list of files, and apply them
// to a throwaway copy of just the files they touch. Only a series that applied completely
// produces an overlay; a failure leaves nothing behind but one error line.
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { UserError } from '../util/errors.ts';
import { registerTempDir } from '../util/cleanup.ts';
import { createHash } from 'node:crypto';
import type { PatchSpec } from './buildspec.ts';
import { applyFailureError, isMbox, orderPatchFiles, parseGitAmFailure, parsePatchFailure, parseQuiltSeries, touchedFiles, type PatchKind } from './series.ts';

export interface PatchFile {
  /** Path on disk (for git ranges: a temp mbox written from git format-patch). */
  path: string;
  /** What to call it in messages and in the applied-patches list. */
  label: string;
  kind: PatchKind;
  strip: number;
  sha256: string;
  text: string;
}

async function isDirectory(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

async function loadPatch(path: string, strip: number, label = path): Promise<PatchFile> {
  const buf = await readFile(path);
  const text = buf.toString('utf8');
  return { path, label, kind: isMbox(text) ? 'mbox' : 'diff', strip, sha256: createHash('sha256').update(buf).digest('hex'), text };
}

async function fromSeriesFile(file: string): Promise<PatchFile[]> {
  const entries = parseQuiltSeries(await readFile(file, 'utf8'), file);
  const out: PatchFile[] = [];
  for (const e of entries) {
    const p = join(dirname(file), e.name);
    if (!(await stat(p).catch(() => undefined))?.isFile()) throw new UserError(`patch '${e.name}' listed in the series does not exist (${p})`, { file, line: e.line });
    out.push(await loadPatch(p, e.strip));
  }
  return out;
}

/** Expand the spec's patch list into files, in the order they are applied. */
export async function expandPatches(specs: PatchSpec[], scratch: () => Promise<string>): Promise<PatchFile[]> {
  const out: PatchFile[] = [];
  for (const s of specs) {
    if (s.kind === 'git-range') {
      const r = await execa('git', ['-C', s.repo, 'format-patch', '--stdout', '--no-signature', s.range], { reject: false, stripFinalNewline: false });
      if (r.exitCode !== 0) throw new UserError(`git format-patch ${s.range} in ${s.repo} failed: ${r.stderr.split('\n')[0]}`, s.where);
      if (!r.stdout.trim()) throw new UserError(`git range ${s.range} in ${s.repo} has no commits`, s.where);
      const p = join(await scratch(), `range-${out.length}.mbox`);
      await writeFile(p, r.stdout);
      out.push({ ...(await loadPatch(p, 1, `git:${s.repo}@${s.range}`)), kind: 'mbox' });
      continue;
    }
    const st = await stat(s.path).catch(() => undefined);
    if (!st) throw new UserError(`patch path not found: ${s.path}`, s.where);
    if (st.isDirectory()) {
      const series = join(s.path, 'series');
      if ((await stat(series).catch(() => undefined))?.isFile()) {
        out.push(...(await fromSeriesFile(series)));
        continue;
      }
      const names = orderPatchFiles(await readdir(s.path));
      if (names.length === 0) throw new UserError(`no .patch/.diff/.mbox files in ${s.path}`, s.where);
      for (const n of names) out.push(await loadPatch(join(s.path, n), 1));
    } else if (basename(s.path) === 'series' || s.path.endsWith('.series')) {
      out.push(...(await fromSeriesFile(s.path)));
    } else {
      out.push(await loadPatch(s.path, 1));
    }
  }
  return out;
}

/** Final content of every touched path after the series: a Buffer, or null when it was deleted. */
export type Overlay = Map<string, Buffer | null>;

const GIT_ID = ['-c', 'user.name=daxlab', '-c', 'user.email=daxlab@localhost', '-c', 'commit.gpgsign=false'];

/**
 * Apply the series to a scratch copy of the touched files of `sourceDir`. mbox patches go through
 * `git am` (so commit messages and renames are honoured), plain diffs through `patch -pN`.
 */
export async function applySeries(patches: PatchFile[], sourceDir: string, log: (s: string) => void): Promise<Overlay> {
  const overlay: Overlay = new Map();
  if (patches.length === 0) return overlay;
  const touched = new Set<string>();
  for (const p of patches) for (const f of touchedFiles(p.text, p.kind === 'mbox' ? 1 : p.strip)) touched.add(f);
  const dir = await mkdtemp(join(tmpdir(), 'daxlab-patch-'));
  const done = registerTempDir(dir);
  try {
    for (const f of touched) {
      const src = join(sourceDir, f);
      if (!(await stat(src).catch(() => undefined))?.isFile()) continue;
      await mkdir(dirname(join(dir, f)), { recursive: true });
      await copyFile(src, join(dir, f));
    }
    const git = (args: string[]) => execa('git', [...GIT_ID, ...args], { cwd: dir, reject: false, all: true });
    await git(['init', '-q']);
    await git(['add', '-A']);
    await git(['commit', '-q', '--allow-empty', '-m', 'base']);
    for (const p of patches) {
      log(`applying ${p.label} (${p.kind === 'mbox' ? 'git am' : `patch -p${p.strip}`})`);
      if (p.kind === 'mbox') {
        const r = await git(['am', '-q', '--whitespace=nowarn', `-p${p.strip}`, p.path]);
        if (r.exitCode !== 0) throw applyFailureError(p.label, parseGitAmFailure(r.all ?? '', p.text));
      } else {
        const r = await execa('patch', [`-p${p.strip}`, '--batch', '--forward', '--no-backup-if-mismatch', '--reject-file=-', '-i', p.path], { cwd: dir, reject: false, all: true });
        if (r.exitCode !== 0) throw applyFailureError(p.label, parsePatchFailure(r.all ?? '', p.text, p.strip));
        await git(['add', '-A']);
        await git(['commit', '-q', '--allow-empty', '-m', p.label]);
      }
    }
    // Files the series created via renames may not be in `touched`; ask git what changed.
    const changed = await execa('git', ['diff', '--name-only', '--no-renames', 'HEAD~0', (await git(['rev-list', '--max-parents=0', 'HEAD'])).stdout.trim()], { cwd: dir, reject: false });
    for (const f of new Set([...touched, ...changed.stdout.split('\n').filter(Boolean)])) {
      const p = join(dir, f);
      overlay.set(f, (await stat(p).catch(() => undefined))?.isFile() ? await readFile(p) : null);
    }
    return overlay;
  } finally {
    done();
    await rm(dir, { recursive: true, force: true });
  }
}
