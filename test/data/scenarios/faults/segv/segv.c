/* Dies of SIGSEGV after one sample: an error verdict that keeps the sample. */
#include "daxlab.h"
#include <signal.h>

int main(void)
{
	dl_init();
	dl_sample("before_crash", 1, "count");
	raise(SIGSEGV);
	return 0;
}
