// The pure half of the hand-written floor (floor.mjs): the guest's /init as text, and reading the
// console back. No I/O here, so the test can check both without a guest.

const FS = ['ext4', 'xfs'];
const DAX = ['always', 'never', 'inode'];
const DEV = '/dev/pmem0';
const MNT = '/mnt/floor';

/** Markers the init prints around the reproducer, on the console, one per line. */
export const START = 'floor: repro start';
export const EXIT = 'floor: repro exit ';
export const FAILED = 'floor: failed: ';

/** `s` as one single-quoted sh word: nothing in it is expanded. */
export function shQuote(s) {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

/** What mkfs a DAX filesystem wants: 4 KiB blocks (xfs DAX needs them), no reflink with DAX. */
export function mkfsCommand(fs) {
  return fs === 'ext4' ? `mkfs.ext4 -F -q -b 4096 ${DEV}` : `mkfs.xfs -f -q -b size=4096 -m reflink=0 ${DEV}`;
}

/**
 * The guest's /init: mount the pseudo filesystems, insmod the modules (modular kernels), make the
 * label-less NVDIMM's namespace fsdax, mkfs, mount with dax=, run the reproducer in the
 * filesystem, power off. A failed setup command says which and powers off: no reproducer marker,
 * so the host knows it did not run.
 *
 * @param {{ fs: string, dax: string, modules: string[], repro: string, args: string[] }} o
 *   repro is the reproducer's path in the guest; modules are file names under /lib/modules.
 * @returns {string}
 */
export function initScript(o) {
  if (!FS.includes(o.fs)) throw new Error(`fs must be ${FS.join(' or ')}, got '${o.fs}'`);
  if (!DAX.includes(o.dax)) throw new Error(`dax must be ${DAX.join(', ')}, got '${o.dax}'`);
  const q = shQuote;
  return [
    '#!/bin/busybox sh',
    '/bin/busybox --install -s /bin',
    'export PATH=/bin:/sbin:/usr/bin:/usr/sbin',
    `must() { "$@" || { echo "${FAILED}$*"; poweroff -f; }; }`,
    'mount -t proc proc /proc',
    'mount -t sysfs sysfs /sys',
    'mount -t devtmpfs devtmpfs /dev',
    ...o.modules.map((m) => `must insmod /lib/modules/${q(m)}`),
    // Label-less NVDIMM: one namespace, raw until made fsdax (raw mode has no filesystem DAX).
    'must ndctl create-namespace -f -e namespace0.0 -m fsdax -a 2M > /dev/null',
    `must ${mkfsCommand(o.fs)}`,
    `mkdir -p ${MNT}`,
    `must mount -t ${o.fs} -o dax=${o.dax} ${DEV} ${MNT}`,
    // The catalog's reproducers put their files in $DAXLAB_DIR (and some read the others).
    `export DAXLAB_DIR=${MNT} DAXLAB_FS=${o.fs} DAXLAB_DAX=${o.dax} DAXLAB_DEV=${DEV} DAXLAB_REP=1`,
    `cd ${MNT}`,
    `echo ${q(START)}`,
    [q(o.repro), ...o.args.map(q)].join(' ') + ' < /dev/null',
    `echo "${EXIT}$?"`,
    'poweroff -f',
    '',
  ].join('\n');
}

/**
 * What the console says about the reproducer: whether it started, its exit status, the lines it
 * printed between the markers (kernel lines with a printk timestamp left out), and the setup
 * command that failed, if one did. Serial lines end in \r\n.
 *
 * @param {string} text
 * @returns {{ started: boolean, exitCode: number | undefined, lines: string[], failed: string | undefined }}
 */
export function parseConsole(text) {
  let started = false;
  let exitCode;
  let failed;
  const lines = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith(FAILED)) failed ??= line.slice(FAILED.length);
    else if (line === START) started = true;
    else if (started && exitCode === undefined && line.startsWith(EXIT)) exitCode = Number(line.slice(EXIT.length));
    else if (started && exitCode === undefined && !/^\[\s*\d+\.\d+\]/.test(line)) lines.push(line);
  }
  return { started, exitCode, lines, failed };
}
