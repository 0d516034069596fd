/** A kernel ready to boot: what the image builder and the QEMU launcher need. */
export interface Kernel {
  /** The spec as the user wrote it, e.g. `debian:6.12` or `./bzImage`. */
  spec: string;
  /** Release string (`uname -r`), read from the bzImage header. */
  release: string;
  /** Full version banner from the bzImage header. */
  banner: string;
  bzImage: string;
  /** `lib/modules/<release>` of a modular kernel; absent for monolithic kernels. */
  modulesDir?: string | undefined;
  /** The kernel's .config when known. */
  config?: string | undefined;
  /** vmlinux with DWARF debug info, when the build kept one (console/symbolizer.ts). */
  vmlinux?: string | undefined;
  /** What makes this kernel this kernel: package and version, or content hashes. */
  identity: Record<string, string>;
  /** Cache key of the kernel artifacts; feeds the image cache key. */
  key: string;
}
