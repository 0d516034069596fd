// Stack frames to source lines, the pure half (console/symbolizer.ts runs nm and addr2line).
// A frame as the kernel prints it, `func+0x1c/0x80`, becomes an address through vmlinux's symbol
// table (nm); addr2line -i turns the address into file:line, with the functions inlined there as
// frames of their own (`inner fs/dax.c:412 [inline]` before `outer+0x1c/0x80 fs/dax.c:730`).
// Titles never come from here: they are made from the printed function names by the parser.
import { baseName, parseFrame, parseRip, type Frame } from './frames.ts';
import { splitLine } from './line.ts';

export interface KernelSymbol {
  addr: bigint;
  size?: bigint;
}

/** Text symbols by name; static functions can share a name, so each name has a list. */
export type SymbolTable = Map<string, KernelSymbol[]>;

// `nm -S --defined-only`: "ADDR [SIZE] TYPE NAME"; t/T text, w/W weak (a weak function's code).
const NM_LINE = /^([0-9a-fA-F]{1,16})(?: ([0-9a-fA-F]{1,16}))? ([tTwW]) (\S+)$/;

export function parseNm(text: string): SymbolTable {
  const table: SymbolTable = new Map();
  for (const line of text.split('\n')) {
    const m = NM_LINE.exec(line.trimEnd());
    if (!m) continue;
    const sym: KernelSymbol = { addr: BigInt(`0x${m[1]}`) };
    if (m[2] !== undefined) sym.size = BigInt(`0x${m[2]}`);
    const name = m[4] as string;
    const list = table.get(name);
    if (list) list.push(sym);
    else table.set(name, [sym]);
  }
  return table;
}

/** How a frame was printed, beyond what a Finding's frames keep. */
export interface FrameDetail {
  size?: string;
  module?: string;
  /** A RIP line: the faulting or warning instruction itself, not a return address. */
  exact: boolean;
}

export const frameKey = (fn: string, offset: string): string => `${fn}+${offset.toLowerCase()}`;

/**
 * Size, module and RIP-ness of the frames in a report's text, by `fn+offset`. A Finding's frames
 * are the parser's selection (reliable ones, RIP first); their spelling leads back here.
 */
export function frameDetails(reportText: string): Map<string, FrameDetail> {
  const out = new Map<string, FrameDetail>();
  for (const raw of reportText.split('\n')) {
    const text = splitLine(raw).text;
    const rip = text.trimStart().startsWith('RIP: ') ? parseRip(text) : undefined;
    const f = rip ?? parseFrame(text);
    if (!f?.offset) continue;
    const key = frameKey(f.fn, f.offset);
    const d: FrameDetail = { exact: rip !== undefined || (out.get(key)?.exact ?? false) };
    if (f.size !== undefined) d.size = f.size;
    if (f.module !== undefined) d.module = f.module;
    out.set(key, d);
  }
  return out;
}

/** lookupAddress's answer for a function this vmlinux has, but not at the printed size or offset. */
export const MISMATCH = 'mismatch';

// kallsyms prints a function's size as the distance to the next symbol, nm the ELF size: the two
// differ by the alignment padding after the function, less than x86's 16-byte function alignment
// (the daxlab builds: equal but for assembly; Debian's printed sizes are all multiples of 16).
const MAX_PADDING = 16n;
const sizeFits = (nm: bigint, printed: bigint): boolean => printed >= nm && printed - nm < MAX_PADDING;

/**
 * The address addr2line should look at; undefined when the frame cannot be placed (no offset, in
 * a module whose code is not in vmlinux, a name nm does not know, a name several functions of
 * the printed size share: a guess could name the wrong file); MISMATCH when vmlinux has the name
 * but no function of it fits the printed size and offset: another build of the kernel.
 * A return address points after its call: look one byte back, at the call itself, unless the
 * frame is the exact instruction (RIP) or a function's first byte (a pointer, not a return).
 */
