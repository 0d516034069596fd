/* Emits 50 samples, then sleeps (a test freezes the guest meanwhile). */
#include "daxlab.h"

int main(void)
{
	dl_init();
	for (int i = 0; i < 50; i++)
		dl_sample("before_stall", i, "count");
	dl_flush(); /* the samples leave the reproducer before the freeze */
	sleep(600);
	dl_verdict("error", "the guest was not frozen");
	return 2;
}
