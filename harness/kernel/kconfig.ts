// Kconfig fragments and .config files as text: parse, merge, and find what kconfig dropped.
// Pure functions; the caller reads the files.
import { UserError, type SourceLocation } from '../util/errors.ts';

export interface ConfigRequest {
  symbol: string;
  /** `y`, `m`, `n` (also for `# CONFIG_X is not set`), a number or a quoted string. */
  value: string;
  where?: SourceLocation | undefined;
}

const SET_RE = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/;
const UNSET_RE = /^# CONFIG_([A-Za-z0-9_]+) is not set\s*$/;

/** Lines of a fragment (or of a full .config) as requests, with file:line for each. */
export function parseFragment(text: string, file: string): ConfigRequest[] {
  const out: ConfigRequest[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const where = { file, line: i + 1 };
    const unset = UNSET_RE.exec(line);
    if (unset?.[1]) return void out.push({ symbol: unset[1], value: 'n', where });
    if (line.startsWith('#')) return;
    const set = SET_RE.exec(line);
    if (!set?.[1] || set[2] === undefined) throw new UserError(`not a kconfig line: '${line}' (expected CONFIG_NAME=VALUE or '# CONFIG_NAME is not set')`, where);
    out.push({ symbol: set[1], value: set[2].trim(), where });
  });
  return out;
}

/** Symbol -> value of a .config; unset symbols map to `n`. */
export function parseDotConfig(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const unset = UNSET_RE.exec(line);
    if (unset?.[1]) m.set(unset[1], 'n');
    const set = SET_RE.exec(line);
    if (set?.[1] && set[2] !== undefined) m.set(set[1], set[2]);
  }
  return m;
}

function render(r: ConfigRequest): string {
  return r.value === 'n' ? `# CONFIG_${r.symbol} is not set` : `CONFIG_${r.symbol}=${r.value}`;
}

/** The last request for each symbol wins, as with merge_config.sh. */
export function effectiveRequests(reqs: ConfigRequest[]): ConfigRequest[] {
  const last = new Map<string, ConfigRequest>();
  for (const r of reqs) {
    last.delete(r.symbol); // keep the order of the winning request
    last.set(r.symbol, r);
  }
  return [...last.values()];
}

/**
 * Overlay requests on a base .config: lines for requested symbols are replaced in place and new
 * ones appended. olddefconfig then resolves dependencies and defaults.
 */
export function mergeConfig(baseText: string, reqs: ConfigRequest[]): string {
  const want = new Map(effectiveRequests(reqs).map((r) => [r.symbol, r]));
  const done = new Set<string>();
  const lines = baseText.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const out = lines.map((raw) => {
    const sym = SET_RE.exec(raw.trim())?.[1] ?? UNSET_RE.exec(raw.trim())?.[1];
    const r = sym ? want.get(sym) : undefined;
    if (!r || !sym) return raw;
    done.add(sym);
    return render(r);
  });
  for (const r of want.values()) if (!done.has(r.symbol)) out.push(render(r));
  return out.join('\n') + '\n';
}

const unquote = (v: string): string => (v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v);

/** Does the final value satisfy the request? `m` is met by `y` (monolithic builds turn m into y). */
export function satisfied(want: string, got: string | undefined): boolean {
  if (want === 'n') return got === undefined || got === 'n';
  if (want === 'm') return got === 'm' || got === 'y';
  if (got === undefined) return false;
  return unquote(want) === unquote(got);
}

export interface DroppedOption {
  request: ConfigRequest;
  got: string | undefined;
}

export function findDropped(reqs: ConfigRequest[], final: Map<string, string>): DroppedOption[] {
  return effectiveRequests(reqs)
    .filter((r) => !satisfied(r.value, final.get(r.symbol)))
    .map((r) => ({ request: r, got: final.get(r.symbol) }));
}

export interface KconfigDef {
  symbol: string;
  file: string;
  line: number;
  /** `depends on` expressions, including those of enclosing `if` and `menu` blocks. */
  depends: string[];
  /** A symbol with no prompt can only be selected by others, never set from a fragment. */
  hasPrompt: boolean;
}

