/* truncate-latency: the measurement from the 2018 "DMA vs truncate" thread. A 16 KiB file is
 * mmaped and its first page faulted in, then the last page is truncated away and the file
 * re-extended, N times. On DAX every truncate goes through dax_layout_busy_page(); the thread
 * measured 3.899 s for 100 truncates with synchronize_rcu() there vs 0.015 s without DAX. */
#include "daxlab.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#define FILE_SIZE (16 * 1024)
#define PAGE 4096

int main(int argc, char **argv)
{
	int iterations = 100;
	char path[4096];
	dl_init();
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
			iterations = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: %s [--iterations N]\n", argv[0]);
			return 2;
		}
	}
	snprintf(path, sizeof(path), "%s/truncate-latency.%d", dl_env("DAXLAB_DIR", "/tmp"), getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		dl_die("open %s", path);
	if (ftruncate(fd, FILE_SIZE))
		dl_die("ftruncate");
	/* Prove the comparison: metric is_dax, and an error if the mount option did not take. */
	int is_dax = dl_check_dax_mode(fd);
	char *p = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		dl_die("mmap");
	p[0] = 1; /* fault in the first page: the mapping is live while we truncate */

	uint64_t total = 0;
	for (int i = 0; i < iterations; i++) {
		uint64_t t0 = dl_now_ns();
		if (ftruncate(fd, FILE_SIZE - PAGE))
			dl_die("ftruncate shrink");
		uint64_t t1 = dl_now_ns();
		if (ftruncate(fd, FILE_SIZE))
			dl_die("ftruncate extend");
		total += t1 - t0;
		dl_sample("truncate", (double)(t1 - t0), "ns");
	}
	if (p[0] != 1) {
		dl_verdict("fail", "first page lost its data across truncates of the last page");
		return 1;
	}
	dl_metric("truncate_total", (double)total / 1e9, "s");
	dl_metric("iterations", iterations, "count");
	munmap(p, FILE_SIZE);
	close(fd);
	unlink(path);
	dl_verdict("pass", "%d truncates in %.3f s (%s)", iterations, (double)total / 1e9,
		   is_dax == 1 ? "DAX" : is_dax == 0 ? "not DAX" : "DAX state unknown");
	return 0;
}
