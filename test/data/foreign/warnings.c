/* A reproducer of one's own that gcc warns about: an unused variable and an unused function.
 * It compiles (warnings are shown, not fatal, outside the catalog) and exits 0. */
#include <stdio.h>

static int helper(void) { return 1; }

int main(void)
{
	int unused;
	puts("compiled with warnings");
	return 0;
}
