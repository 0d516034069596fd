/* pin-duration: hold a reference on DAX pages for a chosen time, truncate the file meanwhile, and
 * measure that the truncate blocks for about that long and returns once the reference drops.
 *
 * Methods:
 *  vmsplice  vmsplice() of the mapped range into a pipe takes page references that live until
 *            the pipe is read: a pin of user-controlled duration, no debugfs needed.
 *  gup_test  /sys/kernel/debug/gup_test (CONFIG_GUP_TEST) PIN_LONGTERM_TEST_START/STOP. Long-term
 *            pins are refused on fsdax (EOPNOTSUPP): on DAX this records the refusal; on the page
 *            cache it holds a pin and shows that truncate does not wait there.
 * On DAX, a truncate that returns before the pin is dropped is a failure: it would free blocks
 * that someone still references (dax_layout_busy_page() not waiting). */
#include "daxlab.h"
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>

#define PIN_BYTES (16 * 1024)
#define FILE_BYTES (2 * 1024 * 1024)

/* From the kernel's mm/gup_test.h (an ABI of the debugfs file). */
struct dl_pin_longterm_test {
	uint64_t addr;
	uint64_t size;
	uint32_t flags;
};
#define DL_PIN_LONGTERM_TEST_START _IOW('g', 7, struct dl_pin_longterm_test)
#define DL_PIN_LONGTERM_TEST_STOP _IO('g', 8)

static int fd;
static char path[4200];
static volatile uint64_t trunc_start, trunc_end;
static volatile int trunc_started, trunc_rc, trunc_errno;

static void *truncator(void *arg)
{
	(void)arg;
	trunc_start = dl_now_ns();
	__atomic_store_n(&trunc_started, 1, __ATOMIC_SEQ_CST);
	trunc_rc = ftruncate(fd, 0);
	trunc_errno = errno;
	trunc_end = dl_now_ns();
	return NULL;
}

