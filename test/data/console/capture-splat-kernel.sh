#!/bin/sh
# Real captures from the splat-test kernel (images/patches/test/splat-kernel.yaml):
#   sh test/data/console/capture-splat-kernel.sh KERNEL_SPEC_OR_BZIMAGE [mixed|lockdep]
#   sh test/data/console/capture-splat-kernel.sh images/patches/test/sanitizers-kernel.yaml sanitizers
# Lockdep switches itself off after its first report, so each lockdep kind gets its own boot.
# Step 1 is always the fsdax/ext4 setup; the steps below are 2, 3, ...
set -e
K=${1:?kernel spec or bzImage}
PART=${2:-all}
D=$(dirname "$0")
T=/sys/kernel/debug/daxlab_test
cap() { out=$D/$1; shift; rm -f "$out"; npx tsx "$D/capture.ts" "$K" "$out" "$@"; }

# Everything that is not lockdep, plus one lockdep report (RCU first: it leaves lockdep on, then
# the inversion), each kind in its own step; the boot ends in a panic. The hang comes before the
# oopses: once the kernel has oopsed (taint D) the hung task detector stays quiet.
if [ "$PART" = sanitizers ]; then
  cap sanitizers-6.12.log -- "echo ubsan > $T" "echo uaf > $T" 'echo w > /proc/sysrq-trigger'
  exit 0
fi

if [ "$PART" != lockdep ]; then
cap splat-6.12-mixed.log --cmdline 'rcupdate.rcu_cpu_stall_timeout=5' -- \
  "echo rcu > $T" \
  "echo ab > $T" \
  "echo ba > $T" \
  'truncate -s 1234567 /mnt/dax/f && truncate -s 0 /mnt/dax/f' \
  'truncate -s 1234567 /mnt/dax/g && truncate -s 0 /mnt/dax/g' \
  "echo sleep > $T" \
  "echo ubsan > $T" \
  "echo 2 > /proc/sys/kernel/hung_task_timeout_secs; echo hang > $T" \
  "echo 0 > /proc/sys/kernel/hung_task_timeout_secs; echo 2 > /proc/sys/kernel/watchdog_thresh; echo lockup > $T" \
  "echo bug > $T" \
  "echo null > $T" \
  "echo gpf > $T" \
  'echo c > /proc/sysrq-trigger'
fi

# One lockdep kind per boot; each log also holds a normal boot of this kernel and a SysRq dump
# (w: blocked tasks; t: all tasks, d: all held locks in the first one), which must give nothing.
if [ "$PART" != mixed ]; then
cap splat-6.12-lockdep-recursive.log -- "echo recursive > $T" 'echo w > /proc/sysrq-trigger; echo t > /proc/sysrq-trigger; echo d > /proc/sysrq-trigger'
for k in inconsistent unlock freed userret sleep; do
  cap "splat-6.12-lockdep-$k.log" -- "echo $k > $T" 'echo w > /proc/sysrq-trigger'
done
fi
