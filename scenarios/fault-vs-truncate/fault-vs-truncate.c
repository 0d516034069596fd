/* fault-vs-truncate: page faults on a shared DAX mapping race with truncate + re-extension.
 *
 * The file is mapped twice: at a 4 KiB-aligned address and at a 2 MiB-aligned one (so PMD faults
 * are possible on DAX). Faulting threads read and write random 8-byte words through both
 * mappings while the resizer shrinks the file to a random size and grows it back. Writers store
 * a tagged word: (MAGIC << 32) | phase, where `phase` is a counter the resizer bumps before each
 * shrink (odd) and after each re-extension (even). After every cycle the resizer parks the faulting
 * threads and checks the re-extended range [small, size):
 *   - each word is zero, or was stored after the re-extension (tag == current phase), or during
 *     this resize (tag == the odd phase: such a store either preceded the shrink and was cut away,
 *     or followed the extension), or by a write that straddled a phase change (its writer saw the
 *     phase change across the store and recorded the offset);
 *   - a word stored entirely in an earlier stable phase survived the truncate: stale data.
 * SIGBUS is legal only at offsets that were beyond EOF at some moment, i.e. >= the shrunk size;
 * one below it (always inside the file) is a failure. Kernel warnings fail too. */
#include "daxlab.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>

#define MiB (1024ul * 1024ul)
#define MAGIC 0xfa17c0deull
#define MAX_STRADDLE 4096

static size_t fsize = 4 * MiB;
static int fd;
static char *map4k, *map2m;
static atomic_ulong phase; /* even: stable full size; odd: resize in progress */
static atomic_ulong min_size; /* smallest size of the current resize (all offsets below are always inside) */
static atomic_int stop, pause_req, parked;
static atomic_long bad_sigbus, legal_sigbus, corrupt_reads, faults_done;
static char badmsg[300];
static pthread_mutex_t msg_lock = PTHREAD_MUTEX_INITIALIZER;

struct worker {
	pthread_t t;
	int id;
	uint64_t rng;
	sigjmp_buf jb;
	volatile uintptr_t bus_addr;
	size_t nstraddle;
	uint64_t straddle[MAX_STRADDLE]; /* offsets of writes that straddled a phase change */
};
static __thread struct worker *self;

static void note(const char *fmt, size_t off, uint64_t v)
{
	pthread_mutex_lock(&msg_lock);
	if (!badmsg[0])
		snprintf(badmsg, sizeof(badmsg), fmt, off, (unsigned long long)v);
	pthread_mutex_unlock(&msg_lock);
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	self->bus_addr = (uintptr_t)si->si_addr;
	siglongjmp(self->jb, 1);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	self = w;
	while (!atomic_load(&stop)) {
		if (atomic_load(&pause_req)) {
			atomic_fetch_add(&parked, 1);
			while (atomic_load(&pause_req) && !atomic_load(&stop))
				usleep(200);
			atomic_fetch_sub(&parked, 1);
			continue;
		}
		uint64_t r = dl_xorshift(&w->rng);
		size_t off = (r % (fsize / 8)) * 8;
		char *base = (r >> 40) & 1 ? map2m : map4k;
		int write = (r >> 41) & 1;
		volatile uint64_t *p = (volatile uint64_t *)(base + off);
		unsigned long ph = atomic_load(&phase);
		size_t lim = atomic_load(&min_size);
		if (sigsetjmp(w->jb, 1)) {
			size_t boff = (size_t)(w->bus_addr - (uintptr_t)base);
			if (boff >= lim || boff >= atomic_load(&min_size)) {
				atomic_fetch_add(&legal_sigbus, 1);
			} else {
				atomic_fetch_add(&bad_sigbus, 1);
				note("SIGBUS at offset %zu, inside the file (smallest size %llu)", boff, lim);
			}
			continue;
		}
		if (write) {
			*p = (MAGIC << 32) | ph;
			if (atomic_load(&phase) != ph && w->nstraddle < MAX_STRADDLE)
				w->straddle[w->nstraddle++] = off;
		} else {
			uint64_t v = *p;
			if (v && (v >> 32) != MAGIC && (v >> 32) != 0x11111111ull) {
				atomic_fetch_add(&corrupt_reads, 1);
				note("read garbage at offset %zu: %#llx", off, v);
			}
		}
		atomic_fetch_add(&faults_done, 1);
		if (((r >> 42) & 63) == 0) /* now and then drop the mapping's PTEs so the next access faults */
			madvise(base + (off & ~(2 * MiB - 1)), 2 * MiB, MADV_DONTNEED);
	}
	return NULL;
}

