/* dio-pin-vs-truncate: the DMA-vs-truncate race that dax_layout_busy_page() closes (2018).
 *
 * O_DIRECT reads from a file on a non-DAX, asynchronously completing block device (the virtio-blk
 * scratch disk) land in a buffer that is a MAP_SHARED mapping of a DAX file: the kernel pins the
 * DAX pages for the duration of the I/O. Meanwhile one thread changes the DAX file's layout
 * (truncate, punch hole, zero range, collapse range) and another keeps allocating "victim" files
 * in the same filesystem, filled with 0x5A and fsynced so freed blocks get reused quickly.
 *
 * A correct kernel makes each layout change wait until the pinned pages are released. A kernel
 * that does not frees blocks that are still DMA targets: when such a block is reallocated to a
 * victim, the DMA payload lands in the victim (corruption), and fs/dax.c warns in
 * dax_disassociate_entry() (page still referenced at truncate).
 *
 * Traps (see domain notes): the source must hold written, fsynced data (an O_DIRECT read of an
 * unwritten extent issues no I/O), and the source device must not be pmem (synchronous I/O pins
 * for microseconds only). */
#include "daxlab.h"
#include <linux/falloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/mman.h>

#define KiB 1024ul
#define MiB (1024ul * 1024ul)
#define PAYLOAD 0x444c594150414d44ull /* "DMAPAYLD": every 8-byte word of the DMA source */
#define VICTIM_BYTE 0x5a
#define MAX_DIO 20000
#define MAX_OPS 20000

static size_t file_size = 8 * MiB, chunk = 64 * KiB, victim_size = 64 * KiB;
static int nvictims = 48;
static double seconds = 8;
static int nreaders = 2;

static int sfd, dfd;
static char *map;
static char dpath[4200], dir[4096];
static atomic_int stop;
static atomic_long unexpected_errors, efaults, dio_done, dio_bytes;
static char first_error[256];
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;

struct dio_rec {
	uint64_t off, len, start, end;
};
struct op_rec {
	int kind;
	uint64_t off, len, start, end;
};
enum { OP_TRUNCATE, OP_PUNCH, OP_ZERO, OP_COLLAPSE, NOPS };
static const char *const op_names[NOPS] = { "truncate", "punch_hole", "zero_range", "collapse_range" };
static int op_supported[NOPS] = { 1, 1, 1, 1 };

struct reader {
	pthread_t t;
	int id;
	uint64_t rng;
	struct dio_rec *recs;
	size_t nrecs;
};

static struct op_rec ops[MAX_OPS];
static size_t nops;

static void record_error(const char *what, int err)
{
	atomic_fetch_add(&unexpected_errors, 1);
	pthread_mutex_lock(&err_lock);
	if (!first_error[0])
		snprintf(first_error, sizeof(first_error), "%s: %s", what, strerror(err));
	pthread_mutex_unlock(&err_lock);
}

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	size_t nchunks = file_size / chunk;
	while (!atomic_load(&stop)) {
		uint64_t off = (dl_xorshift(&r->rng) % nchunks) * chunk;
		uint64_t t0 = dl_now_ns();
		ssize_t n = pread(sfd, map + off, chunk, (off_t)off);
		uint64_t t1 = dl_now_ns();
		if (n < 0) {
			/* The buffer lies beyond the DAX file's EOF right now (truncated): GUP cannot pin it. */
			if (errno == EFAULT)
				atomic_fetch_add(&efaults, 1);
			else
				record_error("O_DIRECT pread into the DAX mapping", errno);
			continue;
		}
		atomic_fetch_add(&dio_done, 1);
		atomic_fetch_add(&dio_bytes, n);
		if (r->nrecs < MAX_DIO)
			r->recs[r->nrecs++] = (struct dio_rec){ off, chunk, t0, t1 };
	}
	return NULL;
}

