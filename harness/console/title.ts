// Titles: the same bug gets the same title on every run and kernel. Addresses, PIDs, offsets,
// line numbers and timestamps never appear; the title names the guilty function, the first
// frame that is not reporting, locking, scheduling, delay or sanitizer machinery.
import { baseName, type ParsedFrame } from './frames.ts';

// Frames that are never the culprit: they print, unwind, check locks, sleep, spin or trap.
const SKIP_EXACT = new Set([
  'dump_stack', 'dump_stack_lvl', 'show_stack', 'show_regs', 'show_trace_log_lvl', 'sched_show_task',
  'panic', 'nmi_panic', 'die', 'die_addr', 'oops_end', 'do_trap', 'do_error_trap', 'handle_bug', 'report_bug',
  'exc_invalid_op', 'exc_general_protection', 'exc_page_fault', 'do_user_addr_fault', 'kernelmode_fixup_or_oops',
  'page_fault_oops', 'no_context', '__bad_area_nosemaphore', 'bad_area_nosemaphore', 'fixup_exception',
  'lock_acquire', 'lock_release', 'lock_acquired', 'lock_contended', 'lock_is_held_type', 'mark_lock', 'mark_usage',
  'lockdep_rcu_suspicious', 'debug_check_no_locks_freed', 'lockdep_sys_exit', 'might_sleep', 'might_resched',
  'schedule', 'schedule_timeout', 'schedule_preempt_disabled', 'schedule_hrtimeout', 'schedule_hrtimeout_range',
  'io_schedule', 'io_schedule_timeout', 'preempt_schedule', 'preempt_schedule_common', 'preempt_schedule_irq',
  'msleep', 'msleep_interruptible', 'usleep_range', 'usleep_range_state', 'ssleep',
  'wait_for_completion', 'wait_for_completion_timeout', 'wait_for_completion_killable', 'wait_for_completion_interruptible',
  'wait_for_common', 'do_wait_for_common', 'bit_wait', 'bit_wait_io', 'out_of_line_wait_on_bit', 'rwsem_down_read_slowpath', 'rwsem_down_write_slowpath',
  'down', 'down_read', 'down_write', 'down_read_killable', 'down_write_killable', 'down_read_trylock', 'down_write_trylock', 'down_interruptible', 'down_killable',
  'up', 'up_read', 'up_write', 'percpu_down_read', 'percpu_down_write', 'percpu_rwsem_wait', 'percpu_rwsem_down_read',
  'mutex_lock', 'mutex_unlock', 'mutex_lock_nested', 'mutex_lock_interruptible', 'mutex_lock_killable', 'mutex_trylock', 'mutex_lock_io',
  'mutex_lock_interruptible_nested', 'mutex_lock_killable_nested',
  'rt_mutex_lock', 'rt_spin_lock', 'synchronize_rcu', 'synchronize_srcu', 'rcu_barrier', 'flush_work', 'flush_workqueue', '__flush_work', '__flush_workqueue',
  'kfree', 'kvfree', 'vfree', 'kmem_cache_free', 'slab_free', 'slab_free_hook', 'slab_free_freelist_hook', 'do_slab_free', 'free_large_kmalloc', 'kfree_sensitive',
  'delay_tsc', 'delay_halt', 'delay_halt_tpause', 'delay_halt_mwaitx', 'delay_loop', 'mdelay', 'udelay',
  'watchdog_timer_fn', 'hrtimer_interrupt', 'local_apic_timer_interrupt', 'update_process_times', 'tick_sched_handle', 'tick_sched_timer',
  'tick_nohz_handler', 'tick_handle_periodic', 'rcu_sched_clock_irq', 'rcu_pending', 'print_cpu_stall', 'print_other_cpu_stall', 'rcu_dump_cpu_stacks',
  'check_cpu_stall', 'nmi_cpu_backtrace', 'nmi_trigger_cpumask_backtrace', 'arch_trigger_cpumask_backtrace', 'trigger_single_cpu_backtrace',
  'nmi_handle', 'default_do_nmi', 'exc_nmi', 'end_repeat_nmi', 'irq_exit_rcu', 'handle_softirqs', 'call_timer_fn', 'expire_timers', 'run_timer_softirq', 'run_timer_base', 'timer_expire_remote',
  'kasan_report', 'kasan_check_range', 'check_region_inline', 'print_report', 'print_address_description', 'ubsan_prologue', 'ubsan_epilogue',
  'warn_slowpath_fmt', 'warn_slowpath_null', 'warn_bogus_irq_restore',
  'refcount_warn_saturate', 'check_preemption_disabled', 'debug_smp_processor_id',
  'ret_from_fork', 'ret_from_fork_asm', 'kthread', 'worker_thread', 'process_one_work', 'process_scheduled_works',
  'entry_SYSCALL_64_after_hwframe', 'do_syscall_64', 'x64_sys_call', 'syscall_exit_to_user_mode', 'exit_to_user_mode_prepare', 'irqentry_exit_to_user_mode',
  'cpu_startup_entry', 'do_idle', 'default_idle', 'default_idle_call', 'start_secondary', 'common_startup_64', 'secondary_startup_64_no_verify', 'rest_init', 'start_kernel',
]);

