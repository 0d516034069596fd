/* mapsync-fault-latency: write-fault latency of a shared mapping, with and without MAP_SYNC, on
 * a written file, a preallocated (fallocated, unwritten) file and a sparse (empty) file.
 * MAP_SYNC (with MAP_SHARED_VALIDATE) makes a write fault on DAX persist the block mapping before
 * returning, so faults that allocate or convert extents pay a journal commit. Non-DAX files refuse
 * MAP_SYNC with EOPNOTSUPP: recorded, not a failure. Metrics only. */
#include "daxlab.h"
#include <sys/mman.h>

#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#define MiB (1024ul * 1024ul)

static size_t size = 8 * MiB;
static char dir[4096];

enum kind { WRITTEN, FALLOCATED, SPARSE };
static const char *const kind_names[] = { "written", "fallocated", "sparse" };

static int make_file(enum kind k, char *path, size_t psz)
{
	snprintf(path, psz, "%s/mapsync.%s.%d", dir, kind_names[k], getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		dl_die("open %s", path);
	if (k == WRITTEN) {
		char *b = malloc(MiB);
		if (!b)
			dl_die("malloc");
		memset(b, 0x33, MiB);
		for (size_t o = 0; o < size; o += MiB)
			if (pwrite(fd, b, MiB, (off_t)o) != (ssize_t)MiB)
				dl_die("write");
		free(b);
	} else if (k == FALLOCATED) {
		if (fallocate(fd, 0, 0, (off_t)size))
			dl_die("fallocate");
	} else if (ftruncate(fd, (off_t)size)) {
		dl_die("ftruncate");
	}
	if (fsync(fd))
		dl_die("fsync");
	return fd;
}

int main(int argc, char **argv)
{
	dl_init();
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--mib") && i + 1 < argc)
			size = strtoul(argv[++i], NULL, 0) * MiB;
		else {
			fprintf(stderr, "usage: %s [--mib N]\n", argv[0]);
			return 2;
		}
	}
	if (size < MiB)
		return 2;
	snprintf(dir, sizeof(dir), "%s", dl_env("DAXLAB_DIR", "/tmp"));
	size_t npages = size / 4096;
	double *lat = calloc(npages, sizeof(double));
	if (!lat)
		dl_die("calloc");
	int mapsync_ok = -1, is_dax = -1;
	for (int sync = 0; sync < 2; sync++) {
		for (int k = WRITTEN; k <= SPARSE; k++) {
			char path[4200], name[96];
			int fd = make_file((enum kind)k, path, sizeof(path));
			if (is_dax < 0)
				is_dax = dl_check_dax_mode(fd);
			int flags = sync ? MAP_SHARED_VALIDATE | MAP_SYNC : MAP_SHARED;
			char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, flags, fd, 0);
			if (p == MAP_FAILED) {
				if (sync && errno == EOPNOTSUPP) {
					if (mapsync_ok != 0)
						dl_info("MAP_SYNC refused with EOPNOTSUPP (%s file): recorded", is_dax == 1 ? "DAX" : "non-DAX");
					mapsync_ok = 0;
					close(fd);
					unlink(path);
					continue;
				}
				dl_die("mmap %s", sync ? "MAP_SYNC" : "MAP_SHARED");
			}
			if (sync)
				mapsync_ok = 1;
			uint64_t t0 = dl_now_ns();
			for (size_t i = 0; i < npages; i++) {
				uint64_t a = dl_now_ns();
				p[i * 4096] = (char)i;
				lat[i] = (double)(dl_now_ns() - a) / 1e3;
			}
			uint64_t total = dl_now_ns() - t0;
			snprintf(name, sizeof(name), "write_fault_%s_%s", kind_names[k], sync ? "mapsync" : "shared");
			dl_stats(name, lat, npages, "us");
			snprintf(name, sizeof(name), "touch_total_%s_%s", kind_names[k], sync ? "mapsync" : "shared");
			dl_metric(name, (double)total / 1e6, "ms");
			munmap(p, size);
			close(fd);
			unlink(path);
		}
	}
	dl_metric("mapsync_supported", mapsync_ok, "bool");
	dl_verdict("pass", "fault latencies recorded (%s; MAP_SYNC %s)", is_dax == 1 ? "DAX" : is_dax == 0 ? "not DAX" : "DAX unknown",
		   mapsync_ok == 1 ? "supported" : "refused with EOPNOTSUPP");
	return 0;
}
