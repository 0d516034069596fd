/* Blocks forever in the kernel, uninterruptibly: freeze the test filesystem, then write to it.
 * The writer sleeps in sb_start_write() until a thaw that never comes; SIGKILL cannot end it. */
#include "daxlab.h"
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
	char path[512];
	const char *dir = dl_env("DAXLAB_DIR", "/mnt/dax");
	dl_init();
	int d = open(dir, O_RDONLY | O_DIRECTORY);
	if (d < 0)
		dl_die("open %s", dir);
	if (ioctl(d, FIFREEZE, 0))
		dl_die("FIFREEZE %s", dir);
	dl_info("%s frozen; writing", dir);
	snprintf(path, sizeof(path), "%s/blocked", dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd >= 0 && write(fd, "x", 1) < 0)
		dl_die("write");
	dl_verdict("error", "write to a frozen filesystem returned");
	return 2;
}
