/* longterm-pin-refused: long-term pins (FOLL_LONGTERM) of fsdax pages must be refused with
 * EOPNOTSUPP, because nothing would ever make truncate's wait for them end. Matrix of
 * {io_uring IORING_REGISTER_BUFFERS, gup_test PIN_LONGTERM_TEST_START} x {DAX-mounted file shared,
 * the same file private, tmpfs file shared, anonymous memory}. The DAX rows must fail with
 * EOPNOTSUPP when the file is DAX; tmpfs and anonymous memory must pin. A page-cache file (the
 * dax=never run) is recorded only: kernels differ (6.1's io_uring refuses file-backed memory
 * itself, newer kernels refuse writable long-term pins that need dirty tracking with EFAULT). */
#include "daxlab.h"
#include <linux/io_uring.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#define LEN (64 * 1024)

struct dl_gup_test {
	uint64_t get_delta_usec, put_delta_usec, addr, size;
	uint32_t nr_pages_per_call, gup_flags, test_flags;
	uint32_t which_pages[8];
};
struct dl_pin_longterm_test {
	uint64_t addr, size;
	uint32_t flags;
};
#define DL_PIN_LONGTERM_BENCHMARK _IOWR('g', 3, struct dl_gup_test)
#define DL_PIN_LONGTERM_TEST_START _IOW('g', 7, struct dl_pin_longterm_test)
#define DL_PIN_LONGTERM_TEST_STOP _IO('g', 8)
#define DL_PIN_LONGTERM_TEST_FLAG_USE_WRITE 1

enum expect { MUST_REFUSE, MUST_PIN, RECORD };
struct target {
	const char *name;
	char *addr;
	enum expect expect;
};

static int failures, checked;
static char failmsg[400];

static const char *err_name(int e)
{
	switch (e) {
	case 0: return "pinned";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EFAULT: return "EFAULT";
	case EINVAL: return "EINVAL";
	case ENOMEM: return "ENOMEM";
	case EPERM: return "EPERM";
	default: return strerror(e);
	}
}

static void judge(const char *method, const struct target *t, int err)
{
	char m[96];
	snprintf(m, sizeof(m), "%s__%s", method, t->name);
	dl_metric(m, err, "errno");
	const char *want = t->expect == MUST_REFUSE ? "EOPNOTSUPP" : t->expect == MUST_PIN ? "pinned" : "(recorded)";
	dl_info("%-16s %-12s -> %-11s expected %s", method, t->name, err_name(err), want);
	if (t->expect == RECORD)
		return;
	checked++;
	int ok = t->expect == MUST_REFUSE ? err == EOPNOTSUPP : err == 0;
	if (!ok) {
		failures++;
		snprintf(failmsg, sizeof(failmsg), "%s on %s: %s, expected %s", method, t->name, err_name(err), want);
	}
}

/* 0 when the ring registered the buffer (and it was unregistered again), else errno. */
static int io_uring_register_one(int ring, char *addr)
{
	struct iovec iov = { addr, LEN };
	if (syscall(SYS_io_uring_register, ring, IORING_REGISTER_BUFFERS, &iov, 1))
		return errno;
	if (syscall(SYS_io_uring_register, ring, IORING_UNREGISTER_BUFFERS, NULL, 0))
		dl_die("IORING_UNREGISTER_BUFFERS");
	return 0;
}

/* 0 when gup_test pinned the range long-term (and released it), else errno. */
static int gup_test_pin(int g, char *addr, int have_start)
{
	if (have_start) {
		struct dl_pin_longterm_test a = { (uint64_t)(uintptr_t)addr, LEN, DL_PIN_LONGTERM_TEST_FLAG_USE_WRITE };
		if (ioctl(g, DL_PIN_LONGTERM_TEST_START, &a))
			return errno;
		if (ioctl(g, DL_PIN_LONGTERM_TEST_STOP))
			dl_die("PIN_LONGTERM_TEST_STOP");
		return 0;
	}
	/* Pre-6.2 kernels: the benchmark pins and unpins; a refused pin leaves size at 0 and
	 * reports no errno, so EOPNOTSUPP is inferred from "nothing pinned". */
	struct dl_gup_test b;
	memset(&b, 0, sizeof(b));
	b.addr = (uint64_t)(uintptr_t)addr;
	b.size = LEN;
	b.nr_pages_per_call = LEN / 4096;
	b.gup_flags = 1; /* FOLL_WRITE */
	if (ioctl(g, DL_PIN_LONGTERM_BENCHMARK, &b))
		return errno;
	return b.size == LEN ? 0 : EOPNOTSUPP;
}

