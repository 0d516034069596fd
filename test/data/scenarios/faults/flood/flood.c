/* Prints 65536 numbered lines of 65 bytes each (4 MiB, four times the agent's per-step cap) on
 * stdout as fast as stdio allows, then passes. A fixed amount, not "until the timeout": what is
 * capped, dropped and forwarded must not depend on how fast the machine is. */
#include "daxlab.h"

int main(void)
{
	dl_sample("started", 1, "count");
	dl_flush();
	for (unsigned long i = 0; i < 65536; i++)
		printf("flood line %08lu: the quick brown fox jumps over the lazy dog\n", i);
	fflush(stdout);
	return 0;
}
