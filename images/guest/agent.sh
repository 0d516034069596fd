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
# now_ms: the uptime in ms, in NOW. Builtins only: under TCG every fork costs ~10 ms of the step.
now_ms() { read up _ < /proc/uptime; NOW=$(( ${up%.*} * 1000 + 10 * 1${up#*.} - 1000 )); }

GROUP_OK=1
STOP=0
NAME=

# A step's stdout and stderr go to a FIFO each, read while the step runs by a pump that forwards
# every line as "@@DX ID STREAM LINE", so what was printed survives a panic or a host kill.
# awk prints a line with one write() as long as it fits stdio's 4 KiB buffer, so lines are cut at
# LINE_MAX: the two pumps' lines never interleave on the channel, and a program's output never
# starts a channel line of its own. Past CAP bytes a pump stops forwarding but keeps reading (the
# program must never block on a full pipe) and says at EOF how much it dropped. awk holds a whole
# line in memory: ulimit (32 MiB of address space) bounds that for output without newlines, and
# wc drains the rest then. After the step a pump gets DRAIN_S to forward what is left (at most a
# pipe buffer, since the writer blocks on a full one).
CAP=1048576
LINE_MAX=4000
DRAIN_S=5
PUMP_AWK='{ n = length($0) + length(RT)
  if (!over && sent + n <= cap) { sent += n; print p substr($0, 1, lmax); fflush(); next }
  over = 1; drop += n }
END { if (over) printf "@@DX %s err [daxlab: %s over its %d-byte cap: %d bytes dropped]\n", id, s, cap, drop }'
PUMP_SH='ulimit -v 32768
awk -v p="@@DX $1 $2 " -v id="$1" -v s="$2" -v cap="$3" -v lmax="$4" "$5" 2>/dev/null >&3 || {
  n=$(wc -c)
  echo "@@DX $1 err [daxlab: $2: a line too long to hold without a newline; it and $n more bytes dropped]" >&3
}'

# pump ID STREAM FIFO: in a session of its own, so that it and its children can be killed at once.
pump() { setsid sh -c "$PUMP_SH" pump "$1" "$2" $CAP $LINE_MAX "$PUMP_AWK" < "$3" & }

# --- step argv: begin (test/agent-args.test.ts runs this part under busybox sh on the host)
# xarg TEXT: TEXT with $DAXLAB_NAME and ${DAXLAB_NAME} replaced by the step's values, in XARG.
# Only these names; any other $ (a $HOME, a $(...), a backquote) stays as written: nothing is
# evaluated, so arguments from scenario YAML never become shell code.
xarg() {
  XARG= s=$1
  while :; do
    case $s in *'$'*) ;; *) XARG=$XARG$s; return 0 ;; esac
    XARG=$XARG${s%%\$*}
    s=${s#*\$}
    hit=
    for v in SCRATCH DIR DAX DEV REP FS; do
      case $s in
        "{DAXLAB_$v}"*) s=${s#"{DAXLAB_$v}"}; hit=$v; break ;;
        "DAXLAB_$v") s=; hit=$v; break ;;
        "DAXLAB_$v"[!A-Za-z0-9_]*) s=${s#"DAXLAB_$v"}; hit=$v; break ;;
      esac
    done
    case $hit in
      DIR) XARG=$XARG$DAXLAB_DIR ;;
      FS) XARG=$XARG$DAXLAB_FS ;;
      DAX) XARG=$XARG$DAXLAB_DAX ;;
      DEV) XARG=$XARG$DAXLAB_DEV ;;
      SCRATCH) XARG=$XARG$DAXLAB_SCRATCH ;;
      REP) XARG=$XARG$DAXLAB_REP ;;
      *) XARG=$XARG'$' ;;
    esac
  done
}

# step_exec KIND [env NAME=VALUE...] CMD ARGS...: exports the env words, for a reproducer (repro,
# soak) expands its arguments and enters $DAXLAB_DIR, then execs CMD in a new session.
step_exec() {
  k=$1; shift
  if [ "$1" = env ]; then
    shift
    while :; do case $1 in DAXLAB_*=*) export "$1"; shift ;; *) break ;; esac; done
  fi
  if [ "$k" = repro ] || [ "$k" = soak ]; then
    n=$#
    while [ $n -gt 0 ]; do xarg "$1"; shift; set -- "$@" "$XARG"; n=$((n - 1)); done
    [ -n "$DAXLAB_DIR" ] && cd "$DAXLAB_DIR" 2>/dev/null
  fi
  exec setsid "$@"
}
# --- step argv: end