export function lookupAddress(frame: Pick<Frame, 'fn' | 'offset'>, detail: FrameDetail | undefined, table: SymbolTable): bigint | typeof MISMATCH | undefined {
  if (frame.offset === undefined || detail?.module !== undefined) return undefined;
  const off = BigInt(frame.offset);
  const size = detail?.size !== undefined ? BigInt(detail.size) : undefined;
  let cands = table.get(frame.fn) ?? [];
  if (!cands.length) return undefined;
  if (size !== undefined) {
    const fit = cands.filter((s) => s.size === undefined || sizeFits(s.size, size));
    if (!fit.length) return MISMATCH;
    const exact = fit.filter((s) => s.size === size);
    cands = exact.length ? exact : fit;
  }
  const addrs = [...new Set(cands.map((s) => s.addr))];
  if (addrs.length !== 1) return undefined;
  const sym = cands[0] as KernelSymbol;
  if (sym.size !== undefined && off > sym.size) return MISMATCH;
  return sym.addr + off - (detail?.exact || off === 0n ? 0n : 1n);
}

export const hexAddr = (a: bigint): string => a.toString(16).padStart(16, '0');

/** One line of source addr2line gave for an address: function and, when known, file:line. */
export interface SourceLine {
  fn: string;
  file?: string;
  line?: number;
}

const ADDR_LINE = /^0x([0-9a-fA-F]+)$/;
const LOC_LINE = /^(.*?):(\d+|\?)(?: \(discriminator \d+\))?$/;

/**
 * `addr2line -a -f -i -e vmlinux ADDR...`: each address line (`0x...`), then function/location
 * pairs, innermost inlined function first, the function the address is in last.
 */
export function parseAddr2line(text: string): Map<string, SourceLine[]> {
  const out = new Map<string, SourceLine[]>();
  let cur: SourceLine[] | undefined;
  let fn: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (!line) continue;
    const a = ADDR_LINE.exec(line);
    if (a && fn === undefined) {
      cur = [];
      out.set(hexAddr(BigInt(`0x${a[1]}`)), cur);
      continue;
    }
    if (!cur) continue;
    if (fn === undefined) {
      fn = line;
      continue;
    }
    const m = LOC_LINE.exec(line);
    const s: SourceLine = { fn };
    if (m && m[1] !== '??' && m[1]) s.file = m[1];
    if (m && m[2] !== '?' && m[2] !== '0' && s.file) s.line = Number(m[2]);
    if (fn !== '??' || s.file) cur.push(s);
    fn = undefined;
  }
  return out;
}

// Top-level directories of a kernel tree: where a relative path inside one starts.
const TREE_DIRS = ['arch', 'block', 'certs', 'crypto', 'drivers', 'fs', 'include', 'init', 'io_uring', 'ipc', 'kernel', 'lib', 'mm', 'net', 'rust', 'samples', 'security', 'sound', 'virt'];
const RELATIVE_IN_TREE = new RegExp(`^(?:\\./)*(?:\\.\\./[^/]+/)*((?:${TREE_DIRS.join('|')})/.+)$`);

/**
 * A path addr2line printed, relative to the kernel tree: a known root of the build is stripped
 * (treeRootFrom: `/w/obj/../src/fs/dax.c`); a relative path loses what leads into the tree
 * (`../src/fs/dax.c`, `./include/linux/mm.h`). Anything else stays as it was: an absolute path
 * says nothing reliable about where the tree starts (`/usr/lib/gcc/...`).
 */
export function treeRelative(file: string, roots: readonly string[] = []): string {
  for (const r of roots) {
    const root = r.endsWith('/') ? r : `${r}/`;
    if (file.startsWith(root)) return file.slice(root.length);
  }
  const m = RELATIVE_IN_TREE.exec(file);
  return m ? (m[1] as string) : file;
}

/** A function every kernel has, in a file every tree has: where its path starts is the tree root. */
export const ROOT_ANCHOR = { fn: 'start_kernel', file: 'init/main.c' };

/** The tree root as the build saw it, from addr2line's answer for ROOT_ANCHOR's address; '' if unknown. */
export function treeRootFrom(anchor: readonly SourceLine[] | undefined): string {
  const file = anchor?.at(-1)?.file;
  return file?.endsWith(`/${ROOT_ANCHOR.file}`) ? file.slice(0, -ROOT_ANCHOR.file.length) : '';
}

/** addr2line's lines for one address as the cache keeps them: paths relative to the tree. */
export function relativeLines(lines: readonly SourceLine[], root: string): SourceLine[] {
  return lines.map((s) => (s.file !== undefined ? { ...s, file: treeRelative(s.file, root ? [root] : []) } : s));
}

