// Regenerates the real console captures in this directory: boots KERNEL with the daxlab guest
// image, runs each STEP (a shell command line, run by the agent as one step, so the console gets
// the agent's `daxlab: step N begin/end` markers) and saves the serial console to OUT.
// Steps run after an fsdax namespace is created and mounted ext4 -o dax=always at /mnt/dax.
//   npx tsx test/data/console/capture.ts KERNEL OUT [--cmdline 'k=v ...'] [--] STEP...
// Development tool: the commands are the developer's own, never console text.
import { resolveKernel } from '../../../harness/kernel/resolve.ts';
import { buildGuestImage, overlayArchive } from '../../../harness/image/initramfs.ts';
import { modulesForGroups } from '../../../harness/image/modules.ts';
import { shQuote } from '../../../harness/plan/plan.ts';
import { runGuest } from '../../../harness/qemu/guest.ts';

const args = process.argv.slice(2);
const [spec, out] = args;
if (!spec || !out) {
  console.error('usage: capture.ts KERNEL OUT [--cmdline ARGS] [--] STEP...');
  process.exit(2);
}
let rest = args.slice(2);
let cmdline: string[] = [];
if (rest[0] === '--cmdline') {
  cmdline = (rest[1] ?? '').split(/\s+/).filter(Boolean);
  rest = rest.slice(2);
}
if (rest[0] === '--') rest = rest.slice(1);

const log = (s: string): void => console.error('#', s);
const kernel = await resolveKernel(spec, log);
const image = await buildGuestImage(kernel, log);
const plan = ['group capture'];
plan.push(`run_step 1 setup 300 sh -c ${shQuote('ndctl create-namespace -f -e namespace0.0 -m fsdax -a 2M >/dev/null && mkfs.ext4 -F -q -b 4096 /dev/pmem0 && mount -t ext4 -o dax=always /dev/pmem0 /mnt/dax')}`);
rest.forEach((cmd, i) => plan.push(`run_step ${i + 2} repro 120 sh -c ${shQuote(cmd)}`));
const outcome = await runGuest({
  bzImage: kernel.bzImage,
  baseImage: image.path,
  // Debian kernels need pmem and ext4 modules loaded by the agent; self-built ones have none.
  overlay: overlayArchive(plan.join('\n') + '\n', [], modulesForGroups(image.modules, image.moduleDeps, ['pmem', 'ext4']).map((m) => image.moduleFiles[m] ?? m)),
  accel: 'tcg',
  cpus: 2,
  memBytes: 2 * 1024 ** 3,
  pmemBytes: 1024 ** 3,
  scratchBytes: 0,
  extraCmdline: cmdline,
  consoleLog: out,
  agentLog: '/dev/null',
  bootTimeoutS: 300,
  graceS: 60,
  onEvent: (ev, ms) => {
    if (ev.event === 'begin' || ev.event === 'end') log(`${ms} ms ${JSON.stringify(ev)}`);
  },
});
log(`${kernel.release}: ${outcome.end} after ${outcome.timings.exitMs} ms`);
