/* Prints numbered lines on stdout as fast as stdio allows, forever (until the step timeout). */
#include "daxlab.h"

int main(void)
{
	dl_sample("started", 1, "count");
	fflush(stdout);
	for (unsigned long i = 0;; i++)
		printf("flood line %lu: the quick brown fox jumps over the lazy dog\n", i);
}