// Families by prefix: lockdep's checkers and printers, printk, raw spinlock internals, sanitizers,
// interrupt entry stubs, mutex/rwsem slow paths, the might_sleep checks.
const SKIP_PREFIX = [
  '__pfx_', 'print_', 'check_', '__lock_acquire', 'lock_acquire', 'validate_chain', 'lockdep_', '__lockdep', 'debug_locks', 'mark_lock',
  'printk', 'vprintk', '_printk', '__printk', 'console_', 'dump_stack', '__dump_stack', 'show_trace', 'show_stack', 'nbcon_',
  '_raw_spin_', '_raw_read_', '_raw_write_', 'do_raw_spin_', 'spin_lock', 'spin_unlock', 'raw_spin_', 'queued_spin_', 'native_queued_spin', '__raw_spin',
  '__mutex_', 'mutex_lock', '__down', '__up', 'rwsem_', '__rwsem', 'percpu_rwsem', '__percpu_down', '__percpu_up', 'percpu_down', 'percpu_up',
  '__might_', '___might_', '__cant_sleep',
  '__schedule', 'schedule_', '__wait_', 'wait_on_', '__wait_for', 'prepare_to_wait',
  '__warn', 'warn_', '__WARN', 'report_', 'asm_exc_', 'asm_sysvec_', 'sysvec_', '__sysvec_', 'asm_common_interrupt', 'common_interrupt', '__irq_exit', 'irq_exit',
  '__hrtimer_', 'hrtimer_', 'tick_', '__run_timer', '__do_softirq', 'do_softirq', '__local_bh_enable', 'local_bh_enable',
  'kasan_', '__kasan_', '__asan_', 'asan_', '__ubsan_', 'ubsan_', 'kmsan_', '__msan_', 'kcsan_', '__tsan_',
  '__const_udelay', '__udelay', '__ndelay', '__delay', 'delay_',
  'rcu_dump', 'rcu_print', 'rcu_check', 'rcu_stall', 'nmi_', '__nmi', 'debug_object', 'slab_free', '__slab_free', '__kmem_cache_free', 'kmem_cache_free',
  'entry_SYSCALL', 'syscall_exit', 'exit_to_user_mode', '__x64_sys_exit', 'do_exit', 'make_task_dead', 'rewind_stack',
];

export function isMachinery(fn: string): boolean {
  const b = baseName(fn);
  if (SKIP_EXACT.has(b)) return true;
  for (const p of SKIP_PREFIX) if (b.startsWith(p)) return true;
  return false;
}

/** The first frame that is not machinery, as a stable name. */
export function guiltyFunction(frames: readonly ParsedFrame[]): string | undefined {
  for (const f of frames) {
    // An inlined frame exists only in a log someone decoded (decode_stacktrace.sh, addr2line -i):
    // the kernel printed the function it was inlined into, and the title follows what it printed.
    if (f.unreliable || f.inlined) continue;
    if (!isMachinery(f.fn)) return baseName(f.fn);
  }
  return undefined;
}

/** Title text without anything that changes between runs (hex, long numbers, PIDs). */
export function stableText(s: string): string {
  return s
    .replace(/0x[0-9a-fA-F]+/g, 'ADDR')
    .replace(/\b[0-9a-fA-F]{8,}\b/g, 'ADDR')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 160);
}

export function makeTitle(prefix: string, fn: string | undefined): string {
  return fn ? `${prefix} in ${baseName(fn)}` : prefix;
}
