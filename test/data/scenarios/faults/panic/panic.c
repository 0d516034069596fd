/* Crashes the guest kernel on purpose (SysRq c): the run must record the crash and go on. */
#include "daxlab.h"
#include <fcntl.h>
#include <unistd.h>

int main(void)
{
	dl_init();
	dl_info("triggering a kernel crash");
	int fd = open("/proc/sysrq-trigger", O_WRONLY);
	if (fd < 0 || write(fd, "c", 1) != 1)
		dl_die("sysrq-trigger");
	sleep(30);
	dl_verdict("error", "still alive after SysRq c");
	return 2;
}