static int layout_op(int kind, uint64_t off, uint64_t len)
{
	switch (kind) {
	case OP_TRUNCATE:
		return ftruncate(dfd, (off_t)off);
	case OP_PUNCH:
		return fallocate(dfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
	case OP_ZERO:
		return fallocate(dfd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
	default:
		return fallocate(dfd, FALLOC_FL_COLLAPSE_RANGE, (off_t)off, (off_t)len);
	}
}

static void on_usr1(int sig)
{
	(void)sig;
}

static void *layout_main(void *arg)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	size_t nchunks = file_size / chunk;
	(void)arg;
	for (unsigned i = 0; !atomic_load(&stop); i++) {
		int kind = (int)(i % NOPS);
		if (!op_supported[kind])
			continue;
		uint64_t off, len;
		if (kind == OP_TRUNCATE) {
			off = (dl_xorshift(&rng) % (nchunks / 2) + nchunks / 4) * chunk; /* new size */
			len = file_size - off;
		} else {
			off = (dl_xorshift(&rng) % (nchunks - 2)) * chunk;
			len = chunk * (1 + dl_xorshift(&rng) % 2);
		}
		uint64_t t0 = dl_now_ns();
		int rc = layout_op(kind, off, len);
		uint64_t t1 = dl_now_ns();
		int err = errno;
		if (rc && (err == EOPNOTSUPP || (kind == OP_COLLAPSE && err == EINVAL))) {
			dl_info("%s not supported here (%s); dropped from the mix", op_names[kind], strerror(err));
			op_supported[kind] = 0;
			continue;
		}
		if (rc) {
			record_error(op_names[kind], err);
			continue;
		}
		/* truncate and collapse shrink the file: grow it back (a hole; DIO faults allocate it) */
		if ((kind == OP_TRUNCATE || kind == OP_COLLAPSE) && ftruncate(dfd, (off_t)file_size))
			record_error("ftruncate re-extend", errno);
		if (nops < MAX_OPS)
			ops[nops++] = (struct op_rec){ kind, off, kind == OP_COLLAPSE ? file_size - off : len, t0, t1 };
		dl_sample(op_names[kind], (double)(t1 - t0) / 1e6, "ms");
	}
	return NULL;
}

/* Victims: fresh files full of VICTIM_BYTE, fsynced so the journal commits and freed blocks of
 * the DAX file become allocatable again. Returns the number of corrupt bytes found. */
static long corrupt_bytes, payload_words;
static int corrupt_files;

static void victim_path(char *buf, size_t sz, int i)
{
	snprintf(buf, sz, "%s/dio-victim.%d.%d", dir, getpid(), i);
}

static void verify_victim(int i, char *buf)
{
	char p[4200];
	victim_path(p, sizeof(p), i);
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return;
	ssize_t n = pread(fd, buf, victim_size, 0);
	close(fd);
	if (n != (ssize_t)victim_size) {
		record_error("read victim", n < 0 ? errno : EIO);
		return;
	}
	long bad = 0, words = 0;
	for (size_t j = 0; j < victim_size; j++)
		bad += (unsigned char)buf[j] != VICTIM_BYTE;
	for (size_t j = 0; j + 8 <= victim_size; j += 8) {
		uint64_t w;
		memcpy(&w, buf + j, 8);
		words += w == PAYLOAD;
	}
	if (bad) {
		corrupt_files++;
		corrupt_bytes += bad;
		payload_words += words;
		dl_info("victim %s: %ld bytes changed, %ld DMA payload words", p, bad, words);
	}
}

static void *victim_main(void *arg)
{
	char *buf = malloc(victim_size), *chk = malloc(victim_size), p[4200];
	(void)arg;
	if (!buf || !chk)
		return NULL;
	memset(buf, VICTIM_BYTE, victim_size);
	for (int i = 0; !atomic_load(&stop); i = (i + 1) % nvictims) {
		verify_victim(i, chk); /* the old generation, before its blocks are freed */
		victim_path(p, sizeof(p), i);
		unlink(p);
		int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			record_error("create victim", errno);
			continue;
		}
		if (pwrite(fd, buf, victim_size, 0) != (ssize_t)victim_size)
			record_error("write victim", errno);
		if (fsync(fd))
			record_error("fsync victim", errno);
		close(fd);
	}
	free(buf);
	free(chk);
	return NULL;
}

