/* namespace-teardown-under-pin: the pmem device under a mounted DAX filesystem goes away while a
 * file on it is mapped and its pages are referenced (a vmsplice pin). Records what happens:
 * whether the teardown waits for the pin, completes, or never returns; what an access to the
 * mapping does afterwards (works, SIGBUS); what file I/O returns (EIO, ...). Only a kernel oops,
 * BUG or panic, or a teardown that never completes even after the pin is dropped, fails the entry.
 * Kernels differ: newer ones notify the filesystem (it shuts down), older ones may not.
 *
 * Teardown: unbind the namespace's device (pfnX.Y for fsdax) from its nd driver via sysfs, done in
 * a child process so a stuck write(2) cannot stall this one; at the end the device is bound again
 * (best effort) so later filesystem setups in the same boot still have /dev/pmem0. */
#include "daxlab.h"
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define LEN (64 * 1024)
#define PIN (16 * 1024)

static sigjmp_buf jb;
static void on_sigbus(int sig)
{
	(void)sig;
	siglongjmp(jb, 1);
}

static int sysfs_write(const char *file, const char *val)
{
	int fd = open(file, O_WRONLY);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, val, strlen(val));
	int e = errno;
	close(fd);
	return n < 0 ? -e : 0;
}

/* Run sysfs_write in a child; wait up to timeout_ms. Returns the child's pid if still running. */
static pid_t start_writer(const char *file, const char *val)
{
	pid_t pid = fork();
	if (pid == 0) {
		int r = sysfs_write(file, val);
		_exit(r ? (-r & 0x7f) : 0);
	}
	return pid;
}

static int wait_child(pid_t pid, int timeout_ms, int *status)
{
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return 1;
		usleep(10000);
	}
	return 0;
}

static const char *outcome_of_access(volatile char *p, int write)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, &old);
	const char *r = "ok";
	if (sigsetjmp(jb, 1))
		r = "SIGBUS";
	else if (write)
		p[0] = 7;
	else
		(void)p[0];
	sigaction(SIGBUS, &old, NULL);
	return r;
}