static int straddled(struct worker *ws, int n, size_t off)
{
	for (int i = 0; i < n; i++)
		for (size_t j = 0; j < ws[i].nstraddle; j++)
			if (ws[i].straddle[j] == off)
				return 1;
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = 6;
	int nthreads = 3;
	dl_init();
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = atoi(argv[++i]);
		else {
			fprintf(stderr, "usage: %s [--seconds S] [--threads N]\n", argv[0]);
			return 2;
		}
	}
	if (nthreads < 1 || nthreads > 32)
		return 2;
	char path[4200];
	snprintf(path, sizeof(path), "%s/fault-vs-truncate.%d", dl_env("DAXLAB_DIR", "/tmp"), getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		dl_die("open %s", path);
	char *buf = malloc(MiB);
	if (!buf)
		dl_die("malloc");
	memset(buf, 0x11, MiB); /* initial content: words 0x1111111111111111, never zero */
	for (size_t o = 0; o < fsize; o += MiB)
		if (pwrite(fd, buf, MiB, (off_t)o) != (ssize_t)MiB)
			dl_die("write");
	fsync(fd);
	int is_dax = dl_check_dax_mode(fd);
	/* One reservation, two placements: 2 MiB aligned (PMD faults possible), and 4 KiB past a
	 * 2 MiB boundary (PTE faults only). */
	char *res = mmap(NULL, 2 * fsize + 6 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		dl_die("mmap reserve");
	char *aligned = (char *)(((uintptr_t)res + 2 * MiB - 1) & ~(uintptr_t)(2 * MiB - 1));
	map2m = mmap(aligned, fsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	map4k = mmap(aligned + fsize + 2 * MiB + 4096, fsize, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
	if (map2m == MAP_FAILED || map4k == MAP_FAILED)
		dl_die("mmap");

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigaction(SIGBUS, &sa, NULL);

	atomic_store(&min_size, fsize);
	int kfd = dl_kmsg_open();
	struct worker *ws = calloc((size_t)nthreads, sizeof(*ws));
	if (!ws)
		dl_die("calloc");
	for (int i = 0; i < nthreads; i++) {
		ws[i].id = i;
		ws[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 7) ^ (uint64_t)getpid();
		if (pthread_create(&ws[i].t, NULL, worker_main, &ws[i]))
			dl_die("pthread_create");
	}
	uint64_t rng = 0xdeadbeefcafef00dull ^ (uint64_t)getpid(), t0 = dl_now_ns();
	long cycles = 0, stale_words = 0, stale_pread = 0;
	char *chk = malloc(fsize);
	if (!chk)
		dl_die("malloc");
	while (dl_now_ns() - t0 < (uint64_t)(seconds * 1e9) && !stale_words && !stale_pread) {
		/* small: 4 KiB granular, sometimes 2 MiB aligned, between 1/4 and all of the file */
		size_t small = ((fsize / 4) + (dl_xorshift(&rng) % (3 * fsize / 4))) & ~(size_t)4095;
		if (dl_xorshift(&rng) % 4 == 0)
			small &= ~(size_t)(2 * MiB - 1);
		atomic_store(&min_size, small);
		atomic_fetch_add(&phase, 1); /* odd */
		if (ftruncate(fd, (off_t)small))
			dl_die("ftruncate shrink");
		usleep(1000);
		if (ftruncate(fd, (off_t)fsize))
			dl_die("ftruncate extend");
		unsigned long ph = atomic_fetch_add(&phase, 1) + 1; /* even: stable again */
		usleep(2000); /* let faults race in the new range */
		atomic_store(&pause_req, 1);
		while (atomic_load(&parked) < nthreads)
			usleep(100);
		/* everything in [small, fsize) is zero or was stored in this stable phase or straddled */
		for (size_t off = small; off < fsize; off += 8) {
			uint64_t v = *(volatile uint64_t *)(map2m + off);
			if (!v || v == ((MAGIC << 32) | ph) || v == ((MAGIC << 32) | (ph - 1)) || straddled(ws, nthreads, off))
				continue;
			if (!stale_words)
				dl_info("stale word after re-extension at %zu (small %zu): %#llx (phase now %lu)", off, small,
					(unsigned long long)v, ph);
			stale_words++;
		}
		if (pread(fd, chk, fsize - small, (off_t)small) != (ssize_t)(fsize - small))
			dl_die("pread");
		for (size_t j = 0; j + 8 <= fsize - small; j += 8) {
			uint64_t v;
			memcpy(&v, chk + j, 8);
			if (v && v != ((MAGIC << 32) | ph) && v != ((MAGIC << 32) | (ph - 1)) && !straddled(ws, nthreads, small + j))
				stale_pread++;
		}
		for (int i = 0; i < nthreads; i++)
			ws[i].nstraddle = 0;
		atomic_store(&min_size, fsize);
		atomic_store(&pause_req, 0);
		cycles++;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < nthreads; i++)
		pthread_join(ws[i].t, NULL);
	int splats = dl_kmsg_scan(kfd);
	dl_metric("cycles", (double)cycles, "count");
	dl_metric("accesses", (double)atomic_load(&faults_done), "count");
	dl_metric("sigbus_beyond_eof", (double)atomic_load(&legal_sigbus), "count");
	dl_metric("sigbus_inside_file", (double)atomic_load(&bad_sigbus), "count");
	dl_metric("stale_words_mapped", (double)stale_words, "count");
	dl_metric("stale_words_read", (double)stale_pread, "count");
	dl_metric("corrupt_reads", (double)atomic_load(&corrupt_reads), "count");
	dl_metric("kernel_warnings", splats, "count");
	munmap(map4k, fsize);
	munmap(map2m, fsize);
	close(fd);
	unlink(path);
	if (atomic_load(&bad_sigbus))
		dl_fail("%ld SIGBUS inside the file: %s", atomic_load(&bad_sigbus), badmsg);
	if (stale_words || stale_pread)
		dl_fail("stale data after re-extension: %ld words through the mapping, %ld through read()", stale_words, stale_pread);
	if (atomic_load(&corrupt_reads))
		dl_fail("%ld reads returned garbage: %s", atomic_load(&corrupt_reads), badmsg);
	if (splats)
		dl_fail("%d kernel warnings", splats);
	dl_verdict("pass", "%ld shrink/extend cycles, %ld faulting accesses (%s), SIGBUS only beyond EOF, zeros after re-extension",
		   cycles, atomic_load(&faults_done), is_dax == 1 ? "DAX" : "page cache");
	return 0;
}