/* Deterministic probe, before the race: one large O_DIRECT read into the start of the mapping
 * (queued behind small reads that keep the throttled disk busy, so it stays in flight for a
 * while), then, 15 ms later, a hole punch
 * over the same range. A correct kernel holds the punch until the read's pages are unpinned, so
 * it returns about when the read does; a kernel that does not wait returns the punch at once
 * while the DMA is still running. */
#define PROBE_BYTES (4 * 1024 * 1024)
static volatile uint64_t probe_start, probe_end;
static volatile int probe_started;
static ssize_t probe_ret;

static void *probe_reader(void *arg)
{
	(void)arg;
	probe_start = dl_now_ns();
	__atomic_store_n(&probe_started, 1, __ATOMIC_SEQ_CST);
	probe_ret = pread(sfd, map, PROBE_BYTES, 0);
	probe_end = dl_now_ns();
	return NULL;
}

/* Keeps the throttled scratch disk busy with small O_DIRECT reads into private memory, so the
 * probe's read waits behind them and stays in flight long after a punch would have finished. */
#define NSAT 4
static atomic_int saturate;
static atomic_long sat_reads;
static pthread_t sat[NSAT];
static void *saturator(void *arg)
{
	uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	void *b = NULL;
	if (posix_memalign(&b, 4096, 4096))
		return NULL;
	while (atomic_load(&saturate)) {
		off_t o = (off_t)((dl_xorshift(&rng) % (file_size / 4096)) * 4096);
		if (pread(sfd, b, 4096, o) < 0)
			break;
		atomic_fetch_add(&sat_reads, 1);
	}
	free(b);
	return NULL;
}

static void stop_saturators(void)
{
	if (!atomic_exchange(&saturate, 0))
		return;
	for (int k = 0; k < NSAT; k++)
		pthread_join(sat[k], NULL);
}

/* Thread t is in a layout change of the DAX file, and no DMA into that file has been in flight
 * since dma_done: a correct kernel lets the change return at once. If it is still blocked 30 s
 * later, find out why and fail. The wait is interruptible: a signal with an SA_RESTART handler
 * makes the syscall restart and look for busy pages again. If it then completes, the pages had
 * been released and the waiter missed its wakeup; if it blocks again, a page reference leaked. */
static void await_layout_change(pthread_t t, uint64_t dma_done, int kfd, const char *what)
{
	long reads0 = atomic_load(&sat_reads);
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 30;
	if (!pthread_timedjoin_np(t, NULL, &dl))
		return;
	double stuck_s = (double)(dl_now_ns() - dma_done) / 1e9;
	long reads = atomic_load(&sat_reads) - reads0;
	/* Their reads into private memory kept completing: the disk is not what the change waits
	 * for. Stopped, they no longer show up as D-state O_DIRECT readers in the task dump. */
	stop_saturators();
	if (reads)
		dl_info("meanwhile the scratch disk completed %ld O_DIRECT reads into private memory", reads);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	uint64_t t_sig = dl_now_ns();
	pthread_kill(t, SIGUSR1);
	struct timespec pl;
	clock_gettime(CLOCK_REALTIME, &pl);
	pl.tv_sec += 10;
	int fresh_returned = pthread_timedjoin_np(t, NULL, &pl) == 0;
	double restart_ms = (double)(dl_now_ns() - t_sig) / 1e6;
	int sq = open("/proc/sysrq-trigger", O_WRONLY); /* blocked tasks to the console */
	if (sq >= 0) {
		if (write(sq, "w", 1) != 1)
			dl_info("sysrq: %s", strerror(errno));
		close(sq);
	}
	int splats = dl_kmsg_scan(kfd);
	dl_metric("kernel_warnings", splats, "count");
	dl_metric("layout_stuck_after_dma_s", stuck_s, "s");
	dl_metric("restarted_layout_change_returned", fresh_returned, "bool");
	if (fresh_returned)
		dl_fail("%s is still blocked %.0f s after all DMA into the file completed; restarted by a signal, it completed "
			"in %.0f ms: the pinned pages had been released, the waiter missed its wakeup", what, stuck_s, restart_ms);
	dl_fail("%s is still blocked %.0f s after all DMA into the file completed; restarted by a signal, it blocked again: "
		"a page reference was leaked", what, stuck_s);
}

