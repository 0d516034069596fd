/* per-file-dax-toggle: with dax=inode, FS_XFLAG_DAX (FS_IOC_FSSETXATTR) chooses DAX per file, but
 * the inode's mode (S_DAX, reported as statx STATX_ATTR_DAX) may only change when the inode is not
 * in use: the new flag takes effect when the inode is evicted and reloaded (the kernel marks it
 * "don't cache" so the last close evicts it). Switching address-space operations under a live
 * mapping or open file would be a bug.
 * Part 1 (deterministic): an empty file, then a written and mapped one: STATX_ATTR_DAX must not
 *   change while the file is open and mapped, and must follow the flag after close (+ drop_caches
 *   when needed).
 * Part 2 (race): workers open, mmap, write, read back and close the file in a loop while a toggler
 *   flips FS_XFLAG_DAX and drops caches; a worker's view of STATX_ATTR_DAX must not change while it
 *   holds the file, and every word must read back as written, across DAX <-> page cache switches. */
#include "daxlab.h"
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#ifndef FS_XFLAG_DAX
#define FS_XFLAG_DAX 0x00008000
#endif
#define REGION (64 * 1024)
#define MAXW 8

static char path[4200];
static atomic_int stop;
static atomic_long changed_while_held, bad_data, switches_seen, worker_iters, toggles;
static char badmsg[300];
static pthread_mutex_t msg_lock = PTHREAD_MUTEX_INITIALIZER;

static void note(const char *m)
{
	pthread_mutex_lock(&msg_lock);
	if (!badmsg[0])
		snprintf(badmsg, sizeof(badmsg), "%s", m);
	pthread_mutex_unlock(&msg_lock);
}

static int set_dax_flag(int fd, int on)
{
	struct fsxattr fa;
	if (ioctl(fd, FS_IOC_FSGETXATTR, &fa))
		return -1;
	if (on)
		fa.fsx_xflags |= FS_XFLAG_DAX;
	else
		fa.fsx_xflags &= ~FS_XFLAG_DAX;
	return ioctl(fd, FS_IOC_FSSETXATTR, &fa);
}

static void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd >= 0) {
		sync();
		if (write(fd, "2", 1) != 1)
			dl_info("drop_caches: %s", strerror(errno));
		close(fd);
	}
}

static int dax_by_path(void)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		dl_die("open %s", path);
	int d = dl_statx_dax(fd);
	close(fd);
	return d;
}

/* After everything is closed: the state by path, dropping caches if the inode is still cached. */
static int settled_state(int want, const char *what, int *needed_drop)
{
	int d = dax_by_path();
	*needed_drop = 0;
	if (d != want) {
		drop_caches();
		d = dax_by_path();
		*needed_drop = 1;
	}
	dl_info("%s: STATX_ATTR_DAX %d after close%s", what, d, *needed_drop ? " and drop_caches" : "");
	return d;
}

