/* daxlab reproducer helpers: JSON-lines reporting on stdout and small utilities.
 * Protocol (one JSON object per line, anything else is kept as plain output):
 *   {"type":"sample","name":N,"value":V,"unit":U}   one measurement; many per run
 *   {"type":"metric","name":N,"value":V,"unit":U}   one scalar per run
 *   {"type":"verdict","verdict":"pass|fail|skip","reason":R}
 *   {"type":"info","msg":M}
 * Exit status: 0 pass, 1 fail, 77 skip (the automake convention), anything else error.
 * Environment set by the guest agent: DAXLAB_DIR (mounted test filesystem), DAXLAB_FS,
 * DAXLAB_DAX (always|never|inode), DAXLAB_DEV (/dev/pmem0), DAXLAB_SCRATCH (non-DAX mount or ""),
 * DAXLAB_REP (repetition number, 1-based).
 * Samples are buffered (see dl_sample); dl_flush() writes them now.
 * Helpers below: dl_skip/dl_fail (verdict + exit), dl_statx_dax (is this file really DAX?),
 * dl_kmsg_* (kernel warnings that appeared while the reproducer ran), dl_stats (summary metrics). */
#ifndef DAXLAB_H
#define DAXLAB_H
/* Include order does not matter: after a system header, defining _GNU_SOURCE here is too late
 * for glibc, so nothing below needs it (statx comes from the kernel's header, by syscall). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/stat.h>

#if defined(__GLIBC__) && !defined(__USE_MISC)
long syscall(long number, ...); /* a strict _POSIX_C_SOURCE before us hides it */
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000 /* <fcntl.h> has it only with _GNU_SOURCE */
#endif

static inline uint64_t dl_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline const char *dl_env(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

/* Strings in our own messages never contain quotes or control characters except via errno
 * text, which is plain ASCII; escape quotes and backslashes anyway. */
static inline void dl_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char)*s < 0x20)
			continue;
		fputc(*s, f);
	}
	fputc('"', f);
}

/* Samples are buffered and written in batches. Each line written while a timed loop runs wakes
 * the agent's pump on another vCPU, and under TCG all vCPUs share one host thread, so that work
 * is taken out of the measured loop's time (it made truncate-latency read 3-5x slower). The
 * buffer is written by dl_flush(), by every other dl_ line (so order is kept), when it is full,
 * when its oldest sample is over a second old, and at exit(). A step killed for a timeout loses
 * at most that last second of samples: call dl_flush() before anything that may hang. */
static char dl_sbuf[64 * 1024];
static size_t dl_slen;
static uint64_t dl_sfirst;

static inline void dl_flush(void)
{
	if (dl_slen) {
		fwrite(dl_sbuf, 1, dl_slen, stdout);
		dl_slen = 0;
	}
	fflush(stdout);
}

static inline void dl_sample(const char *name, double value, const char *unit)
{
	static int registered;
	char line[512];
	int n = snprintf(line, sizeof(line), "{\"type\":\"sample\",\"name\":\"%s\",\"value\":%.17g,\"unit\":\"%s\"}\n", name, value, unit);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	if (!registered) {
		registered = 1;
		atexit(dl_flush);
	}
	uint64_t now = dl_now_ns();
	if (dl_slen && (dl_slen + (size_t)n > sizeof(dl_sbuf) || now - dl_sfirst > 1000000000ull))
		dl_flush();
	if (!dl_slen)
		dl_sfirst = now;
	memcpy(dl_sbuf + dl_slen, line, (size_t)n);
	dl_slen += (size_t)n;
}

static inline void dl_metric(const char *name, double value, const char *unit)
{
	dl_flush();
	printf("{\"type\":\"metric\",\"name\":\"%s\",\"value\":%.17g,\"unit\":\"%s\"}\n", name, value, unit);
}

static inline __attribute__((format(printf, 1, 2))) void dl_info(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	dl_flush();
	printf("{\"type\":\"info\",\"msg\":");
	dl_json_str(stdout, buf);
	printf("}\n");
}

/* The verdict line every dl_verdict/dl_skip/dl_fail goes through. */
static inline void dl_vverdict(const char *verdict, const char *fmt, va_list ap)
{
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	dl_flush();
	printf("{\"type\":\"verdict\",\"verdict\":\"%s\",\"reason\":", verdict);
	dl_json_str(stdout, buf);
	printf("}\n");
	fflush(stdout);
}

static inline __attribute__((format(printf, 2, 3))) void dl_verdict(const char *verdict, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dl_vverdict(verdict, fmt, ap);
	va_end(ap);
}

/* Report an unexpected syscall failure (with errno) and exit with an error status. */
static inline __attribute__((noreturn, format(printf, 1, 2))) void dl_die(const char *fmt, ...)
{
	char buf[400];
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	dl_verdict("error", "%s: %s", buf, strerror(err));
	exit(2);
}