static uint64_t punch_t0, punch_t1;
static int punch_err;
static void *probe_puncher(void *arg)
{
	(void)arg;
	punch_t0 = dl_now_ns();
	punch_err = fallocate(dfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PROBE_BYTES) ? errno : 0;
	punch_t1 = dl_now_ns();
	return NULL;
}

/* Returns 1 punch did not wait, 0 it waited, -1 inconclusive (the read finished too soon). */
static int probe_once(int kfd, double *punch_ms, double *dio_ms)
{
	static char buf[PROBE_BYTES];
	memset(buf, 0x22, sizeof(buf));
	if (pwrite(dfd, buf, PROBE_BYTES, 0) != PROBE_BYTES)
		dl_die("probe: rewrite the DAX range");
	for (size_t i = 0; i < PROBE_BYTES; i += 4096)
		map[i] = 0x23; /* mapped, so the read pins these very blocks */
	pthread_t t;
	probe_started = 0;
	probe_end = 0;
	if (pthread_create(&t, NULL, probe_reader, NULL))
		dl_die("probe thread");
	while (!__atomic_load_n(&probe_started, __ATOMIC_SEQ_CST))
		usleep(100);
	while (dl_now_ns() - probe_start < 15000000ull)
		usleep(1000);
	if (probe_end) {
		pthread_join(t, NULL);
		return -1;
	}
	pthread_t pt;
	if (pthread_create(&pt, NULL, probe_puncher, NULL))
		dl_die("probe punch thread");
	pthread_join(t, NULL);
	await_layout_change(pt, probe_end, kfd, "the probe's hole punch");
	errno = punch_err;
	if (punch_err)
		dl_die("probe: punch hole");
	if (probe_ret < 0)
		dl_die("probe: O_DIRECT read");
	uint64_t t0 = punch_t0, t1 = punch_t1;
	*punch_ms = (double)(t1 - t0) / 1e6;
	*dio_ms = (double)(probe_end - probe_start) / 1e6;
	double after = probe_end > t1 ? (double)(probe_end - t1) / 1e6 : 0;
	double rest = (double)(probe_end - t0) / 1e6;
	return after > 20 && after > 0.5 * rest;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--seconds S] [--readers N] [--file-mib N] [--chunk-kib N] [--victims N]\n"
			"          [--ops truncate,punch_hole,zero_range,collapse_range]\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	dl_init();
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc)
			usage(argv[0]);
		if (!strcmp(a, "--seconds"))
			seconds = atof(argv[++i]);
		else if (!strcmp(a, "--readers"))
			nreaders = atoi(argv[++i]);
		else if (!strcmp(a, "--file-mib"))
			file_size = strtoul(argv[++i], NULL, 0) * MiB;
		else if (!strcmp(a, "--chunk-kib"))
			chunk = strtoul(argv[++i], NULL, 0) * KiB;
		else if (!strcmp(a, "--victims"))
			nvictims = atoi(argv[++i]);
		else if (!strcmp(a, "--ops")) { /* comma-separated subset of the layout changes */
			char *list = argv[++i];
			for (int k = 0; k < NOPS; k++)
				op_supported[k] = 0;
			for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ","))
				for (int k = 0; k < NOPS; k++)
					if (!strcmp(tok, op_names[k]))
						op_supported[k] = 1;
		}
		else
			usage(argv[0]);
	}
	if (nreaders < 1 || nreaders > 16 || chunk < 4 * KiB || chunk % (4 * KiB) || file_size < 8 * chunk || file_size < PROBE_BYTES ||
	    nvictims < 1)
		usage(argv[0]);
	const char *scratch = dl_env("DAXLAB_SCRATCH", "");
	if (!*scratch) {
		dl_verdict("error", "needs the non-DAX scratch disk: set scratch: true in the scenario (DAXLAB_SCRATCH is empty)");
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s", dl_env("DAXLAB_DIR", "/tmp"));

	/* DMA source: written and fsynced, so every O_DIRECT read is a real bio to the device. */
	char spath[4200];
	snprintf(spath, sizeof(spath), "%s/dio-src.%d", scratch, getpid());
	int w = open(spath, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (w < 0)
		dl_die("create %s", spath);
	uint64_t *pat = malloc(MiB);
	if (!pat)
		dl_die("malloc");
	for (size_t j = 0; j < MiB / 8; j++)
		pat[j] = PAYLOAD;
	for (size_t o = 0; o < file_size; o += MiB)
		if (pwrite(w, pat, MiB, (off_t)o) != (ssize_t)MiB)
			dl_die("write %s", spath);
	if (fsync(w))
		dl_die("fsync %s", spath);
	close(w);
	sfd = open(spath, O_RDONLY | O_DIRECT);
	if (sfd < 0 && errno == EINVAL) {
		dl_verdict("error", "%s does not support O_DIRECT: is the virtio-blk scratch disk mounted there?", scratch);
		return 2;
	}
	if (sfd < 0)
		dl_die("open O_DIRECT %s", spath);

	/* The DAX file: fully written (allocated), mapped shared. */
	snprintf(dpath, sizeof(dpath), "%s/dio-dax.%d", dir, getpid());
	dfd = open(dpath, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (dfd < 0)
		dl_die("create %s", dpath);
	memset(pat, 0x11, MiB);
	for (size_t o = 0; o < file_size; o += MiB)
		if (pwrite(dfd, pat, MiB, (off_t)o) != (ssize_t)MiB)
			dl_die("write %s", dpath);
	if (fsync(dfd))
		dl_die("fsync %s", dpath);
	free(pat);
	int is_dax = dl_check_dax_mode(dfd);
	map = mmap(NULL, file_size, PROT_READ | PROT_WRITE, MAP_SHARED, dfd, 0);
	if (map == MAP_FAILED)
		dl_die("mmap %s", dpath);

	int kfd = dl_kmsg_open();
	int probes_early = 0, probes_ok = 0;
	atomic_store(&saturate, 1);
	for (int k = 0; k < NSAT; k++)
		if (pthread_create(&sat[k], NULL, saturator, (void *)(uintptr_t)(k + 1)))
			dl_die("saturator thread");
	usleep(300000); /* empty the throttle's burst allowance */
	for (int k = 0; k < 10 && probes_ok < 5; k++) {
		double pm = 0, dm = 0;
		int r = probe_once(kfd, &pm, &dm);
		if (r < 0)
			continue;
		probes_ok++;
		probes_early += r;
		dl_sample("probe_punch", pm, "ms");
		dl_info("probe %d: punch took %.1f ms while a %.1f ms O_DIRECT read into the range was in flight%s", k, pm, dm,
			r ? ": it did not wait" : "");
	}
	stop_saturators();
	dl_metric("probes_conclusive", probes_ok, "count");
	dl_metric("probes_punch_not_waiting", probes_early, "count");
	struct reader *rd = calloc((size_t)nreaders, sizeof(*rd));
	if (!rd)
		dl_die("calloc");
	pthread_t lt, vt;
	uint64_t t_start = dl_now_ns();
	for (int i = 0; i < nreaders; i++) {
		rd[i].id = i;
		rd[i].rng = 0x2545f4914f6cdd1dull * (uint64_t)(i + 1) ^ (uint64_t)getpid();
		rd[i].recs = calloc(MAX_DIO, sizeof(struct dio_rec));
		if (!rd[i].recs || pthread_create(&rd[i].t, NULL, reader_main, &rd[i]))
			dl_die("reader thread");
	}
	if (pthread_create(&lt, NULL, layout_main, NULL) || pthread_create(&vt, NULL, victim_main, NULL))
		dl_die("thread");
	while (dl_now_ns() - t_start < (uint64_t)(seconds * 1e9))
		usleep(50000);
	atomic_store(&stop, 1);
	for (int i = 0; i < nreaders; i++)
		pthread_join(rd[i].t, NULL);
	pthread_join(vt, NULL);
	/* No DMA is in flight any more: a layout change still waiting now waits for a page
	 * reference nobody will drop (a leaked reference or a missed wakeup). */
	char what[96];
	snprintf(what, sizeof(what), "a layout change (after %zu that returned)", nops);
	await_layout_change(lt, dl_now_ns(), kfd, what);
	/* All DMA is complete now: whatever a victim holds is final. */
	char *chk = malloc(victim_size);
	if (!chk)
		dl_die("malloc");
	for (int i = 0; i < nvictims; i++)
		verify_victim(i, chk);
	free(chk);
	int splats = dl_kmsg_scan(kfd);

	/* Waits: a layout op "under pin" overlaps the range of a DIO that was in flight at some
	 * time during the op (pins taken while the op sleeps count too: it waits for them). Such an op should have waited for that DIO to finish; one that
	 * finished while a DIO that began well before it (>= 20 ms) was still in flight did not. */
	double *under = calloc(nops + 1, sizeof(double)), *free_ops = calloc(nops + 1, sizeof(double)), *dio_ms = NULL;
	size_t nunder = 0, nfree = 0, ndio = 0, not_waiting = 0;
	for (int i = 0; i < nreaders; i++)
		ndio += rd[i].nrecs;
	dio_ms = calloc(ndio + 1, sizeof(double));
	if (!under || !free_ops || !dio_ms)
		dl_die("calloc");
	ndio = 0;
	for (int i = 0; i < nreaders; i++)
		for (size_t j = 0; j < rd[i].nrecs; j++)
			dio_ms[ndio++] = (double)(rd[i].recs[j].end - rd[i].recs[j].start) / 1e6;
	for (size_t k = 0; k < nops; k++) {
		struct op_rec *o = &ops[k];
		int pinned = 0, early = 0;
		for (int i = 0; i < nreaders; i++)
			for (size_t j = 0; j < rd[i].nrecs; j++) {
				struct dio_rec *d = &rd[i].recs[j];
				if (d->start >= o->end || d->end <= o->start)
					continue; /* not in flight at any time during the op */
				if (d->off + d->len <= o->off || o->off + o->len <= d->off)
					continue;
				pinned = 1;
				if (d->start < o->start && d->end > o->end && o->start - d->start >= 20000000ull)
					early = 1;
			}
		double ms = (double)(o->end - o->start) / 1e6;
		if (pinned)
			under[nunder++] = ms;
		else
			free_ops[nfree++] = ms;
		not_waiting += early;
	}
	dl_stats("dio_read", dio_ms, ndio, "ms");
	dl_stats("layout_wait_pinned", under, nunder, "ms");
	dl_stats("layout_unpinned", free_ops, nfree, "ms");
	dl_metric("layout_ops_not_waiting", (double)not_waiting, "count");
	dl_metric("dio_efault_beyond_eof", (double)atomic_load(&efaults), "count");
	dl_metric("dio_bytes", (double)atomic_load(&dio_bytes), "bytes");
	dl_metric("victim_corrupt_bytes", (double)corrupt_bytes, "bytes");
	dl_metric("victim_payload_words", (double)payload_words, "count");
	dl_metric("kernel_warnings", splats, "count");

	munmap(map, file_size);
	close(dfd);
	close(sfd);
	unlink(dpath);
	unlink(spath);
	for (int i = 0; i < nvictims; i++) {
		char p[4200];
		victim_path(p, sizeof(p), i);
		unlink(p);
	}
	long nerr = atomic_load(&unexpected_errors);
	if (is_dax == 1 && probes_early >= 3)
		dl_fail("in %d of %d probes a hole punch returned while an O_DIRECT read into the punched DAX range was still in flight",
			probes_early, probes_ok);
	if (corrupt_files)
		dl_fail("%d victim files corrupted (%ld bytes, %ld DMA payload words): freed DAX blocks were DMA targets", corrupt_files, corrupt_bytes, payload_words);
	if (splats)
		dl_fail("%d kernel warnings while layout changes raced pinned DMA", splats);
	if (nerr)
		dl_fail("%ld unexpected syscall errors, first: %s", nerr, first_error);
	if (atomic_load(&dio_done) == 0)
		dl_fail("no O_DIRECT read completed: nothing was pinned, the race was not exercised");
	dl_verdict("pass", "%ld DMA reads into the %s mapping, %zu layout changes (%zu under pin, max wait %.1f ms), no corruption",
		   atomic_load(&dio_done), is_dax == 1 ? "DAX" : "non-DAX", nops, nunder, nunder ? under[nunder - 1] : 0.0);
	return 0;
}