/** Definitions of `config`/`menuconfig` symbols in one Kconfig file's text. */
export function parseKconfig(text: string, file: string): KconfigDef[] {
  const defs: KconfigDef[] = [];
  const blocks: { kind: 'if' | 'menu'; dep: string | undefined }[] = [];
  let cur: KconfigDef | undefined;
  let inMenuHeader: { kind: 'menu'; dep: string | undefined } | undefined;
  let helpIndent: number | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let raw = lines[i] ?? '';
    while (raw.endsWith('\\') && i + 1 < lines.length) raw = raw.slice(0, -1) + ' ' + (lines[++i] ?? '');
    const indent = /^\s*/.exec(raw)?.[0].replace(/\t/g, '        ').length ?? 0;
    const line = raw.trim();
    if (helpIndent !== undefined) {
      if (!line || indent > helpIndent) continue; // help text
      helpIndent = undefined;
    }
    if (!line || line.startsWith('#')) continue;
    const word = line.split(/\s+/)[0];
    const rest = line.slice((word ?? '').length).trim();
    if (word === 'config' || word === 'menuconfig') {
      inMenuHeader = undefined;
      const outer = blocks.map((b) => b.dep).filter((d): d is string => !!d);
      cur = { symbol: rest, file, line: i + 1, depends: [...outer], hasPrompt: false };
      defs.push(cur);
    } else if (word === 'if') {
      cur = undefined;
      blocks.push({ kind: 'if', dep: rest });
    } else if (word === 'endif' || word === 'endmenu') {
      cur = undefined;
      inMenuHeader = undefined;
      blocks.pop();
    } else if (word === 'menu') {
      cur = undefined;
      inMenuHeader = { kind: 'menu', dep: undefined };
      blocks.push(inMenuHeader);
    } else if (word === 'help' || word === '---help---') {
      helpIndent = indent;
    } else if (word === 'depends' && rest.startsWith('on')) {
      const expr = rest.slice(2).trim();
      if (cur) cur.depends.push(expr);
      else if (inMenuHeader) inMenuHeader.dep = inMenuHeader.dep ? `${inMenuHeader.dep} && ${expr}` : expr;
    } else if (cur && (word === 'bool' || word === 'tristate' || word === 'string' || word === 'int' || word === 'hex') && rest.startsWith('"')) {
      cur.hasPrompt = true;
    } else if (cur && word === 'prompt') {
      cur.hasPrompt = true;
    } else if (cur && /^def_(bool|tristate)$/.test(word ?? '')) {
      // def_bool has no prompt of its own
    } else if (['choice', 'endchoice', 'source', 'comment', 'mainmenu', 'rsource', 'osource', 'orsource'].includes(word ?? '')) {
      cur = undefined;
      inMenuHeader = undefined;
    }
  }
  return defs;
}

const KEYWORDS = new Set(['y', 'n', 'm', 'if', 'on']);

/** Symbols of a dependency expression that are off in the final config (negated ones skipped). */
export function unmetSymbols(expr: string, final: Map<string, string>): string[] {
  const out: string[] = [];
  const re = /(!?)\s*([A-Za-z0-9_]+)(\s*[!=<>]=?\s*("[^"]*"|[A-Za-z0-9_]+))?/g;
  for (let m = re.exec(expr); m; m = re.exec(expr)) {
    const [, neg, sym, cmp] = m;
    if (!sym || KEYWORDS.has(sym) || /^\d+$/.test(sym) || neg || cmp) continue;
    const v = final.get(sym);
    if (v === undefined || v === 'n') if (!out.includes(sym)) out.push(sym);
  }
  return out;
}

/** One line explaining why kconfig dropped an option, using its definition when known. */
export function explainDropped(d: DroppedOption, defs: KconfigDef[], final: Map<string, string>): string {
  const r = d.request;
  const got = d.got === undefined ? 'absent' : d.got === 'n' ? 'is not set' : `=${d.got}`;
  let msg = `CONFIG_${r.symbol}=${r.value} was dropped by kconfig (final .config: ${got})`;
  if (defs.length === 0) return `${msg}; no Kconfig defines ${r.symbol} in this tree`;
  const def = defs.find((x) => x.depends.some((e) => unmetSymbols(e, final).length > 0)) ?? defs[0];
  if (!def) return msg;
  const unmet = [...new Set(def.depends.flatMap((e) => unmetSymbols(e, final)))];
  if (unmet.length > 0) {
    const expr = def.depends.find((e) => unmetSymbols(e, final).length > 0) ?? '';
    msg += `; ${def.file}:${def.line}: depends on ${expr}; unmet: ${unmet.map((s) => `CONFIG_${s}=${final.get(s) ?? 'n'}`).join(', ')}`;
  } else if (!def.hasPrompt) {
    msg += `; ${def.file}:${def.line}: ${r.symbol} has no prompt (it can only be selected by other options)`;
  } else {
    msg += `; ${def.file}:${def.line}: check 'depends on' / 'select' constraints there`;
  }
  return msg;
}
