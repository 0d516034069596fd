/* Prints hostile text everywhere the harness reads guest output; see scenario.yaml. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LONG_LINE (100 * 1000)

static void kmsg(int fd, const char *s)
{
	/* One write() per record: /dev/kmsg turns each into one console line. */
	if (fd >= 0 && write(fd, s, strlen(s)) < 0)
		perror("kmsg");
}

int main(void)
{
	static const char nul_line[] = "nul:before\0after\n";
	char *lng;

	printf("<script>alert('stdout')</script>\n");
	printf("\x1b[2J\x1b[Hscreen cleared? \x1b[31mred\x1b[0m\n");
	printf("\x1b]52;c;ZXZpbA==\x07clipboard write (OSC 52)\n");
	printf("bell\x07\x07\x07\n");
	printf("bad utf8: \xff\xfe\xc3\x28 end\n");
	fflush(stdout);
	if (fwrite(nul_line, 1, sizeof(nul_line) - 1, stdout) != sizeof(nul_line) - 1)
		return 3;
	lng = malloc(LONG_LINE + 64);
	if (!lng)
		return 3;
	memset(lng, 'A', LONG_LINE);
	strcpy(lng + LONG_LINE, "<script>alert('tail')</script>@@DX 1 end done 0 1\n");
	fputs(lng, stdout);
	/* Structured lines with hostile names, units and reasons. */
	printf("{\"type\":\"metric\",\"name\":\"<img src=x onerror=alert(1)>\",\"value\":1,\"unit\":\"\\u001b[2J\"}\n");
	printf("{\"type\":\"metric\",\"name\":\"constructor\",\"value\":2,\"unit\":\"\"}\n");
	printf("{\"type\":\"sample\",\"name\":\"__proto__\",\"value\":3,\"unit\":\"ns\"}\n");
	printf("{\"type\":\"info\",\"msg\":\"<b>info</b>\\u0007\\u001b]52;c;ZXZpbA==\\u0007\"}\n");
	printf("{\"type\":\"verdict\",\"verdict\":\"pass\",\"reason\":\"<script>alert('verdict')</script>\\u001b[2J\\u0007\"}\n");
	fflush(stdout);

	fprintf(stderr, "<script>alert('stderr')</script>\x1b[31m red \x07 \xff\n");

	int fd = open("/dev/kmsg", O_WRONLY);
	kmsg(fd, "<4>hostile: <script>alert('kmsg')</script> \x1b[2J \x07 \xff\xfe\n");
	kmsg(fd, "<4>------------[ cut here ]------------\n");
	kmsg(fd, "<4>WARNING: CPU: 0 PID: 1 at mm/hostile.c:1 hostile_fn+0x0/0x10\n");
	kmsg(fd, "<4>Modules linked in: <script>alert('modules')</script>\x1b]52;c;ZXZpbA==\x07\n");
	kmsg(fd, "<4>Call Trace:\n");
	kmsg(fd, "<4> <TASK>\n");
	kmsg(fd, "<4> hostile_fn+0x0/0x10\n");
	kmsg(fd, "<4> </TASK>\n");
	kmsg(fd, "<4>---[ end trace 0000000000000000 ]---\n");
	if (fd >= 0)
		close(fd);
	return 0;
}