struct worker {
	pthread_t t;
	int id;
	uint64_t last[REGION / 8]; /* value last written per word of this worker's region (0 = none yet) */
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t counter = 0;
	size_t base = (size_t)w->id * REGION;
	while (!atomic_load(&stop)) {
		int fd = open(path, O_RDWR);
		if (fd < 0) {
			note("worker open failed");
			atomic_fetch_add(&bad_data, 1);
			break;
		}
		int d0 = dl_statx_dax(fd);
		char *m = mmap(NULL, (size_t)MAXW * REGION, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			note("worker mmap failed");
			atomic_fetch_add(&bad_data, 1);
			close(fd);
			break;
		}
		uint64_t *r = (uint64_t *)(m + base);
		/* everything this worker wrote before, in whatever mode, reads back */
		for (size_t i = 0; i < REGION / 8; i++)
			if (r[i] != w->last[i]) {
				char b[200];
				snprintf(b, sizeof(b), "worker %d word %zu: read %#llx, wrote %#llx (dax now %d)", w->id, i,
					 (unsigned long long)r[i], (unsigned long long)w->last[i], d0);
				note(b);
				atomic_fetch_add(&bad_data, 1);
				w->last[i] = r[i];
			}
		/* write some words through the mapping, some through pwrite */
		for (size_t i = counter % 7; i < REGION / 8; i += 7) {
			uint64_t v = ((uint64_t)(w->id + 1) << 56) | ++counter;
			if (counter & 1) {
				r[i] = v;
			} else if (pwrite(fd, &v, 8, (off_t)(base + i * 8)) != 8) {
				note("pwrite failed");
				atomic_fetch_add(&bad_data, 1);
				continue;
			}
			w->last[i] = v;
		}
		int d1 = dl_statx_dax(fd);
		if (d1 != d0) {
			char b[200];
			snprintf(b, sizeof(b), "worker %d: STATX_ATTR_DAX went %d -> %d while the file was open and mapped", w->id, d0, d1);
			note(b);
			atomic_fetch_add(&changed_while_held, 1);
		}
		static _Thread_local int prev = -2;
		if (prev != -2 && prev != d0)
			atomic_fetch_add(&switches_seen, 1);
		prev = d0;
		munmap(m, (size_t)MAXW * REGION);
		close(fd);
		atomic_fetch_add(&worker_iters, 1);
		usleep(2000 + (unsigned)(counter % 3000));
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = 6;
	int nworkers = 3;
	dl_init();
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--workers") && i + 1 < argc)
			nworkers = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: %s [--seconds S] [--workers N]\n", argv[0]);
			return 2;
		}
	}
	if (nworkers < 1 || nworkers > MAXW)
		return 2;
	const char *mode = dl_env("DAXLAB_DAX", "");
	if (strcmp(mode, "inode"))
		dl_skip("needs a dax=inode mount (this run: dax=%s)", mode);
	snprintf(path, sizeof(path), "%s/dax-toggle.%d", dl_env("DAXLAB_DIR", "/tmp"), getpid());
	int kfd = dl_kmsg_open();
	int failures = 0, drop;
	char failmsg[300] = "";

	/* Part 1a: empty file */
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		dl_die("create %s", path);
	int before = dl_statx_dax(fd);
	if (before < 0)
		dl_skip("the kernel does not report STATX_ATTR_DAX (per-file DAX needs 5.8+)");
	if (set_dax_flag(fd, 1)) {
		if (errno == EOPNOTSUPP || errno == EINVAL || errno == ENOTTY)
			dl_skip("FS_XFLAG_DAX cannot be set here: %s", strerror(errno));
		dl_die("FS_IOC_FSSETXATTR +dax");
	}
	int immediate = dl_statx_dax(fd);
	dl_metric("empty_file_dax_before", before, "bool");
	dl_metric("empty_file_dax_at_once", immediate, "bool");
	close(fd);
	int after = settled_state(1, "empty file +dax", &drop);
	dl_metric("empty_file_dax_after_close", after, "bool");
	if (after != 1) {
		failures++;
		snprintf(failmsg, sizeof(failmsg), "empty file with FS_XFLAG_DAX is not DAX after close and drop_caches");
	}

	/* Part 1b: written and mapped DAX file, flag cleared while held */
	fd = open(path, O_RDWR);
	if (fd < 0)
		dl_die("open %s", path);
	char *buf = malloc((size_t)MAXW * REGION);
	if (!buf)
		dl_die("malloc");
	memset(buf, 0, (size_t)MAXW * REGION);
	if (pwrite(fd, buf, (size_t)MAXW * REGION, 0) != (ssize_t)(MAXW * REGION) || fsync(fd))
		dl_die("write");
	free(buf);
	char *m = mmap(NULL, (size_t)MAXW * REGION, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		dl_die("mmap");
	m[0] = 1;
	int held0 = dl_statx_dax(fd);
	if (set_dax_flag(fd, 0))
		dl_die("FS_IOC_FSSETXATTR -dax");
	m[1] = 2;
	int held1 = dl_statx_dax(fd);
	dl_metric("mapped_file_dax_while_held", held1, "bool");
	if (held1 != held0) {
		/* Put the flag back before the file is closed: evicting an inode whose mode no
		 * longer matches its cached entries can crash such a kernel, and the verdict is
		 * already known. */
		if (set_dax_flag(fd, held0))
			dl_info("restoring FS_XFLAG_DAX: %s", strerror(errno));
		dl_metric("kernel_warnings", dl_kmsg_scan(kfd), "count");
		dl_fail("STATX_ATTR_DAX changed %d -> %d while the file was open and mapped", held0, held1);
	}
	munmap(m, (size_t)MAXW * REGION);
	close(fd);
	after = settled_state(0, "mapped file -dax", &drop);
	dl_metric("mapped_file_dax_after_close", after, "bool");
	dl_metric("mapped_file_needed_drop_caches", drop, "bool");
	if (after != 0) {
		failures++;
		snprintf(failmsg, sizeof(failmsg), "file without FS_XFLAG_DAX is still DAX after close and drop_caches");
	}

	/* Part 2: race */
	struct worker *ws = calloc((size_t)nworkers, sizeof(*ws));
	if (!ws)
		dl_die("calloc");
	fd = open(path, O_RDONLY);
	if (fd < 0)
		dl_die("open");
	for (int i = 0; i < nworkers; i++) /* what the file holds now is each worker's baseline */
		if (pread(fd, ws[i].last, REGION, (off_t)i * REGION) != REGION)
			dl_die("pread baseline");
	close(fd);
	for (int i = 0; i < nworkers; i++) {
		ws[i].id = i;
		if (pthread_create(&ws[i].t, NULL, worker_main, &ws[i]))
			dl_die("pthread_create");
	}
	uint64_t t0 = dl_now_ns();
	for (int on = 1; dl_now_ns() - t0 < (uint64_t)(seconds * 1e9); on ^= 1) {
		int tfd = open(path, O_RDWR);
		if (tfd < 0)
			dl_die("toggler open");
		if (set_dax_flag(tfd, on))
			dl_die("toggler FS_IOC_FSSETXATTR");
		close(tfd);
		atomic_fetch_add(&toggles, 1);
		if (atomic_load(&toggles) % 3 == 0)
			drop_caches();
		usleep(20000);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nworkers; i++)
		pthread_join(ws[i].t, NULL);
	/* final read-back through read(), whatever mode the inode is in now */
	fd = open(path, O_RDONLY);
	if (fd < 0)
		dl_die("open");
	for (int i = 0; i < nworkers; i++) {
		uint64_t *r = malloc(REGION);
		if (!r || pread(fd, r, REGION, (off_t)i * REGION) != REGION)
			dl_die("pread");
		for (size_t j = 0; j < REGION / 8; j++)
			if (r[j] != ws[i].last[j]) {
				atomic_fetch_add(&bad_data, 1);
				note("final read-back differs from the last write");
			}
		free(r);
	}
	close(fd);
	int splats = dl_kmsg_scan(kfd);
	dl_metric("toggles", (double)atomic_load(&toggles), "count");
	dl_metric("worker_opens", (double)atomic_load(&worker_iters), "count");
	dl_metric("mode_switches_seen", (double)atomic_load(&switches_seen), "count");
	dl_metric("changed_while_held", (double)atomic_load(&changed_while_held), "count");
	dl_metric("bad_words", (double)atomic_load(&bad_data), "count");
	dl_metric("kernel_warnings", splats, "count");
	unlink(path);
	if (failures)
		dl_fail("%s", failmsg);
	if (atomic_load(&changed_while_held))
		dl_fail("%s", badmsg);
	if (atomic_load(&bad_data))
		dl_fail("%ld words did not read back as written: %s", atomic_load(&bad_data), badmsg);
	if (splats)
		dl_fail("%d kernel warnings", splats);
	dl_verdict("pass", "DAX state changed only when the inode was not in use; %ld toggles, %ld mode switches seen, data intact",
		   atomic_load(&toggles), atomic_load(&switches_seen));
	return 0;
}
