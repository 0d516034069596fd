/* daxlab reproducer helpers: JSON-lines reporting on stdout and small utilities.
 * Protocol (one JSON object per line, anything else is kept as plain output):
 *   {"type":"sample","name":N,"value":V,"unit":U}   one measurement; many per run
 *   {"type":"metric","name":N,"value":V,"unit":U}   one scalar per run
 *   {"type":"verdict","verdict":"pass|fail|skip","reason":R}
 *   {"type":"info","msg":M}
 * Exit status: 0 pass, 1 fail, 77 skip (the automake convention), anything else error.
 * Environment set by the guest agent: DAXLAB_DIR (mounted test filesystem), DAXLAB_FS,
 * DAXLAB_DAX (always|never|inode), DAXLAB_DEV (/dev/pmem0), DAXLAB_SCRATCH (non-DAX mount or ""). */
#ifndef DAXLAB_H
#define DAXLAB_H
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static inline void dl_sample(const char *name, double value, const char *unit)
{
	printf("{\"type\":\"sample\",\"name\":\"%s\",\"value\":%.17g,\"unit\":\"%s\"}\n", name, value, unit);
}

static inline void dl_metric(const char *name, double value, const char *unit)
{
	printf("{\"type\":\"metric\",\"name\":\"%s\",\"value\":%.17g,\"unit\":\"%s\"}\n", name, value, unit);
}

static inline __attribute__((format(printf, 1, 2))) void dl_info(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("{\"type\":\"info\",\"msg\":");
	dl_json_str(stdout, buf);
	printf("}\n");
}

static inline __attribute__((format(printf, 2, 3))) void dl_verdict(const char *verdict, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("{\"type\":\"verdict\",\"verdict\":\"%s\",\"reason\":", verdict);
	dl_json_str(stdout, buf);
	printf("}\n");
	fflush(stdout);
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

static inline void dl_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0); /* a hung or killed step still leaves its lines */
}
#endif