export interface DecodeStats {
  /** Frames that got a file:line. */
  decoded: number;
  /** Frames of another build: sizes or offsets that do not fit, or addr2line naming another function. */
  mismatched: number;
}

/**
 * The vmlinux is not the booted kernel's: at least as many frames mismatch as decode. The right
 * vmlinux mismatches none (0 of 262 in the captured logs); another build mismatches nearly all
 * and decodes at most a few assembly symbols that carry no size to check.
 */
export function wrongVmlinux(s: DecodeStats): boolean {
  return s.mismatched > 0 && s.mismatched >= s.decoded;
}

/**
 * A finding's frames with source lines: each placed frame gets file:line and is preceded by the
 * functions inlined at that address. A frame addr2line puts in a different function keeps no
 * location (a vmlinux that is not the booted kernel's must not invent lines).
 */
export function decodeFrames(
  frames: readonly Frame[],
  details: Map<string, FrameDetail>,
  addressOf: (frame: Frame, detail: FrameDetail | undefined) => string | undefined,
  lines: (addr: string) => SourceLine[] | undefined,
  stats: DecodeStats = { decoded: 0, mismatched: 0 },
): Frame[] {
  const out: Frame[] = [];
  for (const f of frames) {
    const detail = f.offset !== undefined ? details.get(frameKey(f.fn, f.offset)) : undefined;
    const addr = f.file === undefined ? addressOf(f, detail) : undefined;
    if (addr === MISMATCH) {
      stats.mismatched++;
      out.push(f);
      continue;
    }
    const src = addr !== undefined ? lines(addr) : undefined;
    const chain = src ? collapseSelfInlined(src) : undefined;
    const own = chain?.[chain.length - 1];
    // No line for the frame's own function (assembly without line info): nothing to add.
    if (!chain || !own || own.file === undefined) {
      out.push(f);
      continue;
    }
    if (baseName(own.fn) !== baseName(f.fn)) {
      stats.mismatched++;
      out.push(f);
      continue;
    }
    for (const s of chain.slice(0, -1)) out.push(withLine({ fn: s.fn, inlined: true }, s));
    out.push(withLine({ ...f }, own));
    stats.decoded++;
  }
  return out;
}

/**
 * GCC's partial inlining can leave a function "inlined into itself": addr2line names it twice,
 * the inner entry with the line that ran, the outer with the function's opening line. One frame
 * with the line that ran says the same without the puzzle.
 */
function collapseSelfInlined(src: readonly SourceLine[]): SourceLine[] {
  const out: SourceLine[] = [];
  for (const s of src) {
    const prev = out[out.length - 1];
    if (prev && prev.fn === s.fn) continue;
    out.push(s);
  }
  return out;
}

function withLine(f: Frame, s: SourceLine): Frame {
  if (s.file !== undefined) f.file = s.file;
  if (s.line !== undefined) f.line = s.line;
  return f;
}

/** `fn+0x1c file:line`, `inner file:line [inline]`: a frame as the findings output prints it. */
export function formatFrame(f: Frame): string {
  const loc = f.file !== undefined ? ` ${f.file}${f.line !== undefined ? `:${f.line}` : ''}` : '';
  return `${f.fn}${f.offset !== undefined ? `+${f.offset}` : ''}${loc}${f.inlined ? ' [inline]' : ''}`;
}

/** What symbolizer.ts keeps per build (keyed by its GNU build ID), so a repeat run re-runs nothing. */
/** Bump when what the cache holds changes meaning: older files are then ignored. */
export const SYMBOL_CACHE_VERSION = 2;

export interface SymbolCache {
  v: number;
  buildId: string;
  /** `fn+offset/size` (RIP frames with a `!` suffix) -> address looked up, MISMATCH, or null: not placeable. */
  frames: Record<string, string | null>;
  /** Address -> addr2line's answer, paths already relative to the tree. */
  addrs: Record<string, SourceLine[]>;
  /** The tree root as the build saw it (treeRootFrom); absent until addr2line first ran. */
  root?: string;
}

/** The cache key of a printed frame: its spelling decides its address within one build. */
export function frameCacheKey(f: Pick<Frame, 'fn' | 'offset'>, d: FrameDetail | undefined): string {
  return `${f.fn}+${f.offset ?? ''}/${d?.size ?? ''}${d?.module ? ` [${d.module}]` : ''}${d?.exact ? '!' : ''}`;
}