# kill_session SIG SID: signal every live process of a step's session, whatever process groups it
# made of its own (a syzkaller reproducer's workers each call setpgrp()). Returns 1 if none.
# ps reads /proc in C: a shell loop over /proc/*/stat took ~140 ms per step under TCG.
kill_session() {
  pids=$(ps -o sid,pid,stat | awk -v s="$2" '$1 == s && $3 !~ /^Z/ { printf " %s", $2 }')
  [ -n "$pids" ] || return 1
  kill -$1 $pids 2>/dev/null
  return 0
}

# exited PID: the process is gone or a zombie (ended, not yet waited for).
exited() {
  read -r st 2>/dev/null < /proc/$1/stat || return 0
  case ${st##*) } in Z*) return 0 ;; esac
  return 1
}

# --- monitors: begin (test/monitor-agent.test.ts runs this part under busybox sh on captured text)
# Kernel-side monitors of a step (harness/monitor/): `monitors WORDS` in plan.sh asks for them for
# the next run_step, as NAME=ARG,ARG words. Each is sampled around the reproducer and reported as
# "@@DX ID mon NAME PHASE TEXT" lines (short, bounded: the host turns them into metrics) or once
# as "@@DX ID monskip NAME REASON" when the kernel cannot provide it. Nothing here may fail the
# step or block: every tracefs or /proc write that fails is a skipped monitor.
TR=${DAXLAB_TRACEFS:-/sys/kernel/tracing}
PROCD=${DAXLAB_PROC:-/proc}
MON=
MON_ON=
monitors() { MON="$*"; }
mon_skip() { emit "$1 monskip $2 $3"; }
# mon_tracefs: tracefs mounted, or 1. The agent mounts it only for a step that asks.
mon_tracefs() {
  [ -e $TR/current_tracer ] || [ -e $TR/events ] || mount -t tracefs tracefs $TR 2>/dev/null
  [ -e $TR/events ]
}
# vmstat ID PHASE COUNTERS: the chosen counters' lines of /proc/vmstat, as they are.
mon_vmstat() {
  awk -v p="@@DX $1 mon vmstat $2 " -v want=",$3," 'index(want, "," $1 ",") && NF == 2 { print p $1 " " $2 }' $PROCD/vmstat >&3 2>/dev/null
}
# Function latency with function_graph limited to the named functions (set_ftrace_filter): every
# completed call prints one line with its duration, "NAME();" or "} /* NAME */" (funcgraph-tail).
# awk folds them into a histogram per function, each octave [2^e, 2^(e+1)) us cut in 32 equal
# buckets (1.6-3.1% wide; bucket 32e+j; busybox awk has no log()), with the exact count, sum,
# min and max: the output stays small whatever the number of calls.
FUNC_AWK='
function emitf(f) { printf "%sf %s %d %.3f %.3f %.3f\n", p, f, n[f], sum[f], mn[f], mx[f] }
/ us +\|/ {
  d = $0; sub(/ us +\|.*/, "", d); sub(/.*[ )!#*@$+]/, "", d); d += 0
  rest = $0; sub(/^[^|]*\|/, "", rest)
  if (match(rest, /\} \/\* [^ ]+/)) f = substr(rest, RSTART + 5, RLENGTH - 5)
  else if (match(rest, /[A-Za-z_][A-Za-z0-9_.]*( \[[^]]*\])?\(\);/)) { f = substr(rest, RSTART, RLENGTH - 3); sub(/ \[.*/, "", f) }
  else next
  if (!(f in n)) { n[f] = 0; sum[f] = 0; mn[f] = d; mx[f] = d; order[++nf] = f }
  n[f]++; sum[f] += d; if (d < mn[f]) mn[f] = d; if (d > mx[f]) mx[f] = d
  if (d > 0) {
    r = d; e = 0; while (r >= 2) { r /= 2; e++ } while (r < 1) { r *= 2; e-- }
    b = e * 32 + int((r - 1) * 32); h[f, b]++
    if (!((f, b) in seen)) { seen[f, b] = 1; bl[f] = bl[f] " " b }
  }
}
END {
  for (i = 1; i <= nf; i++) {
    f = order[i]; emitf(f); line = ""; k = split(bl[f], bs, " ")
    for (j = 1; j <= k; j++) { line = line " " bs[j] ":" h[f, bs[j]]; if (length(line) > 3000) { print p "b " f line; line = "" } }
    if (line != "") print p "b " f line
  }
}'
mon_func_start() {
  mon_tracefs && [ -e $TR/set_ftrace_filter ] && grep -qw function_graph $TR/available_tracers 2>/dev/null || { mon_skip $1 funclatency "no function_graph tracer in tracefs (CONFIG_FUNCTION_GRAPH_TRACER)"; return 1; }
  echo 0 > $TR/tracing_on; echo nop > $TR/current_tracer
  : > $TR/set_ftrace_filter
  n=0; bad=
  for f in $(echo $2 | tr , ' '); do
    if echo $f >> $TR/set_ftrace_filter 2>/dev/null; then n=$((n + 1)); else bad="$bad $f"; fi
  done
  [ $n -gt 0 ] || { mon_skip $1 funclatency "set_ftrace_filter refused every function:$bad"; return 1; }
  for f in $bad; do mon_skip $1 funclatency:$f "not a traceable function of this kernel (set_ftrace_filter refused it)"; done
  echo 1 > $TR/options/funcgraph-tail 2>/dev/null
  echo 4096 > $TR/buffer_size_kb 2>/dev/null
  echo > $TR/trace
  echo function_graph > $TR/current_tracer 2>/dev/null && echo 1 > $TR/tracing_on 2>/dev/null || { mon_skip $1 funclatency "tracefs refused function_graph"; echo nop > $TR/current_tracer; return 1; }
}
mon_func_end() {
  echo 0 > $TR/tracing_on
  awk -v p="@@DX $1 mon funclatency end " "$FUNC_AWK" $TR/trace >&3 2>/dev/null
  lost=$(cat $TR/per_cpu/cpu*/stats 2>/dev/null | awk '/^overrun:/ { s += $2 } END { print s + 0 }')
  [ "${lost:-0}" = 0 ] || emit "$1 mon funclatency end lost $lost"
  echo nop > $TR/current_tracer; : > $TR/set_ftrace_filter
}
# fs_dax tracepoint counts: a histogram trigger per event counts its hits without writing the
# ring buffer; the *_fault_done events are keyed by their VM_FAULT_* result, which tells a
# PMD fault that fell back to PTEs from one that mapped. Attached at the start, so the end's
# totals are the step's; removed after.
dax_key() { case $1 in dax_pmd_fault_done|dax_pte_fault_done) echo result.hex ;; *) echo common_pid ;; esac; }
mon_dax_start() {
  mon_tracefs && [ -d $TR/events/fs_dax ] || { mon_skip $1 dax_events "no fs_dax events in tracefs (CONFIG_FTRACE with event tracing)"; return 1; }
  n=0; bad=
  for e in $(echo $2 | tr , ' '); do
    if echo "hist:keys=$(dax_key $e)" > $TR/events/fs_dax/$e/trigger 2>/dev/null; then n=$((n + 1)); else bad="$bad $e"; fi
  done
  [ $n -gt 0 ] || { mon_skip $1 dax_events "no histogram trigger could be set (CONFIG_HIST_TRIGGERS):$bad"; return 1; }
  for e in $bad; do mon_skip $1 dax_events:$e "no such fs_dax event in this kernel"; done
}
mon_dax_end() {
  for e in $(echo $2 | tr , ' '); do
    [ -e $TR/events/fs_dax/$e/trigger ] || continue
    awk -v p="@@DX $1 mon dax_events end $e " '/^\{ result:/ || /^ *Hits:/ || /^ *Dropped:/ { print p $0 }' $TR/events/fs_dax/$e/hist >&3 2>/dev/null
    echo "!hist:keys=$(dax_key $e)" > $TR/events/fs_dax/$e/trigger 2>/dev/null
  done
}
# lock_stat: cleared and switched on for the step, off and read after it. Only contended
# classes' lines are sent (the file lists them first, by contentions), at most 200, and a sum
# over every class.
mon_lock_start() {
  [ -r $PROCD/lock_stat ] && [ -w $PROCD/sys/kernel/lock_stat ] || { mon_skip $1 lock_stat "no /proc/lock_stat (CONFIG_LOCK_STAT)"; return 1; }
  echo 0 > $PROCD/lock_stat 2>/dev/null && echo 1 > $PROCD/sys/kernel/lock_stat 2>/dev/null || { mon_skip $1 lock_stat "/proc/lock_stat cannot be cleared or switched on"; return 1; }
}
mon_lock_end() {
  echo 0 > $PROCD/sys/kernel/lock_stat
  awk -v p="@@DX $1 mon lock_stat end " '
    /^lock_stat version/ { print p $0; next }
    /:/ && !/\[</ { t = $0; sub(/.*:/, "", t); k = split(t, v, " "); if (k != 12) next
      classes++; acq += v[8]; con += v[2]; wt += v[5]
      if (v[2] > 0 && sent < 200) { sent++; print p $0 } }
    END { printf "%stotal %d %d %d %.2f\n", p, classes, acq, con, wt }' $PROCD/lock_stat >&3 2>/dev/null
}
# mon_start ID / mon_end ID: around the reproducer of step ID; tracing starts last, stops first.
mon_start() {
  MON_ON=
  for w in $MON; do
    m=${w%%=*}; a=${w#*=}
    case $m in
      vmstat) mon_vmstat $1 begin $a; MON_ON="$MON_ON $w" ;;
      funclatency) mon_func_start $1 $a && MON_ON="$MON_ON $w" ;;
      dax_events) mon_dax_start $1 $a && MON_ON="$MON_ON $w" ;;
      lock_stat) mon_lock_start $1 && MON_ON="$MON_ON $w" ;;
    esac
  done
  # Work the setup deferred (RCU callbacks, workqueue items after text patching) runs now, not
  # inside the step's first timed operation.
  [ -n "$MON_ON" ] && sleep 0.2
}
# Each monitor's end says `ok` last: "nothing happened" (no calls, no events) is a result.
mon_end() {
  for w in $MON_ON; do
    m=${w%%=*}; a=${w#*=}
    case $m in
      lock_stat) mon_lock_end $1 ;;
      dax_events) mon_dax_end $1 $a ;;
      funclatency) mon_func_end $1 ;;
      *) continue ;;
    esac
    emit "$1 mon $m end ok"
  done
  for w in $MON_ON; do case $w in vmstat=*) mon_vmstat $1 end ${w#*=}; emit "$1 mon vmstat end ok" ;; esac; done
  MON= MON_ON=
}
# --- monitors: end