/* Verdict skip (exit 77): a kernel feature the entry needs is absent. */
static inline __attribute__((noreturn, format(printf, 1, 2))) void dl_skip(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dl_vverdict("skip", fmt, ap);
	va_end(ap);
	exit(77);
}

/* Verdict fail (exit 1): the property the entry checks does not hold. */
static inline __attribute__((noreturn, format(printf, 1, 2))) void dl_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	dl_vverdict("fail", fmt, ap);
	va_end(ap);
	exit(1);
}

#ifndef STATX_ATTR_DAX
#define STATX_ATTR_DAX 0x00200000
#endif

/* Is the open file DAX right now? 1 yes, 0 no, -1 the kernel does not report it (pre-5.8 or
 * statx failed). The kernel's struct statx and the raw syscall, so it works whatever the libc
 * headers say and whichever feature macros were in force when they were included. */
static inline int dl_statx_dax(int fd)
{
	struct statx stx;
	memset(&stx, 0, sizeof(stx));
	if (syscall(SYS_statx, fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx))
		return -1;
	if (!(stx.stx_attributes_mask & STATX_ATTR_DAX))
		return -1;
	return (stx.stx_attributes & STATX_ATTR_DAX) ? 1 : 0;
}

/* Report whether the file is DAX (metric is_dax = 1/0/-1) and check it against DAXLAB_DAX:
 * dax=always must give DAX, dax=never must not. Returns the dl_statx_dax() value; on a mismatch
 * the verdict is error (the comparison the entry makes would be meaningless), exit 2. */
static inline int dl_check_dax_mode(int fd)
{
	int d = dl_statx_dax(fd);
	const char *mode = dl_env("DAXLAB_DAX", "");
	dl_metric("is_dax", d, "bool");
	if (d >= 0 && ((!strcmp(mode, "always") && d != 1) || (!strcmp(mode, "never") && d != 0))) {
		dl_verdict("error", "mounted dax=%s but statx says the file is %sDAX", mode, d ? "" : "not ");
		exit(2);
	}
	return d;
}

/* Kernel log watch: dl_kmsg_open() before the racy part, dl_kmsg_scan() after. Every kernel
 * warning-like record that appeared in between is reported as an info line and counted. */
static inline int dl_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

static inline int dl_kmsg_is_splat(const char *msg)
{
	static const char *const pats[] = { "WARNING:", "BUG:", "Oops", "kernel BUG at", "general protection fault",
		"blocked for more than", "possible circular locking", "possible recursive locking",
		"inconsistent lock state", "suspicious RCU usage", "soft lockup", "UBSAN:", "KASAN:", "Kernel panic" };
	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++)
		if (strstr(msg, pats[i]))
			return 1;
	return 0;
}

static inline int dl_kmsg_scan(int fd)
{
	char rec[8192];
	int found = 0;
	if (fd < 0)
		return 0;
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0) {
			if (errno == EPIPE) /* overwritten records: keep reading what is left */
				continue;
			break;
		}
		rec[n] = 0;
		char *msg = strchr(rec, ';'); /* "prio,seq,ts,flags;message\n" */
		msg = msg ? msg + 1 : rec;
		char *nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		if (dl_kmsg_is_splat(msg)) {
			found++;
			dl_info("kernel: %s", msg);
		}
	}
	return found;
}

static int dl_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Metrics NAME_count, NAME_p50, NAME_p99, NAME_max and NAME_mean of v[0..n) (sorted in place). */
static inline void dl_stats(const char *name, double *v, size_t n, const char *unit)
{
	char m[128];
	double sum = 0;
	snprintf(m, sizeof(m), "%s_count", name);
	dl_metric(m, (double)n, "count");
	if (!n)
		return;
	qsort(v, n, sizeof(*v), dl_cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	snprintf(m, sizeof(m), "%s_p50", name);
	dl_metric(m, v[n / 2], unit);
	snprintf(m, sizeof(m), "%s_p99", name);
	dl_metric(m, v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], unit);
	snprintf(m, sizeof(m), "%s_max", name);
	dl_metric(m, v[n - 1], unit);
	snprintf(m, sizeof(m), "%s_mean", name);
	dl_metric(m, sum / (double)n, unit);
}

/* xorshift64: a fast, seedable pattern generator, so a data check can recompute what it wrote. */
static inline uint64_t dl_xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* A fatal signal (a crash, or the agent's SIGTERM at a step timeout) must not take the buffered
 * samples with it: write them with write(2), which is async-signal-safe, then die of the signal. */
static inline void dl_fatal_signal(int sig)
{
	size_t off = 0;
	while (off < dl_slen) {
		ssize_t w = write(1, dl_sbuf + off, dl_slen - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	dl_slen = 0;
	signal(sig, SIG_DFL);
	raise(sig);
}

static inline void dl_init(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTERM };
	setvbuf(stdout, NULL, _IOLBF, 0); /* a hung or killed step still leaves its lines */
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], dl_fatal_signal);
}
#endif
