// Which kernel modules the guest needs, in load order, from the kernel's own modules.dep.

/** Modules a boot needs, by purpose; a boot loads only the groups it uses (insmod is slow under TCG). */
export const MODULE_GROUPS = {
  pmem: ['libnvdimm', 'nfit', 'nd_pmem', 'nd_btt', 'dax_pmem', 'dax_pmem_core', 'device_dax'],
  ext4: ['crc32c_generic', 'ext4'], // ext4 asks the crypto API for crc32c at mount time
  xfs: ['crc32c_generic', 'xfs'], // libcrc32c (xfs) needs the crc32c algorithm registered, as ext4 does
  scratch: ['virtio_pci', 'virtio_blk', 'crc32c_generic', 'ext4'], // virtio_pci is a module on Debian 6.1
} as const;
export type ModuleGroup = keyof typeof MODULE_GROUPS;

/** Every module the guest image carries. Names absent from modules.dep are built in. */
export const GUEST_MODULES: string[] = [...new Set(Object.values(MODULE_GROUPS).flat())];

/**
 * The subset of the image's modules (`order`, already dependency-ordered) needed for `groups`,
 * with their dependencies, in load order.
 */
export function modulesForGroups(order: string[], deps: Record<string, string[]>, groups: ModuleGroup[]): string[] {
  const want = new Set<string>();
  const add = (name: string): void => {
    if (want.has(name) || !deps[name]) return;
    want.add(name);
    for (const d of deps[name] ?? []) add(d);
  };
  for (const g of groups) for (const m of MODULE_GROUPS[g]) add(m);
  return order.filter((m) => want.has(m));
}

export interface ModuleDep {
  /** Path relative to lib/modules/<release>. */
  path: string;
  deps: string[];
}

export function moduleName(path: string): string {
  const base = path.split('/').pop() ?? path;
  return base.replace(/\.ko(\.(xz|gz|zst))?$/, '').replace(/-/g, '_');
}

export function parseModulesDep(text: string): Map<string, ModuleDep> {
  const map = new Map<string, ModuleDep>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const path = line.slice(0, i).trim();
    const deps = line.slice(i + 1).trim().split(/\s+/).filter(Boolean);
    map.set(moduleName(path), { path, deps });
  }
  return map;
}

/**
 * Closure of the wanted modules in an order where each module's dependencies come first.
 * Names absent from modules.dep are returned in `builtinOrMissing` (built in, or not built).
 */
export function moduleLoadOrder(dep: Map<string, ModuleDep>, wanted: string[]): { order: ModuleDep[]; builtinOrMissing: string[] } {
  const order: ModuleDep[] = [];
  const seen = new Set<string>();
  const missing: string[] = [];
  const visit = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const m = dep.get(name);
    if (!m) {
      missing.push(name);
      return;
    }
    for (const d of m.deps) visit(moduleName(d));
    order.push(m);
  };
  for (const w of wanted) visit(w.replace(/-/g, '_'));
  return { order, builtinOrMissing: missing };
}
