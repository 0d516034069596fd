#!/bin/busybox sh
# daxlab guest agent: PID 1 of the initramfs. It runs the steps in /daxlab/plan.sh, reports on
# the structured channel (ttyS1, lines starting "@@DX ") and marks each step in the kernel log
# (/dev/kmsg) so console findings can be attributed to the step that was running.
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /mnt/dax /mnt/scratch /sbin /usr/bin /usr/sbin
/bin/busybox --install -s /bin
export PATH=/daxlab/bin:/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
[ -e /sbin/modprobe ] || ln -s /bin/modprobe /sbin/modprobe
echo 1 > /proc/sys/kernel/sysrq
# Everything the kernel prints goes to the console, so splats during a step are never filtered.
echo 8 > /proc/sys/kernel/printk

CH=/dev/ttyS1
stty -F $CH raw -echo 2>/dev/null
exec 3>$CH

emit() { echo "@@DX $*" >&3; }
kmsg() { echo "daxlab: $*" > /dev/kmsg; }
now_ms() { read up _ < /proc/uptime; echo $(( ${up%.*} * 1000 + 10 * 1${up#*.} - 1000 )); }

GROUP_OK=1
STOP=0

# send_lines ID STREAM FILE: ship at most 1 MiB of a step's output, one channel line per line.
send_lines() {
  [ -s "$3" ] || return 0
  head -c 1048576 "$3" | while IFS= read -r l || [ -n "$l" ]; do echo "@@DX $1 $2 $l" >&3; done
}

# run_step ID KIND TIMEOUT_S CMD...: KIND is setup (a failure skips the rest of the group) or repro.
run_step() {
  id=$1; kind=$2; to=$3; shift 3
  if [ $STOP = 1 ] || { [ $GROUP_OK = 0 ] && [ "$kind" != cleanup ]; }; then
    if [ $STOP = 1 ]; then emit "$id skip after-hang"; else emit "$id skip setup-failed"; fi
    return 0
  fi
  emit "$id begin $kind $to"
  kmsg "step $id begin"
  t0=$(now_ms)
  rm -f /tmp/rc.$id /tmp/pid.$id
  ( "$@" > /tmp/out.$id 2> /tmp/err.$id < /dev/null & echo $! > /tmp/pid.$id; wait $!; echo $? > /tmp/rc.$id ) &
  deadline=$(( t0 + to * 1000 ))
  status=done
  while [ ! -e /tmp/rc.$id ]; do
    if [ $(now_ms) -ge $deadline ]; then status=timeout; break; fi
    sleep 0.05
  done
  if [ $status = timeout ]; then
    kmsg "step $id timeout after ${to}s; dumping blocked and all tasks"
    echo w > /proc/sysrq-trigger
    echo t > /proc/sysrq-trigger
    pid=$(cat /tmp/pid.$id 2>/dev/null)
    [ -n "$pid" ] && kill -9 $pid 2>/dev/null
    n=0
    while [ ! -e /tmp/rc.$id ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
    # Still there after SIGKILL: stuck in the kernel. Later steps would only pile up behind it.
    [ -e /tmp/rc.$id ] || { status=hung; STOP=1; }
  fi
  ms=$(( $(now_ms) - t0 ))
  rc=$(cat /tmp/rc.$id 2>/dev/null || echo -)
  send_lines $id out /tmp/out.$id
  send_lines $id err /tmp/err.$id
  kmsg "step $id end $status"
  emit "$id end $status $rc $ms"
  if [ "$kind" = setup ] && [ "$status:$rc" != done:0 ]; then GROUP_OK=0; fi
  return 0
}

# group NAME: a new filesystem setup starts; earlier setup failures no longer apply.
group() { GROUP_OK=1; emit "0 group $1"; }

read up _ < /proc/uptime
emit "0 hello $(uname -r) $(nproc) $up"
kmsg "agent up"
if [ -s /daxlab/modules.list ]; then
  while read m; do insmod /lib/modules/$m 2>/tmp/insmod.err || emit "0 warn insmod $m: $(head -c 200 /tmp/insmod.err)"; done < /daxlab/modules.list
fi
emit "0 ready"
. /daxlab/plan.sh
emit "0 bye"
kmsg "agent done"
# After a hang the stuck task may hold a frozen or wedged filesystem: sync could block too.
[ $STOP = 1 ] || sync
poweroff -f
