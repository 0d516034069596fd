// Truncates a DAX file of exactly 1234567 bytes to zero, twice. On the splat-test kernel
// (images/patches/test/splat-kernel.yaml) each truncate trips the WARN_ON added by
// 0002-warn-on-truncate.patch; on any other kernel nothing happens. The reproducer itself always
// succeeds: whether the step passes is decided by the console findings and allow_findings.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	const char *dir = getenv("DAXLAB_DIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/warn-on-truncate", dir ? dir : "/mnt/dax");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror("open");
		return 2;
	}
	for (int i = 0; i < 2; i++) {
		if (ftruncate(fd, 1234567) || ftruncate(fd, 0)) {
			perror("ftruncate");
			return 2;
		}
	}
	close(fd);
	unlink(path);
	puts("truncated a 1234567-byte file twice");
	return 0;
}
