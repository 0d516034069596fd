/* Sleeps in user space for --seconds N (killable), reporting once a second. */
#include "daxlab.h"
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = 5;
	dl_init();
	if (argc == 3 && !strcmp(argv[1], "--seconds"))
		n = atoi(argv[2]);
	for (int i = 0; i < n; i++) {
		dl_sample("tick", i, "count");
		sleep(1);
	}
	dl_verdict("pass", "slept %d s", n);
	return 0;
}