int main(void)
{
	dl_init();
	const char *dev = dl_env("DAXLAB_DEV", "/dev/pmem0");
	char link[PATH_MAX], real[PATH_MAX], name[256], driver[PATH_MAX], unbind[PATH_MAX + 16], bind[PATH_MAX + 16];
	snprintf(link, sizeof(link), "/sys/block/%s/device", basename((char *)dev));
	if (!realpath(link, real))
		dl_skip("%s: no sysfs device for %s (%s)", link, dev, strerror(errno));
	snprintf(name, sizeof(name), "%s", basename(real));
	snprintf(link, sizeof(link), "%.4000s/driver", real);
	if (!realpath(link, driver))
		dl_skip("%s is bound to no driver", name);
	snprintf(unbind, sizeof(unbind), "%s/unbind", driver);
	snprintf(bind, sizeof(bind), "%s/bind", driver);
	dl_info("device %s = %s, driver %s", dev, name, driver);

	char path[4200];
	snprintf(path, sizeof(path), "%s/teardown.%d", dl_env("DAXLAB_DIR", "/tmp"), getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		dl_die("open %s", path);
	char buf[LEN];
	memset(buf, 0x77, sizeof(buf));
	if (pwrite(fd, buf, LEN, 0) != LEN || fsync(fd))
		dl_die("write");
	int is_dax = dl_check_dax_mode(fd);
	char *m = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		dl_die("mmap");
	for (int i = 0; i < LEN; i += 4096)
		m[i] = 0x78;
	int p[2];
	if (pipe(p))
		dl_die("pipe");
	struct iovec iov = { m, PIN };
	if (vmsplice(p[1], &iov, 1, 0) != PIN)
		dl_die("vmsplice");
	int kfd = dl_kmsg_open();

	/* Teardown while pinned */
	uint64_t t0 = dl_now_ns();
	pid_t child = start_writer(unbind, name);
	int st = 0;
	int done = wait_child(child, 15000, &st);
	double unbind_ms = (double)(dl_now_ns() - t0) / 1e6;
	const char *teardown;
	if (done) {
		teardown = WEXITSTATUS(st) ? "error" : "completed while pinned";
		if (WEXITSTATUS(st))
			dl_info("unbind failed: %s", strerror(WEXITSTATUS(st)));
	} else {
		teardown = "waited for the pin";
	}
	dl_info("teardown with the pin held: %s after %.0f ms", teardown, unbind_ms);
	dl_metric("teardown_done_while_pinned", done && !WEXITSTATUS(st), "bool");
	dl_metric("teardown_ms_while_pinned", unbind_ms, "ms");

	/* Access the mapping and the file while (or after) the device is gone */
	const char *rd = outcome_of_access(m + 8192, 0), *wr = outcome_of_access(m + 8192, 1);
	dl_info("mapping after teardown: read %s, write %s", rd, wr);
	dl_metric("mapping_read_sigbus", !strcmp(rd, "SIGBUS"), "bool");
	dl_metric("mapping_write_sigbus", !strcmp(wr, "SIGBUS"), "bool");
	errno = 0;
	ssize_t n = pwrite(fd, buf, 4096, 0);
	int werr = n < 0 ? errno : 0;
	int serr = fsync(fd) ? errno : 0;
	dl_info("pwrite after teardown: %s; fsync: %s", werr ? strerror(werr) : "ok", serr ? strerror(serr) : "ok");
	dl_metric("pwrite_errno_after", werr, "errno");
	dl_metric("fsync_errno_after", serr, "errno");

	/* Drop the pin; a teardown that waited should finish now */
	char drain[PIN];
	uint64_t trel = dl_now_ns();
	for (size_t got = 0; got < PIN;) {
		ssize_t r = read(p[0], drain, sizeof(drain));
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	int hung = 0;
	if (!done) {
		done = wait_child(child, 20000, &st);
		double after = (double)(dl_now_ns() - trel) / 1e6;
		if (done)
			dl_info("teardown completed %.0f ms after the pin was dropped", after);
		else {
			hung = 1;
			dl_info("teardown still not complete 20 s after the pin was dropped");
			kill(child, SIGKILL);
		}
		dl_metric("teardown_ms_after_release", done ? after : -1, "ms");
	}
	munmap(m, LEN);
	close(fd);
	close(p[0]);
	close(p[1]);

	/* Put the device back (best effort) so later setups in this boot find /dev/pmem0 */
	int rb = hung ? -EBUSY : sysfs_write(bind, name);
	dl_info("rebind %s: %s", name, rb ? strerror(-rb) : "ok");
	dl_metric("rebound", rb == 0, "bool");

	int splats = 0;
	/* Oops/BUG/panic fail; warnings and hung-task reports are recorded */
	{
		char rec[8192];
		for (;;) {
			ssize_t r = read(kfd, rec, sizeof(rec) - 1);
			if (r < 0) {
				if (errno == EPIPE)
					continue;
				break;
			}
			rec[r] = 0;
			char *msg = strchr(rec, ';');
			msg = msg ? msg + 1 : rec;
			char *nl = strchr(msg, '\n');
			if (nl)
				*nl = 0;
			if (strstr(msg, "Oops") || strstr(msg, "BUG:") || strstr(msg, "kernel BUG at") || strstr(msg, "general protection") ||
			    strstr(msg, "Kernel panic")) {
				splats++;
				dl_info("kernel: %s", msg);
			} else if (dl_kmsg_is_splat(msg) || strstr(msg, "pmem") || strstr(msg, "EXT4-fs") || strstr(msg, "XFS")) {
				dl_info("kernel (recorded): %s", msg);
			}
		}
	}
	dl_metric("kernel_oops", splats, "count");
	if (splats)
		dl_fail("%d oops/BUG records during namespace teardown", splats);
	if (hung)
		dl_fail("namespace teardown never completed, even after the pin was dropped");
	dl_verdict("pass", "%s file: teardown %s; mapping read %s / write %s; pwrite %s", is_dax == 1 ? "DAX" : "non-DAX", teardown,
		   rd, wr, werr ? strerror(werr) : "ok");
	return 0;
}