static char *map_file(const char *path, int flags, int *fdout)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		dl_die("open %s", path);
	char buf[4096];
	memset(buf, 0x61, sizeof(buf));
	for (int o = 0; o < LEN; o += 4096)
		if (pwrite(fd, buf, sizeof(buf), o) != (ssize_t)sizeof(buf))
			dl_die("write %s", path);
	char *p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (p == MAP_FAILED)
		dl_die("mmap %s", path);
	*fdout = fd;
	return p;
}

int main(void)
{
	char dpath[4200], tpath[64];
	int dfd, tfd, dfd2;
	dl_init();
	snprintf(dpath, sizeof(dpath), "%s/longterm.%d", dl_env("DAXLAB_DIR", "/tmp"), getpid());
	snprintf(tpath, sizeof(tpath), "/tmp/longterm-tmpfs.%d", getpid());
	char *dshared = map_file(dpath, MAP_SHARED, &dfd);
	int is_dax = dl_check_dax_mode(dfd);
	char *dprivate = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, dfd2 = dfd, 0);
	if (dprivate == MAP_FAILED)
		dl_die("mmap private");
	char *tshared = map_file(tpath, MAP_SHARED, &tfd);
	char *anon = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		dl_die("mmap anon");
	memset(anon, 1, LEN);
	struct target targets[] = {
		{ "file_shared", dshared, is_dax == 1 ? MUST_REFUSE : RECORD },
		{ "file_private", dprivate, is_dax == 1 ? MUST_REFUSE : RECORD },
		{ "tmpfs_shared", tshared, MUST_PIN },
		{ "anon", anon, MUST_PIN },
	};
	int n = sizeof(targets) / sizeof(targets[0]);
	int kfd = dl_kmsg_open();
	int methods = 0;

	struct io_uring_params p;
	memset(&p, 0, sizeof(p));
	int ring = (int)syscall(SYS_io_uring_setup, 4, &p);
	if (ring < 0) {
		dl_info("io_uring: io_uring_setup failed (%s): method skipped", strerror(errno));
	} else {
		methods++;
		for (int i = 0; i < n; i++)
			judge("io_uring_register", &targets[i], io_uring_register_one(ring, targets[i].addr));
		close(ring);
	}

	int g = open("/sys/kernel/debug/gup_test", O_RDWR);
	if (g < 0) {
		dl_info("gup_test: /sys/kernel/debug/gup_test absent (%s; needs CONFIG_GUP_TEST): method skipped", strerror(errno));
	} else {
		/* Probe PIN_LONGTERM_TEST_START on anonymous memory; older kernels answer EINVAL. */
		struct dl_pin_longterm_test a = { (uint64_t)(uintptr_t)anon, 4096, 0 };
		int have_start = ioctl(g, DL_PIN_LONGTERM_TEST_START, &a) == 0;
		if (have_start && ioctl(g, DL_PIN_LONGTERM_TEST_STOP))
			dl_die("PIN_LONGTERM_TEST_STOP");
		dl_info("gup_test: using %s", have_start ? "PIN_LONGTERM_TEST_START/STOP" : "PIN_LONGTERM_BENCHMARK (no errno: a refusal reads as EOPNOTSUPP)");
		methods++;
		for (int i = 0; i < n; i++)
			judge("gup_test", &targets[i], gup_test_pin(g, targets[i].addr, have_start));
		close(g);
	}
	int splats = dl_kmsg_scan(kfd);
	dl_metric("kernel_warnings", splats, "count");
	munmap(dshared, LEN);
	munmap(dprivate, LEN);
	munmap(tshared, LEN);
	close(dfd2);
	close(tfd);
	unlink(dpath);
	unlink(tpath);
	if (failures)
		dl_fail("%s (%d of %d checks failed)", failmsg, failures, checked);
	if (splats)
		dl_fail("%d kernel warnings", splats);
	if (!methods)
		dl_skip("neither io_uring nor gup_test is available in this kernel");
	dl_verdict("pass", "%d checks with %d method(s): %s", checked, methods,
		   is_dax == 1 ? "long-term pins of fsdax refused with EOPNOTSUPP, tmpfs/anon pinned" : "tmpfs/anon pinned; page-cache file recorded");
	return 0;
}
