#!/bin/sh
# Real captures from the splat-test kernel (images/patches/test/splat-kernel.yaml):
#   sh test/data/console/capture-splat-kernel.sh KERNEL_SPEC_OR_BZIMAGE
# Lockdep switches itself off after its first report, so each lockdep kind gets its own boot.
# Step 1 is always the fsdax/ext4 setup; the steps below are 2, 3, ...
set -e
K=${1:?kernel spec or bzImage}
D=$(dirname "$0")
T=/sys/kernel/debug/daxlab_test
cap() { out=$D/$1; shift; rm -f "$out"; npx tsx "$D/capture.ts" "$K" "$out" "$@"; }

# Everything that is not lockdep, plus one lockdep report (RCU first: it leaves lockdep on, then
# the inversion), each kind in its own step; the boot ends in a panic.
cap splat-6.12-mixed.log --cmdline 'rcupdate.rcu_cpu_stall_timeout=5' -- \
  "echo rcu > $T" \
  "echo ab > $T" \
  "echo ba > $T" \
  'truncate -s 1234567 /mnt/dax/f && truncate -s 0 /mnt/dax/f' \
  'truncate -s 1234567 /mnt/dax/g && truncate -s 0 /mnt/dax/g' \
  "echo sleep > $T" \
  "echo ubsan > $T" \
  "echo bug > $T" \
  "echo null > $T" \
  "echo gpf > $T" \
  "echo 2 > /proc/sys/kernel/hung_task_timeout_secs; echo hang > $T" \
  "echo 0 > /proc/sys/kernel/hung_task_timeout_secs; echo 2 > /proc/sys/kernel/watchdog_thresh; echo lockup > $T" \
  'echo c > /proc/sysrq-trigger'

# One lockdep kind per boot.
for k in recursive inconsistent unlock freed userret sleep; do
  cap "splat-6.12-lockdep-$k.log" -- "echo $k > $T" 'echo w > /proc/sysrq-trigger'
done

# The kernel's normal boot and a SysRq task dump with lockdep on: no findings.
cap splat-6.12-boot-sysrq.log -- 'echo w > /proc/sysrq-trigger; echo t > /proc/sysrq-trigger; echo d > /proc/sysrq-trigger'
