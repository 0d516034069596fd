/* Emits 50 samples, waits until the agent has sent them to the host, then crashes the guest kernel
 * (SysRq c). Without the wait the crash would come microseconds after the last line, while it is
 * still in the pipe: no agent could save that. With it, the samples are "already printed" in the
 * sense that matters here: they left the reproducer, and a crash must not take them back. */
#include "daxlab.h"
#include <dirent.h>
#include <sys/ioctl.h>
#include <termios.h>

/* Is every other process holding our stdout pipe asleep, one of them in pipe_read (the agent's
 * pump, waiting for more)? Kernels without kallsyms show no wchan: then asleep is enough. */
static int pump_waits(const struct stat *pipe)
{
	DIR *proc = opendir("/proc");
	struct dirent *p;
	int holders = 0, reading = 0, wchan_known = 0, busy = 0;
	while (proc && (p = readdir(proc))) {
		char path[300], buf[256];
		int pid = atoi(p->d_name), holds = 0;
		if (pid <= 0 || pid == getpid())
			continue;
		for (int fd = 0; fd < 64 && !holds; fd++) {
			struct stat st;
			snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
			holds = !stat(path, &st) && st.st_dev == pipe->st_dev && st.st_ino == pipe->st_ino;
		}
		if (!holds)
			continue;
		holders++;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		FILE *f = fopen(path, "r");
		char state = '?';
		if (f) {
			if (fgets(buf, sizeof(buf), f) && strrchr(buf, ')'))
				state = strrchr(buf, ')')[2];
			fclose(f);
		}
		busy |= state != 'S';
		snprintf(path, sizeof(path), "/proc/%d/wchan", pid);
		f = fopen(path, "r");
		if (f) {
			if (fgets(buf, sizeof(buf), f) && strcmp(buf, "0")) {
				wchan_known = 1;
				reading |= !strcmp(buf, "pipe_read");
			}
			fclose(f);
		}
	}
	if (proc)
		closedir(proc);
	return holders && !busy && (reading || !wchan_known);
}

static void wait_until_sent(void)
{
	struct stat pipe;
	int queued = 1, tty = open("/dev/ttyS1", O_WRONLY | O_NOCTTY);
	if (fstat(1, &pipe) || tty < 0)
		dl_die("stdout or the agent channel");
	for (int i = 0; i < 30000; i++) {
		if (!ioctl(1, FIONREAD, &queued) && !queued && pump_waits(&pipe))
			break;
		usleep(1000);
	}
	tcdrain(tty); /* and the serial line has transmitted what the pump wrote */
	close(tty);
}

int main(void)
{
	dl_init();
	for (int i = 0; i < 50; i++)
		dl_sample("before_crash", i, "count");
	dl_flush();
	wait_until_sent();
	int fd = open("/proc/sysrq-trigger", O_WRONLY);
	if (fd < 0 || write(fd, "c", 1) != 1)
		dl_die("sysrq-trigger");
	sleep(30);
	dl_verdict("error", "still alive after SysRq c");
	return 2;
}
