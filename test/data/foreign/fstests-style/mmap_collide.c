/*
 * mmap_collide: a shared mapping of FILE is faulted and written by a child process while the
 * parent punches holes in it and truncates it down and back up. After each round the parent
 * checks, through read(), that what it punched or cut off reads back as zeros and that what it
 * left alone still holds the pattern. The mapping of FILE is also the source buffer of write()s
 * into COPY, so page faults on FILE race its layout changes from two directions.
 *
 * Written for daxlab's tests in the shape of an fstests src/ program: paths as arguments, plain
 * text on stdout/stderr, the exit status is the verdict (0 ok, 1 data check failed, 2 setup
 * error). It includes <fcntl.h> and calls fallocate() without defining _GNU_SOURCE itself, as
 * such programs do under a build system that defines it.
 *
 * usage: mmap_collide FILE COPY [ROUNDS]
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define FILE_SIZE (1024 * 1024)
#define CHUNK 65536
#define PATTERN 0x5a

static sigjmp_buf bus_jmp;

static void on_bus(int sig)
{
	(void)sig;
	siglongjmp(bus_jmp, 1);
}

static int die(const char *what)
{
	fprintf(stderr, "mmap_collide: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* The child: fault every page of the mapping, write into it, copy from it into COPY. A page
 * beyond EOF (the parent truncated) raises SIGBUS; that is expected and skipped. */
static void toucher(char *map, int copy_fd)
{
	struct sigaction sa = { .sa_handler = on_bus };
	sigaction(SIGBUS, &sa, NULL);
	for (unsigned long n = 0;; n++) {
		size_t off = (n * 4096) % FILE_SIZE;
		if (sigsetjmp(bus_jmp, 1) == 0) {
			volatile char c = map[off];
			(void)c;
			map[off + 1] = PATTERN;
			if (pwrite(copy_fd, map + (off & ~(size_t)(CHUNK - 1)), CHUNK, 0) < 0 && errno != EFAULT)
				die("pwrite COPY");
		}
	}
}

/* Bytes [off, off+len) of fd, via read(), all equal to want? */
static int all_equal(int fd, off_t off, size_t len, unsigned char want, off_t *bad)
{
	static unsigned char buf[CHUNK];
	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);
		ssize_t r = pread(fd, buf, n, off);
		if (r < 0)
			die("pread FILE");
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] != want) {
				*bad = off + i;
				return 0;
			}
		}
		if ((size_t)r < n)
			return want == 0; /* short read: EOF, nothing there */
		off += r;
		len -= (size_t)r;
	}
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s FILE COPY [ROUNDS]\n", argv[0]);
		return 2;
	}
	int rounds = argc > 3 ? atoi(argv[3]) : 50;
	int fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
	int copy_fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || copy_fd < 0)
		die("open");
	static unsigned char pat[CHUNK];
	memset(pat, PATTERN, sizeof(pat));
	for (off_t o = 0; o < FILE_SIZE; o += CHUNK)
		if (pwrite(fd, pat, CHUNK, o) != CHUNK)
			die("pwrite FILE");
	if (fsync(fd))
		die("fsync");
	char *map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0)
		toucher(map, copy_fd);

	int failed = 0;
	for (int r = 0; r < rounds && !failed; r++) {
		off_t hole = (off_t)(r % (FILE_SIZE / CHUNK)) * CHUNK;
		off_t bad;
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, hole, CHUNK))
			die("fallocate punch");
		/* The child writes PATTERN into the second byte of each page it faults back in:
		 * the hole may be refilled with 0 or PATTERN there, never with anything else. */
		if (!all_equal(fd, hole, 1, 0, &bad)) {
			fprintf(stderr, "round %d: byte %lld of a punched range is not zero\n", r, (long long)bad);
			failed = 1;
		}
		if (ftruncate(fd, FILE_SIZE / 2) || ftruncate(fd, FILE_SIZE))
			die("ftruncate");
		if (!all_equal(fd, FILE_SIZE / 2, 1, 0, &bad)) {
			fprintf(stderr, "round %d: byte %lld past the old EOF is not zero after re-extension\n", r, (long long)bad);
			failed = 1;
		}
		/* Restore the pattern so the next round starts from known data. */
		for (off_t o = FILE_SIZE / 2; o < FILE_SIZE; o += CHUNK)
			if (pwrite(fd, pat, CHUNK, o) != CHUNK)
				die("pwrite FILE");
		if (pwrite(fd, pat, CHUNK, hole) != CHUNK)
			die("pwrite FILE");
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (failed)
		return 1;
	printf("%d rounds of punch and truncate under a faulting mapping: data intact\n", rounds);
	return 0;
}