# run_step ID KIND TIMEOUT_S CMD...: KIND is setup (a failure skips the rest of the group),
# repro, soak (a reproducer whose timeout is its normal end: no task dumps) or cleanup.
run_step() {
  id=$1; kind=$2; to=$3; shift 3
  if [ $STOP = 1 ] || { [ $GROUP_OK = 0 ] && [ "$kind" != cleanup ]; }; then
    if [ $STOP = 1 ]; then emit "$id skip after-hang"; else emit "$id skip setup-failed"; fi
    MON=
    return 0
  fi
  bkind=$kind; [ "$kind" = soak ] && bkind=repro
  emit "$id begin $bkind $to"
  kmsg "step $id begin ($NAME)"
  # Monitors start before the clock: their setup (function_graph's text patching) is not the step's.
  [ -n "$MON" ] && mon_start $id
  now_ms; t0=$NOW
  # Step ids are unique within a boot: these names are new.
  mkfifo /tmp/out.$id /tmp/err.$id /tmp/end.$id
  pump $id out /tmp/out.$id; po=$!
  pump $id err /tmp/err.$id; pe=$!
  # The end of the step arrives on a FIFO the agent blocks on (read -t), opened read-write so the
  # open never waits for a writer. No polling: while a reproducer times something, nothing of the
  # agent's runs on the guest's vCPUs (under TCG they all share one host thread).
  exec 4<>/tmp/end.$id
  # The step runs in a session (and process group) of its own, so that what it forked (a
  # syzkaller reproducer's workers) is stopped with it. A reproducer's env words become its
  # environment, its arguments get $DAXLAB_* expanded (xarg, never eval) and it starts in the
  # test filesystem.
  ( ( step_exec "$kind" "$@" ) > /tmp/out.$id 2> /tmp/err.$id < /dev/null 4>&- & echo $! > /tmp/pid.$id; wait $!; echo $? > /tmp/rc.$id; echo end >&4 ) &
  status=done
  read -t $to _ <&4 || status=timeout
  exec 4>&-
  pid=; read pid 2>/dev/null < /tmp/pid.$id
  if [ $status = timeout ]; then
    if [ "$kind" = soak ]; then
      kmsg "step $id ran its ${to}s; stopping it"
    else
      kmsg "step $id timeout after ${to}s; dumping blocked and all tasks"
      echo w > /proc/sysrq-trigger
      echo t > /proc/sysrq-trigger
    fi
    # TERM first: a reproducer using daxlab.h writes its buffered samples on it. Then KILL.
    if [ -n "$pid" ]; then
      kill_session TERM $pid || kill -TERM $pid 2>/dev/null
      n=0
      while [ ! -e /tmp/rc.$id ] && [ $n -lt 5 ]; do sleep 0.1; n=$((n + 1)); done
      kill_session 9 $pid || kill -9 $pid 2>/dev/null
    fi
    n=0
    while [ ! -e /tmp/rc.$id ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
    # Still there after SIGKILL: stuck in the kernel. Later steps would only pile up behind it.
    [ -e /tmp/rc.$id ] || { status=hung; STOP=1; }
  # Setup and cleanup steps are daxlab's own commands (ndctl, mkfs, mount, insmod), which start
  # nothing that outlives them: only a reproducer's session is searched (~50 ms under TCG).
  elif [ -n "$pid" ] && { [ "$kind" = repro ] || [ "$kind" = soak ]; } && kill_session 9 $pid; then
    # The step's process ended; processes it started did not. They would run into the next step
    # and keep the filesystem busy.
    emit "$id err [daxlab: processes the step started were still running after it ended; killed]"
  fi
  now_ms; ms=$((NOW - t0))
  # A hung step's task may hold what tracefs or lockdep would wait for: leave its monitors be.
  if [ $status != hung ]; then [ -n "$MON" ] && mon_end $id; else MON= MON_ON=; fi
  read rc 2>/dev/null < /tmp/rc.$id || rc=-
  # `end` goes after the step's last line: wait for the pumps to reach EOF. A process left behind
  # by the step (or the task stuck in the kernel) can hold a FIFO open forever; stop them then.
  # Most steps' pumps are done by now: no guard to start.
  guard=
  exited $po && exited $pe || { ( sleep $DRAIN_S; kill -9 -$po -$pe 2>/dev/null ) & guard=$!; }
  wait $po 2>/dev/null; a=$?
  wait $pe 2>/dev/null; b=$?
  [ -z "$guard" ] || kill $guard 2>/dev/null
  if [ $a = 137 ] || [ $b = 137 ]; then
    echo >&3 # a pump killed inside a write left half a line: end it before the next event
    emit "$id err [daxlab: output still open ${DRAIN_S}s after the step ended; stopped reading it]"
  fi
  rm -f /tmp/out.$id /tmp/err.$id /tmp/end.$id /tmp/pid.$id /tmp/rc.$id
  kmsg "step $id end $status ($NAME)"
  emit "$id end $status $rc $ms"
  if [ "$kind" = setup ] && [ "$status:$rc" != done:0 ]; then GROUP_OK=0; fi
  return 0
}

# name TEXT: what the next step is (its work item or setup label), for the console markers, so a
# reader of console-N.log sees which run a report fell in, not only the agent's step number.
name() { NAME=$1; }

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
