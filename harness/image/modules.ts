// Which kernel modules the guest needs, in load order, from the kernel's own modules.dep.

/** Modules for nvdimm/pmem/dax, ext4, xfs and virtio-blk. Missing names are built in. */
export const GUEST_MODULES = [
  'crc32c_generic', // ext4 asks the crypto API for crc32c at mount time
  'libnvdimm',
  'nfit',
  'nd_pmem',
  'nd_btt',
  'dax_pmem',
  'dax_pmem_core',
  'device_dax',
  'ext4',
  'xfs',
  'virtio_blk',
];

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
