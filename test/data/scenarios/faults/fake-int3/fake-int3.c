/* Prints, through /dev/kmsg, the report of a stale-int3 oops as multi-threaded TCG causes it
 * (lines from test/data/artifacts/debian-6.12-oops-int3.log), so a real guest's console carries an
 * emulator artifact on demand. The harness should stop the boot, retry the work once, and never
 * count it as a kernel finding (under TCG; under KVM it is an ordinary oops finding). */
#include "daxlab.h"
#include <fcntl.h>
#include <unistd.h>

static const char *report[] = {
	"Oops: int3: 0000 [#1] PREEMPT SMP NOPTI",
	"CPU: 0 UID: 0 PID: 188 Comm: exe Tainted: G            E      6.12.117+deb12-amd64 #1  Debian 6.12.117-1~deb12u1",
	"Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 0.1 11/11/2019",
	"RIP: 0010:put_page+0xf/0x80",
	"Code: 00 00 eb ea 0f 1f 80 00 00 00 00 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 90 48 83 ec 08 48 8b 47 08 a8 01 75 62 66 90 eb <2e> f0 ff 4f 34 74 4f 48 83 c4 08 c3 cc cc cc cc f7 c7 ff 0f 00 00",
	"RSP: 0018:ff48135bc01c3a20 EFLAGS: 00000246",
	"Call Trace:",
	" <TASK>",
	" do_fault+0x44a/0x4d0",
	" __handle_mm_fault+0x6f1/0xff0",
	" handle_mm_fault+0x180/0x2d0",
	" do_user_addr_fault+0x15d/0x6a0",
	" exc_page_fault+0x76/0x190",
	" asm_exc_page_fault+0x26/0x30",
	" </TASK>",
	"---[ end trace 0000000000000000 ]---",
};

int main(void)
{
	dl_init();
	dl_sample("before", 1, "n");
	int fd = open("/dev/kmsg", O_WRONLY);
	if (fd < 0)
		dl_die("/dev/kmsg");
	for (size_t i = 0; i < sizeof(report) / sizeof(report[0]); i++)
		if (write(fd, report[i], strlen(report[i])) < 0)
			dl_die("write /dev/kmsg");
	/* The harness stops the guest on the artifact; if it does not, finish as a pass. */
	sleep(5);
	dl_verdict("pass", "not stopped after the artifact");
	return 0;
}
