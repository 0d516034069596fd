// Command-line flags that shape guests, shared by `run` and `ab`: both must boot guests the same
// way, and a timing comparison records them.
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { GuestSettings } from '../engine/types.ts';
import { parseSize } from '../scenario/units.ts';
import { UserError } from '../util/errors.ts';
import { didYouMean } from '../util/suggest.ts';

/** `--append`: words for the kernel command line (QEMU gets it as one argv element, no shell). */
export function kernelArgs(s: string): string[] {
  if (/[\x00-\x1f\x7f]/.test(s)) throw new UserError('--append: control characters are not allowed on a kernel command line');
  const words = s.trim().split(/\s+/).filter(Boolean);
  if (words.join(' ').length > 1024) throw new UserError("--append: longer than 1024 characters (the x86 command line holds 2048 with daxlab's own)");
  return words;
}

export const positiveSeconds = (flag: string, v: string | undefined, max = Infinity): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0) || n > max) throw new UserError(`${flag} must be a positive number of seconds${max < Infinity ? ` up to ${max}` : ''}, got '${v}'`);
  return n;
};

export const intFlag = (flag: string, v: string, max: number, min = 1): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UserError(`${flag} must be ${min}..${max}, got '${v}'`);
  return n;
};

/**
 * An option taking one of `values`: commander's choices (listed in --help), plus a did-you-mean
 * for a misspelt value (commander's own message already quotes the value given).
 */
export function choiceOption(flags: string, description: string, values: readonly string[]): Option {
  return new Option(flags, description).choices(values).argParser((v: string) => {
    if (!values.includes(v)) throw new InvalidArgumentError(`Allowed choices are ${values.join(', ')}${didYouMean(v, values)}.`);
    return v;
  });
}

export interface GuestFlags {
  accel: 'auto' | 'kvm' | 'tcg';
  tcgThread: 'single' | 'multi';
  firmware: 'qboot' | 'seabios';
  cpus: string;
  mem: string;
  append?: string;
  bootTimeout?: string;
  grace?: string;
  clock?: 'host' | 'icount';
  pmemTemplate: boolean;
  bootEntry: 'pvh' | 'bzimage';
}

export function addGuestOptions(cmd: Command): Command {
  return cmd
    .addOption(choiceOption('--accel <accel>', 'accelerator; auto probes KVM and falls back to TCG', ['auto', 'kvm', 'tcg']).default('auto'))
    .addOption(choiceOption('--tcg-thread <mode>', 'TCG vCPU threading: single (one host thread per guest, no live-patching races) or multi', ['single', 'multi']).default('single'))
    .addOption(choiceOption('--firmware <fw>', 'guest firmware: qboot (fast) or seabios (QEMU default)', ['qboot', 'seabios']).default('qboot'))
    .option('--guest-cpus, --cpus <n>', 'vCPUs per guest (-smp)', '2')
    .option('--mem <size>', 'guest RAM', '2G')
    .option('--append <args>', 'extra kernel command-line arguments (e.g. "dyndbg=+p nokaslr")')
    .addOption(choiceOption('--boot-entry <entry>', "what QEMU boots: pvh (the kernel's vmlinux through its PVH entry, skipping the decompressor and so KASLR; the bzImage when the kernel has no PVH entry) or bzimage", ['pvh', 'bzimage']).default('pvh'))
    .option('--no-pmem-template', "make every boot's fsdax namespace and first filesystem in the guest (ndctl, mkfs) instead of starting from a pmem template")
    .option('--boot-timeout <s>', 'seconds until a guest that has not booted is killed')
    .option('--grace <s>', 'seconds of silence past a step timeout before the host declares the guest wedged')
    .addOption(choiceOption('--clock <clock>', "guest clock under TCG: host (wall time) or icount (virtual time from instructions executed: deterministic timings; defaults: run host; ab and nightly icount, or the plan's clock:)", ['host', 'icount']));
}

export function guestSettings(f: GuestFlags): GuestSettings {
  const cpus = intFlag('--guest-cpus', f.cpus, 64);
  const mem = parseSize(f.mem);
  if (!mem || mem < 256 * 1024 ** 2) throw new UserError(`--mem must be a size of at least 256M, got '${f.mem}'`);
  return {
    cpus,
    memBytes: mem,
    firmware: f.firmware,
    bootTimeoutS: positiveSeconds('--boot-timeout', f.bootTimeout),
    graceS: positiveSeconds('--grace', f.grace),
    append: f.append === undefined ? undefined : kernelArgs(f.append),
    clock: f.clock,
    pmemTemplate: f.pmemTemplate,
    entry: f.bootEntry,
  };
}