static char *setup_file(void)
{
	char *buf = malloc(FILE_BYTES);
	if (!buf)
		dl_die("malloc");
	memset(buf, 0x42, FILE_BYTES);
	if (ftruncate(fd, 0) || pwrite(fd, buf, FILE_BYTES, 0) != FILE_BYTES || fsync(fd))
		dl_die("write %s", path);
	free(buf);
	char *map = mmap(NULL, FILE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		dl_die("mmap");
	for (size_t i = 0; i < PIN_BYTES; i += 4096)
		map[i] = 0x43; /* fault the pages in */
	return map;
}

struct outcome {
	double wait_ms, after_release_ms;
	int returned_before_release, never_returned;
};

/* Start the truncate, hold `hold_ms`, call release(), and time everything. */
static struct outcome truncate_while_pinned(double hold_ms, void (*release)(void *), void *ctx)
{
	struct outcome o = { 0 };
	pthread_t t;
	trunc_started = 0;
	trunc_end = 0;
	if (pthread_create(&t, NULL, truncator, NULL))
		dl_die("pthread_create");
	while (!__atomic_load_n(&trunc_started, __ATOMIC_SEQ_CST))
		usleep(100);
	while (dl_now_ns() - trunc_start < (uint64_t)(hold_ms * 1e6))
		usleep(1000);
	uint64_t rel = dl_now_ns();
	uint64_t end_seen = trunc_end; /* 0 while still blocked */
	release(ctx);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 20;
	if (pthread_timedjoin_np(t, NULL, &ts)) {
		o.never_returned = 1;
		return o; /* leave it: the step timeout and SysRq dump take over if it never returns */
	}
	if (trunc_rc) {
		errno = trunc_errno;
		dl_die("ftruncate");
	}
	o.returned_before_release = end_seen != 0;
	o.wait_ms = (double)(trunc_end - trunc_start) / 1e6;
	o.after_release_ms = trunc_end > rel ? (double)(trunc_end - rel) / 1e6 : 0;
	return o;
}

static void release_pipe(void *ctx)
{
	int *p = ctx;
	char buf[PIN_BYTES];
	size_t got = 0;
	while (got < PIN_BYTES) {
		ssize_t n = read(p[0], buf, sizeof(buf));
		if (n <= 0)
			dl_die("read pipe");
		got += (size_t)n;
	}
}

static void release_gup(void *ctx)
{
	int *g = ctx;
	if (ioctl(*g, DL_PIN_LONGTERM_TEST_STOP))
		dl_die("PIN_LONGTERM_TEST_STOP");
}

static int failures;
static char failmsg[400];

static void judge(const char *method, double hold_ms, struct outcome o, int is_dax)
{
	char name[96];
	if (o.never_returned) {
		failures++;
		snprintf(failmsg, sizeof(failmsg), "%s: truncate still blocked 20 s after the pin was dropped", method);
		return;
	}
	snprintf(name, sizeof(name), "truncate_wait_%s_%.0fms", method, hold_ms);
	dl_metric(name, o.wait_ms, "ms");
	snprintf(name, sizeof(name), "return_after_release_%s_%.0fms", method, hold_ms);
	dl_metric(name, o.after_release_ms, "ms");
	dl_info("%s hold %.0f ms: truncate took %.1f ms, returned %.1f ms after the release%s", method, hold_ms,
		o.wait_ms, o.after_release_ms, o.returned_before_release ? (is_dax == 1 ? " (before the release!)" : " (before the release: no wait on the page cache)") : "");
	if (is_dax == 1 && o.returned_before_release) {
		failures++;
		snprintf(failmsg, sizeof(failmsg), "%s: truncate of a pinned DAX range returned after %.1f ms, before the %.0f ms pin was dropped",
			 method, o.wait_ms, hold_ms);
	} else if (is_dax == 1 && o.after_release_ms > 2000) {
		failures++;
		snprintf(failmsg, sizeof(failmsg), "%s: truncate returned %.0f ms after the pin was dropped (expected promptly)", method,
			 o.after_release_ms);
	}
}

int main(int argc, char **argv)
{
	double holds[4] = { 500, 1500 };
	int nholds = 2;
	dl_init();
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--hold-ms") && i + 1 < argc) {
			/* comma-separated list of hold times */
			char *s = argv[++i];
			nholds = 0;
			for (char *tok = strtok(s, ","); tok && nholds < 4; tok = strtok(NULL, ","))
				holds[nholds++] = atof(tok);
		} else {
			fprintf(stderr, "usage: %s [--hold-ms MS[,MS...]]\n", argv[0]);
			return 2;
		}
	}
	snprintf(path, sizeof(path), "%s/pin-duration.%d", dl_env("DAXLAB_DIR", "/tmp"), getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		dl_die("open %s", path);
	int is_dax = dl_check_dax_mode(fd);
	int kfd = dl_kmsg_open();
	int methods_run = 0;

	/* vmsplice */
	for (int h = 0; h < nholds; h++) {
		char *map = setup_file();
		int p[2];
		if (pipe(p))
			dl_die("pipe");
		struct iovec iov = { map, PIN_BYTES };
		ssize_t n = vmsplice(p[1], &iov, 1, 0);
		if (n != PIN_BYTES)
			dl_die("vmsplice returned %zd", n);
		struct outcome o = truncate_while_pinned(holds[h], release_pipe, p);
		judge("vmsplice", holds[h], o, is_dax);
		if (o.never_returned)
			goto out;
		close(p[0]);
		close(p[1]);
		munmap(map, FILE_BYTES);
		methods_run++;
	}

	/* gup_test long-term pin */
	int g = open("/sys/kernel/debug/gup_test", O_RDWR);
	if (g < 0) {
		dl_info("gup_test: /sys/kernel/debug/gup_test absent (%s; needs CONFIG_GUP_TEST and debugfs): method skipped", strerror(errno));
	} else {
		char *map = setup_file();
		struct dl_pin_longterm_test a = { (uint64_t)(uintptr_t)map, PIN_BYTES, 0 };
		if (ioctl(g, DL_PIN_LONGTERM_TEST_START, &a)) {
			int e = errno;
			dl_info("gup_test PIN_LONGTERM_TEST_START refused: %s%s", strerror(e),
				e == EOPNOTSUPP ? " (long-term pins are not allowed on fsdax)" : e == EINVAL || e == ENOTTY ? " (kernel predates PIN_LONGTERM_TEST_*)" : "");
			dl_metric("gup_test_longterm_errno", e, "errno");
			if (is_dax == 1 && e != EOPNOTSUPP && e != EINVAL && e != ENOTTY) {
				failures++;
				snprintf(failmsg, sizeof(failmsg), "gup_test long-term pin on fsdax failed with %s, expected EOPNOTSUPP", strerror(e));
			}
		} else {
			dl_metric("gup_test_longterm_errno", 0, "errno");
			if (is_dax == 1) {
				failures++;
				snprintf(failmsg, sizeof(failmsg), "gup_test long-term pin of an fsdax range succeeded (must be EOPNOTSUPP)");
			}
			for (int h = 0; h < nholds; h++) {
				if (h > 0) {
					munmap(map, FILE_BYTES);
					map = setup_file();
					a.addr = (uint64_t)(uintptr_t)map;
					if (ioctl(g, DL_PIN_LONGTERM_TEST_START, &a))
						dl_die("PIN_LONGTERM_TEST_START");
				}
				struct outcome o = truncate_while_pinned(holds[h], release_gup, &g);
				judge("gup_test", holds[h], o, is_dax);
				if (o.never_returned)
					goto out;
			}
			methods_run++;
		}
		munmap(map, FILE_BYTES);
		close(g);
	}
out:;
	int splats = dl_kmsg_scan(kfd);
	dl_metric("kernel_warnings", splats, "count");
	if (!failures)
		unlink(path);
	if (failures)
		dl_fail("%s", failmsg);
	if (splats)
		dl_fail("%d kernel warnings", splats);
	if (!methods_run)
		dl_skip("no pinning method available");
	dl_verdict("pass", is_dax == 1 ? "truncate of a pinned DAX range waited for the pin and returned when it dropped"
				       : "page cache: truncate did not need to wait for the pin (recorded)");
	return 0;
}
