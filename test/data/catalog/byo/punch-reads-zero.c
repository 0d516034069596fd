/* A bring-your-own reproducer: after punching a hole in a mapped file, the mapping and read()
 * both see zeros there. Uses the daxlab.h helpers (found by the harness's -I). */
#include "daxlab.h"
#include <sys/mman.h>

int main(void)
{
	char path[4200];
	dl_init();
	snprintf(path, sizeof(path), "%s/punch.%d", dl_env("DAXLAB_DIR", "/tmp"), getpid());
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		dl_die("open %s", path);
	char buf[65536];
	memset(buf, 0xab, sizeof(buf));
	if (pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) || fsync(fd))
		dl_die("write");
	dl_check_dax_mode(fd); /* metric is_dax; error if the mount option did not take */
	char *m = mmap(NULL, sizeof(buf), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		dl_die("mmap");
	m[16384] = 1; /* fault the page we are about to punch */
	uint64_t t0 = dl_now_ns();
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 16384, 16384))
		dl_die("punch");
	dl_metric("punch", (double)(dl_now_ns() - t0) / 1e3, "us");
	if (pread(fd, buf, 16384, 16384) != 16384)
		dl_die("pread");
	for (int i = 0; i < 16384; i++)
		if (m[16384 + i] || buf[i])
			dl_fail("byte %d of the punched range is not zero (mapping %d, read %d)", i, m[16384 + i], buf[i]);
	unlink(path);
	dl_verdict("pass", "punched range reads as zeros through the mapping and read()");
	return 0;
}
