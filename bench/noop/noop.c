/* bench fixture: does nothing but report a pass, so any kernel report in its boot is an artifact
 * of booting (emulation, live patching), not of a reproducer. */
#include "daxlab.h"

int main(void)
{
	dl_init();
	dl_verdict("pass", "no-op");
	return 0;
}
