// SPDX-License-Identifier: GPL-2.0
/*
 * pgtbench: the guest side of `make bench`.
 *
 * Runs inside the test guest (as root) and drives the pgtable_free sysfs
 * controls and debugfs test hooks.  Each subcommand prints one JSON object
 * on stdout; scripts/bench assembles them into build/bench.json.
 *
 *   pgtbench env                        kernel, CPUs, clock resolution
 *   pgtbench cost HOOK N REPS           ns per free, async vs sync
 *   pgtbench cost-async HOOK N REPS     ns per free, async, as the hook counts
 *   pgtbench bursts HOOK REPS SIZE...   batches per burst: async, hold, sync
 *   pgtbench latency HOOK N BURSTS      write return -> stats/pending == 0
 *   pgtbench contend HOOK N REPS [MODE] frees from every CPU at once vs one
 *   pgtbench price HOOK N REPS US...    a priced invalidation, async vs sync
 *   pgtbench window HOOK N REPS MS...   batching windows, 0 = mainline's
 *   pgtbench trace HOOK N REPS          the free path, events off vs on
 *   pgtbench queues N REPS              queue designs, in-kernel (queue_bench)
 *   pgtbench exec-time REPS CMD...      wall time of a command
 *   pgtbench cpu-time SECS CMD...       CPU time of a command run for SECS
 *
 * Every time is CLOCK_MONOTONIC in the guest.  Under QEMU TCG the absolute
 * values say little about hardware; compare variants of one boot.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SYS	"/sys/kernel/mm/pgtable_free"
#define HOOKS	"/sys/kernel/debug/pgtable_free/test"

/* Give up waiting for the list to empty after this long. */
#define EMPTY_TIMEOUT_NS	(30ULL * 1000000000ULL)

static const char *prog = "pgtbench";

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- sysfs and debugfs ---- */

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	return fd;
}

/* The number in @buf, which read() or pread() filled with @n bytes. */
static unsigned long parse_ul(char *buf, ssize_t n, const char *what)
{
	unsigned long v;
	char *end;

	if (n <= 0)
		die("read %s: %s", what, n < 0 ? strerror(errno) : "empty");
	buf[n] = '\0';
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno || end == buf)
		die("read %s: not a number: %s", what, buf);
	return v;
}

static unsigned long read_fd_ul(int fd, const char *what)
{
	char buf[64];

	return parse_ul(buf, pread(fd, buf, sizeof(buf) - 1, 0), what);
}

static unsigned long read_ul(const char *path)
{
	int fd = open_or_die(path, O_RDONLY);
	unsigned long v = read_fd_ul(fd, path);

	close(fd);
	return v;
}

static unsigned long stat_ul(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), SYS "/stats/%s", name);
	return read_ul(path);
}

static void write_fd_str(int fd, const char *s, const char *what)
{
	ssize_t n = write(fd, s, strlen(s));

	if (n != (ssize_t)strlen(s))
		die("write '%s' to %s: %s", s, what,
		    n < 0 ? strerror(errno) : "short write");
}

static void write_str(const char *path, const char *s)
{
	int fd = open_or_die(path, O_WRONLY);

	write_fd_str(fd, s, path);
	close(fd);
}

static void set_mode(const char *mode)
{
	write_str(SYS "/mode", mode);
}

static void set_hold(int hold)
{
	write_str(HOOKS "/hold", hold ? "1" : "0");
}

static void drain(void)
{
	write_str(SYS "/drain", "1");
}

static char *hook_path(const char *hook)
{
	static char path[256];

	if (strcmp(hook, "alloc_free") && strcmp(hook, "vmap_huge"))
		die("unknown hook %s (alloc_free or vmap_huge)", hook);
	snprintf(path, sizeof(path), HOOKS "/%s", hook);
	return path;
}

/*
 * Write @n to the hook at @path and return the write's duration in ns:
 * the clock readings bracket the write() system call and nothing else.
 */
static uint64_t timed_hook_write(const char *path, unsigned long n)
{
	int fd = open_or_die(path, O_WRONLY);
	char num[32];
	uint64_t t0, t1;
	ssize_t w;
	size_t len;

	len = snprintf(num, sizeof(num), "%lu", n);
	t0 = now_ns();
	w = write(fd, num, len);
	t1 = now_ns();
	if (w != (ssize_t)len)
		die("write %lu to %s: %s", n, path,
		    w < 0 ? strerror(errno) : "short write");
	close(fd);
	return t1 - t0;
}

/*
 * Poll stats/pending (one pread each time round) until it reads 0.
 * Returns the time it first read 0; *polls counts the reads.
 */
static uint64_t wait_empty(int pending_fd, unsigned long *first,
			   unsigned long *polls)
{
	uint64_t start = now_ns(), t;
	unsigned long n = 0, v;

	for (;;) {
		v = read_fd_ul(pending_fd, "stats/pending");
		t = now_ns();
		if (n++ == 0 && first)
			*first = v;
		if (v == 0)
			break;
		if (t - start > EMPTY_TIMEOUT_NS)
			die("stats/pending still %lu after %llu s: is the work item stuck?",
			    v, EMPTY_TIMEOUT_NS / 1000000000ULL);
	}
	if (polls)
		*polls = n;
	return t;
}

/* Let the list empty, then wait for a batch in flight (drain's flush_work). */
static void settle(int pending_fd)
{
	wait_empty(pending_fd, NULL, NULL);
	drain();
}

/* ---- statistics ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Percentile @p (0..100) of sorted @v by linear interpolation. */
static double pct(const double *v, size_t n, double p)
{
	double rank, frac;
	size_t lo;

	if (n == 0)
		return 0;
	rank = p / 100.0 * (n - 1);
	lo = (size_t)rank;
	if (lo + 1 >= n)
		return v[n - 1];
	frac = rank - lo;
	return v[lo] + (v[lo + 1] - v[lo]) * frac;
}

struct summary {
	double median, p10, p90, min, max, mean;
	size_t n;
};

static struct summary summarize(const double *in, size_t n)
{
	struct summary s = { 0 };
	double *v, sum = 0;
	size_t i;

	if (n == 0)
		return s;
	v = malloc(n * sizeof(*v));
	if (!v)
		die("out of memory");
	memcpy(v, in, n * sizeof(*v));
	qsort(v, n, sizeof(*v), cmp_double);
	for (i = 0; i < n; i++)
		sum += v[i];
	s.n = n;
	s.median = pct(v, n, 50);
	s.p10 = pct(v, n, 10);
	s.p90 = pct(v, n, 90);
	s.min = v[0];
	s.max = v[n - 1];
	s.mean = sum / n;
	free(v);
	return s;
}

/* ---- JSON output: one object, keys in order, commas handled here ---- */

static bool json_first = true;

static void jkey(const char *key)
{
	printf("%s\"%s\":", json_first ? "" : ",", key);
	json_first = false;
}

static void jopen(const char *key)
{
	if (key)
		jkey(key);
	else if (!json_first)
		putchar(',');
	putchar('{');
	json_first = true;
}

static void jclose(void)
{
	putchar('}');
	json_first = false;
}

static void jarr_open(const char *key)
{
	jkey(key);
	putchar('[');
	json_first = true;
}

static void jarr_close(void)
{
	putchar(']');
	json_first = false;
}

static void jnum(const char *key, double v)
{
	jkey(key);
	if (v == (double)(long long)v && v < 1e15 && v > -1e15)
		printf("%lld", (long long)v);
	else
		printf("%.6g", v);
}

static void jbool(const char *key, bool v)
{
	jkey(key);
	fputs(v ? "true" : "false", stdout);
}

/* Strings here are ours or argv: escape what JSON requires anyway. */
static void jstr(const char *key, const char *s)
{
	jkey(key);
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static long long round_ll(double v)
{
	return (long long)(v < 0 ? v - 0.5 : v + 0.5);
}

/* prefix_median, prefix_p10, ...; values of 100 and up rounded to the unit. */
static void jsummary(const char *prefix, struct summary s, bool mean)
{
	char key[128];

#define ONE(name, val) do {						\
		snprintf(key, sizeof(key), "%s_" name, prefix);		\
		jnum(key, (val) >= 100 ? (double)round_ll(val) : (val)); \
	} while (0)
	ONE("median", s.median);
	ONE("p10", s.p10);
	ONE("p90", s.p90);
	ONE("min", s.min);
	ONE("max", s.max);
	if (mean)
		ONE("mean", s.mean);
#undef ONE
}

static void jend(void)
{
	putchar('\n');
	if (fflush(stdout) || ferror(stdout))
		die("write stdout: %s", strerror(errno));
}

/* A decimal number of at least min; anything else ends the program. */
static unsigned long arg_num(const char *s, const char *what, unsigned long min)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)*s) || errno || *end || v < min)
		die("bad %s: %s", what, s);
	return v;
}

static unsigned long arg_ul(const char *s, const char *what)
{
	return arg_num(s, what, 1);
}

/* Every value of a list, checked before the first is used. */
static unsigned long *arg_list(int argc, char **argv, const char *what)
{
	unsigned long *v = calloc(argc, sizeof(*v));

	if (!v)
		die("out of memory");
	for (int i = 0; i < argc; i++)
		v[i] = arg_num(argv[i], what, 0);
	return v;
}

/* ---- cost: ns per free, async vs sync ---- */

/*
 * Variants of the free path:
 *   async       normal operation: the work item may run during the write
 *   async_hold  hold=1: the write only queues, the drain afterwards is
 *               timed separately (ns per page drained)
 *   sync        each table freed at once, with its own flush
 */
enum cost_variant { C_ASYNC, C_HOLD, C_SYNC, NR_C };
static const char *const cost_name[NR_C] = { "async", "async_hold", "sync" };

static int cmd_cost(int argc, char **argv)
{
	const char *hook, *path;
	unsigned long n, reps, r;
	double *ns[NR_C], *as_empty, *hold_drain, *ratio, *ratio_hold;
	unsigned long frees_total[NR_C] = { 0 }, frees_min[NR_C], frees_max[NR_C] = { 0 };
	int pending_fd, v, k;

	if (argc != 4)
		die("usage: cost HOOK N REPS");
	hook = argv[1];
	path = hook_path(hook);
	n = arg_ul(argv[2], "N");
	reps = arg_ul(argv[3], "REPS");
	for (v = 0; v < NR_C; v++) {
		ns[v] = calloc(reps, sizeof(double));
		if (!ns[v])
			die("out of memory");
		frees_min[v] = ~0UL;
	}
	as_empty = calloc(reps, sizeof(double));
	hold_drain = calloc(reps, sizeof(double));
	ratio = calloc(reps, sizeof(double));
	ratio_hold = calloc(reps, sizeof(double));
	if (!as_empty || !hold_drain || !ratio || !ratio_hold)
		die("out of memory");
	pending_fd = open_or_die(SYS "/stats/pending", O_RDONLY);

	set_hold(0);
	/* Warm up both paths: page allocator, vmap area caches, lockdep. */
	set_mode("sync");
	timed_hook_write(path, n);
	set_mode("async");
	timed_hook_write(path, n);
	settle(pending_fd);

	for (r = 0; r < reps; r++) {
		/* Rotate which variant goes first, against drift. */
		for (k = 0; k < NR_C; k++) {
			unsigned long q0, q1, f0, f1, frees;
			uint64_t t, t_end, t_empty;

			v = (k + r) % NR_C;
			set_mode(v == C_SYNC ? "sync" : "async");
			set_hold(v == C_HOLD);
			settle(pending_fd);
			q0 = stat_ul("queued");
			f0 = stat_ul("freed_sync");
			t = timed_hook_write(path, n);
			t_end = now_ns();
			q1 = stat_ul("queued");
			f1 = stat_ul("freed_sync");
			frees = v == C_SYNC ? f1 - f0 : q1 - q0;
			if (frees == 0)
				die("cost: %s %lu freed no kernel page table in %s mode",
				    hook, n, cost_name[v]);
			ns[v][r] = (double)t / frees;
			frees_total[v] += frees;
			if (frees < frees_min[v])
				frees_min[v] = frees;
			if (frees > frees_max[v])
				frees_max[v] = frees;
			if (v == C_ASYNC) {
				t_empty = wait_empty(pending_fd, NULL, NULL);
				as_empty[r] = (double)(t + (t_empty - t_end)) / frees;
			} else if (v == C_HOLD) {
				uint64_t t0 = now_ns();

				drain();
				hold_drain[r] = (double)(now_ns() - t0) / frees;
				set_hold(0);
			}
		}
		ratio[r] = ns[C_ASYNC][r] / ns[C_SYNC][r];
		ratio_hold[r] = ns[C_HOLD][r] / ns[C_SYNC][r];
	}
	set_hold(0);
	set_mode("async");
	settle(pending_fd);

	struct summary sv[NR_C];

	for (v = 0; v < NR_C; v++)
		sv[v] = summarize(ns[v], reps);
	jopen(NULL);
	jstr("hook", hook);
	jnum("frees_per_write", n);
	jnum("reps", reps);
	for (v = 0; v < NR_C; v++) {
		jopen(cost_name[v]);
		jsummary("ns_per_free", sv[v], true);
		if (v == C_ASYNC)
			jsummary("ns_per_free_until_pending_0", summarize(as_empty, reps), false);
		if (v == C_HOLD)
			jsummary("drain_ns_per_page", summarize(hold_drain, reps), false);
		jnum("frees_counted_total", frees_total[v]);
		jnum("frees_counted_per_write_min", frees_min[v]);
		jnum("frees_counted_per_write_max", frees_max[v]);
		jclose();
	}
	jnum("ratio_async_over_sync_of_medians", sv[C_ASYNC].median / sv[C_SYNC].median);
	jsummary("ratio_async_over_sync_paired", summarize(ratio, reps), false);
	jnum("ratio_async_hold_over_sync_of_medians", sv[C_HOLD].median / sv[C_SYNC].median);
	jsummary("ratio_async_hold_over_sync_paired", summarize(ratio_hold, reps), false);
	jclose();
	jend();
	return 0;
}

/* A debugfs hook's value: its files are not seekable, so no pread(). */
static unsigned long read_hook(const char *path)
{
	int fd = open_or_die(path, O_RDONLY);
	char buf[64];
	unsigned long v = parse_ul(buf, read(fd, buf, sizeof(buf) - 1), path);

	close(fd);
	return v;
}

/*
 * ---- cost-async: ns per free in normal operation, counted by the hook ----
 *
 * For kernel variants whose counters may not count (make bench builds one
 * without them): the frees of a write are what the hook reports for it.
 */
static int cmd_cost_async(int argc, char **argv)
{
	const char *hook, *path;
	unsigned long n, reps, r, frees, total = 0;
	int pending_fd;
	double *ns;

	if (argc != 4)
		die("usage: cost-async HOOK N REPS");
	hook = argv[1];
	path = hook_path(hook);
	n = arg_ul(argv[2], "N");
	reps = arg_ul(argv[3], "REPS");
	ns = calloc(reps, sizeof(double));
	if (!ns)
		die("out of memory");
	pending_fd = open_or_die(SYS "/stats/pending", O_RDONLY);

	set_hold(0);
	set_mode("async");
	timed_hook_write(path, n);	/* warm-up */
	settle(pending_fd);
	for (r = 0; r < reps; r++) {
		uint64_t t = timed_hook_write(path, n);

		frees = read_hook(path);
		if (frees == 0)
			die("cost-async: %s %lu freed no kernel page table", hook, n);
		ns[r] = (double)t / frees;
		total += frees;
		settle(pending_fd);
	}

	jopen(NULL);
	jstr("hook", hook);
	jnum("frees_per_write", n);
	jnum("reps", reps);
	jnum("frees_counted_total", total);
	jsummary("ns_per_free", summarize(ns, reps), true);
	jclose();
	jend();
	return 0;
}

/* ---- bursts: batches per burst ---- */

enum variant { V_ASYNC, V_HOLD, V_SYNC, NR_V };
static const char *const variant_name[NR_V] = { "async", "async_hold_then_drain", "sync" };

static int cmd_bursts(int argc, char **argv)
{
	const char *hook, *path;
	unsigned long reps;
	int pending_fd, nsizes, i, v;
	unsigned long r;

	if (argc < 4)
		die("usage: bursts HOOK REPS SIZE...");
	hook = argv[1];
	path = hook_path(hook);
	reps = arg_ul(argv[2], "REPS");
	nsizes = argc - 3;
	pending_fd = open_or_die(SYS "/stats/pending", O_RDONLY);

	double *pages = calloc(reps, sizeof(double));
	double *batches = calloc(reps, sizeof(double));
	double *ppb = calloc(reps, sizeof(double));
	double *lat = calloc(reps, sizeof(double));
	double *wr = calloc(reps, sizeof(double));
	double *pmax = calloc(reps, sizeof(double));
	if (!pages || !batches || !ppb || !lat || !wr || !pmax)
		die("out of memory");

	set_hold(0);
	set_mode("async");
	settle(pending_fd);
	timed_hook_write(path, 100);	/* warm-up */
	settle(pending_fd);

	jopen(NULL);
	jstr("hook", hook);
	jnum("reps", reps);
	jarr_open("bursts");
	for (i = 0; i < nsizes; i++) {
		unsigned long size = arg_ul(argv[3 + i], "SIZE");

		for (v = 0; v < NR_V; v++) {
			for (r = 0; r < reps; r++) {
				unsigned long b0, b1, fr0, fr1, s0, s1;
				uint64_t ns, t_end, t_empty;

				set_mode(v == V_SYNC ? "sync" : "async");
				set_hold(v == V_HOLD);
				settle(pending_fd);
				b0 = stat_ul("batches");
				fr0 = stat_ul("freed");
				s0 = stat_ul("freed_sync");
				ns = timed_hook_write(path, size);
				t_end = now_ns();
				wr[r] = ns;
				lat[r] = 0;
				pmax[r] = 0;
				if (v == V_ASYNC) {
					unsigned long first;

					t_empty = wait_empty(pending_fd, &first, NULL);
					lat[r] = t_empty - t_end;
					pmax[r] = first;
				} else if (v == V_HOLD) {
					unsigned long first = read_fd_ul(pending_fd, "stats/pending");
					uint64_t t0;

					pmax[r] = first;
					/* Time the one drain of the whole burst. */
					t0 = now_ns();
					drain();
					lat[r] = now_ns() - t0;
				}
				/* Wait for a batch in flight to be counted. */
				settle(pending_fd);
				b1 = stat_ul("batches");
				fr1 = stat_ul("freed");
				s1 = stat_ul("freed_sync");
				if (v == V_SYNC) {
					pages[r] = s1 - s0;
					/* One flush per page, each its own batch. */
					batches[r] = s1 - s0;
					if (b1 != b0)
						die("bursts: stats/batches moved by %lu in sync mode",
						    b1 - b0);
				} else {
					pages[r] = fr1 - fr0;
					batches[r] = b1 - b0;
				}
				ppb[r] = batches[r] ? pages[r] / batches[r] : 0;
			}
			if (v == V_HOLD)
				set_hold(0);

			struct summary sp = summarize(pages, reps);
			struct summary sb = summarize(batches, reps);
			struct summary sq = summarize(ppb, reps);

			jopen(NULL);
			jstr("hook", hook);
			jstr("variant", variant_name[v]);
			jstr("mode", v == V_SYNC ? "sync" : "async");
			jbool("hold", v == V_HOLD);
			jnum("burst_frees", size);
			jnum("pages", sp.median);
			jnum("batches", sb.median);
			jnum("pages_per_batch", sq.median);
			jstr("flush_counter", v == V_SYNC ? "stats/freed_sync" : "stats/batches");
			jnum("pages_min", sp.min);
			jnum("pages_max", sp.max);
			jnum("batches_min", sb.min);
			jnum("batches_max", sb.max);
			jnum("pages_per_batch_min", sq.min);
			jnum("pages_per_batch_max", sq.max);
			jnum("batches_per_100_pages_median",
			     sp.median ? 100.0 * sb.median / sp.median : 0);
			jsummary("write_ns", summarize(wr, reps), false);
			if (v == V_ASYNC) {
				jsummary("pending_at_write_return_pages", summarize(pmax, reps), false);
				jsummary("write_return_to_pending_0_ns", summarize(lat, reps), false);
			} else if (v == V_HOLD) {
				jsummary("drain_write_ns", summarize(lat, reps), false);
			}
			jclose();
		}
	}
	jarr_close();
	set_mode("async");
	settle(pending_fd);
	jclose();
	jend();
	return 0;
}

/* ---- latency: write return to pending == 0 ---- */

static void pin(int cpu);

/* Shared with the observer child of the other-CPU series. */
struct observer {
	volatile int phase;		/* OBS_* */
	volatile uint64_t t_end;	/* the write returned */
	volatile uint64_t t_zero;	/* stats/pending first read 0 after it */
	volatile unsigned long first;	/* pending at the first read */
	volatile unsigned long polls;
};
enum { OBS_IDLE, OBS_ENDED, OBS_QUIT };

/*
 * The observer, pinned to another CPU: once the writer has published the
 * end of its write, poll stats/pending until it reads 0, then wake the
 * writer through @done_fd.  The writer sleeps meanwhile, so its own CPU
 * (where the bound work item runs) is free for the work item.
 */
static void observer_loop(struct observer *ob, int cpu, int done_fd)
{
	int pending_fd = open_or_die(SYS "/stats/pending", O_RDONLY);

	pin(cpu);
	for (;;) {
		int phase = ob->phase;
		unsigned long first, polls;

		if (phase == OBS_QUIT)
			_exit(0);
		if (phase != OBS_ENDED) {
			__builtin_ia32_pause();
			continue;
		}
		ob->t_zero = wait_empty(pending_fd, &first, &polls);
		ob->first = first;
		ob->polls = polls;
		ob->phase = OBS_IDLE;
		if (write(done_fd, "x", 1) != 1)
			_exit(1);
	}
}

struct lat_series {
	double *lat, *first, *polls;
	unsigned long zero_at_return;
};

static void lat_json(const char *key, struct lat_series *ls, unsigned long bursts)
{
	struct summary s = summarize(ls->lat, bursts);

	jopen(key);
	jsummary("latency_ns", s, true);
	jnum("latency_ns_worst", s.max);
	jsummary("pending_at_write_return_pages", summarize(ls->first, bursts), false);
	jnum("bursts_already_empty_at_write_return", ls->zero_at_return);
	jsummary("pending_polls", summarize(ls->polls, bursts), false);
	jclose();
}

static int cmd_latency(int argc, char **argv)
{
	const char *hook, *path;
	unsigned long n, bursts, r;
	struct lat_series same = { 0 }, other = { 0 };
	int pending_fd, ncpu, pipefd[2];
	struct observer *ob;
	pid_t obs;

	if (argc != 4)
		die("usage: latency HOOK N BURSTS");
	hook = argv[1];
	path = hook_path(hook);
	n = arg_ul(argv[2], "N");
	bursts = arg_ul(argv[3], "BURSTS");
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	same.lat = calloc(bursts, sizeof(double));
	same.first = calloc(bursts, sizeof(double));
	same.polls = calloc(bursts, sizeof(double));
	other.lat = calloc(bursts, sizeof(double));
	other.first = calloc(bursts, sizeof(double));
	other.polls = calloc(bursts, sizeof(double));
	if (!same.lat || !same.first || !same.polls || !other.lat ||
	    !other.first || !other.polls)
		die("out of memory");
	pending_fd = open_or_die(SYS "/stats/pending", O_RDONLY);

	set_hold(0);
	set_mode("async");
	settle(pending_fd);

	/* What one poll costs: the resolution of everything below. */
	double *rd = calloc(200, sizeof(double));

	if (!rd)
		die("out of memory");
	for (r = 0; r < 200; r++) {
		uint64_t t0 = now_ns();

		read_fd_ul(pending_fd, "stats/pending");
		rd[r] = now_ns() - t0;
	}

	/* Series 1: the writing process polls, right after its write. */
	for (r = 0; r < bursts; r++) {
		unsigned long first, polls;
		uint64_t t_end, t_empty;

		settle(pending_fd);
		timed_hook_write(path, n);
		t_end = now_ns();
		t_empty = wait_empty(pending_fd, &first, &polls);
		same.lat[r] = t_empty - t_end;
		same.first[r] = first;
		same.polls[r] = polls;
		if (first == 0)
			same.zero_at_return++;
	}
	settle(pending_fd);

	/* Series 2: the writer on CPU 0 sleeps, a process on CPU 1 polls. */
	if (ncpu >= 2) {
		ob = mmap(NULL, sizeof(*ob), PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (ob == MAP_FAILED)
			die("mmap: %s", strerror(errno));
		if (pipe(pipefd))
			die("pipe: %s", strerror(errno));
		ob->phase = OBS_IDLE;
		obs = fork();
		if (obs < 0)
			die("fork: %s", strerror(errno));
		if (obs == 0) {
			close(pipefd[0]);
			observer_loop(ob, 1, pipefd[1]);
		}
		close(pipefd[1]);
		pin(0);
		for (r = 0; r < bursts; r++) {
			char c;

			settle(pending_fd);
			timed_hook_write(path, n);
			ob->t_end = now_ns();
			__sync_synchronize();
			ob->phase = OBS_ENDED;
			if (read(pipefd[0], &c, 1) != 1)
				die("latency: the observer died");
			other.lat[r] = ob->t_zero > ob->t_end ? ob->t_zero - ob->t_end : 0;
			other.first[r] = ob->first;
			other.polls[r] = ob->polls;
			if (ob->first == 0)
				other.zero_at_return++;
		}
		ob->phase = OBS_QUIT;
		waitpid(obs, NULL, 0);
		settle(pending_fd);
	}

	jopen(NULL);
	jstr("hook", hook);
	jnum("frees_per_burst", n);
	jnum("bursts", bursts);
	jsummary("pending_read_ns", summarize(rd, 200), false);
	/* The headline: the writer itself polls, as a script would. */
	jsummary("latency_ns", summarize(same.lat, bursts), true);
	jnum("latency_ns_worst", summarize(same.lat, bursts).max);
	lat_json("writer_polls", &same, bursts);
	if (ncpu >= 2)
		lat_json("other_cpu_polls_writer_sleeps", &other, bursts);
	jclose();
	jend();
	return 0;
}

/* ---- contend: every CPU frees at once ---- */

struct shared {
	volatile int ready;
	volatile int go;
	struct {
		uint64_t t0, t1;
		int cpu;
		int ok;
	} res[64];
};

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity(cpu %d): %s", cpu, strerror(errno));
}

/* Run one write of @n frees on each CPU of @cpus[0..k-1], all at once. */
static void run_on_cpus(struct shared *sh, const char *path, unsigned long n,
			const int *cpus, int k)
{
	pid_t pids[64];
	int i, status;
	char num[32];
	size_t len = snprintf(num, sizeof(num), "%lu", n);

	memset(sh, 0, sizeof(*sh));
	__sync_synchronize();
	for (i = 0; i < k; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			die("fork: %s", strerror(errno));
		if (pids[i] == 0) {
			int fd;
			ssize_t w;

			pin(cpus[i]);
			fd = open_or_die(path, O_WRONLY);
			__sync_fetch_and_add(&sh->ready, 1);
			while (!sh->go)
				__builtin_ia32_pause();
			sh->res[i].t0 = now_ns();
			w = write(fd, num, len);
			sh->res[i].t1 = now_ns();
			sh->res[i].cpu = sched_getcpu();
			sh->res[i].ok = w == (ssize_t)len;
			_exit(0);
		}
	}
	while (sh->ready < k)
		usleep(1000);
	__sync_synchronize();
	sh->go = 1;
	for (i = 0; i < k; i++) {
		if (waitpid(pids[i], &status, 0) < 0)
			die("waitpid: %s", strerror(errno));
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			die("contend: a child failed");
		if (!sh->res[i].ok)
			die("contend: the write to %s failed on cpu %d", path, cpus[i]);
		if (sh->res[i].cpu != cpus[i])
			die("contend: child ran on cpu %d, not %d", sh->res[i].cpu, cpus[i]);
	}
}

static int cmd_contend(int argc, char **argv)
{
	const char *hook, *path;
	unsigned long n, reps, r;
	int ncpu, i, pending_fd, cpus[64];
	struct shared *sh;
	double *alone, *all, *agg;
	size_t nall = 0;
	unsigned long b0, b1, f0, f1;

	const char *mode = argc == 5 ? argv[4] : "async";

	if (argc != 4 && argc != 5)
		die("usage: contend HOOK N REPS [async|sync]");
	if (strcmp(mode, "async") && strcmp(mode, "sync"))
		die("contend: bad mode %s", mode);
	hook = argv[1];
	path = hook_path(hook);
	n = arg_ul(argv[2], "N");
	reps = arg_ul(argv[3], "REPS");
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1 || ncpu > 64)
		die("contend: %d CPUs online", ncpu);
	for (i = 0; i < ncpu; i++)
		cpus[i] = i;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	alone = calloc(reps, sizeof(double));
	all = calloc(reps * ncpu, sizeof(double));
	agg = calloc(reps, sizeof(double));
	if (!alone || !all || !agg)
		die("out of memory");
	pending_fd = open_or_die(SYS "/stats/pending", O_RDONLY);

	set_hold(0);
	set_mode(mode);
	settle(pending_fd);
	run_on_cpus(sh, path, n, cpus, ncpu);	/* warm-up */
	settle(pending_fd);
	b0 = stat_ul("batches");
	f0 = stat_ul("freed");
	for (r = 0; r < reps; r++) {
		int one = r % ncpu;	/* each CPU takes its turn alone */
		uint64_t first = UINT64_MAX, last = 0;

		run_on_cpus(sh, path, n, &one, 1);
		alone[r] = (double)(sh->res[0].t1 - sh->res[0].t0) / n;
		settle(pending_fd);

		run_on_cpus(sh, path, n, cpus, ncpu);
		for (i = 0; i < ncpu; i++) {
			all[nall++] = (double)(sh->res[i].t1 - sh->res[i].t0) / n;
			if (sh->res[i].t0 < first)
				first = sh->res[i].t0;
			if (sh->res[i].t1 > last)
				last = sh->res[i].t1;
		}
		/* Wall time per free of all CPUs together. */
		agg[r] = (double)(last - first) / ((double)n * ncpu);
		settle(pending_fd);
	}
	b1 = stat_ul("batches");
	f1 = stat_ul("freed");
	set_mode("async");
	settle(pending_fd);

	struct summary sa = summarize(alone, reps), sl = summarize(all, nall);
	struct summary sg = summarize(agg, reps);

	jopen(NULL);
	jstr("hook", hook);
	jstr("mode", mode);
	jnum("cpus", ncpu);
	jnum("frees_per_cpu_per_rep", n);
	jnum("reps", reps);
	jopen("one_cpu_alone");
	jsummary("ns_per_free", sa, false);
	jclose();
	jopen("all_cpus_at_once");
	jsummary("ns_per_free_per_cpu", sl, false);
	jsummary("wall_ns_per_free_all_cpus", sg, false);
	/* Fairness: is one CPU's writer starved while the others run? */
	jarr_open("ns_per_free_median_by_cpu");
	for (i = 0; i < ncpu; i++) {
		double *col = calloc(reps, sizeof(double));

		if (!col)
			die("out of memory");
		for (r = 0; r < reps; r++)
			col[r] = all[r * ncpu + i];
		printf("%s%lld", i ? "," : "", round_ll(summarize(col, reps).median));
		free(col);
	}
	jarr_close();
	jclose();
	jnum("ratio_all_cpus_per_cpu_over_alone_of_medians", sl.median / sa.median);
	jnum("ratio_wall_per_free_all_over_alone_of_medians", sg.median / sa.median);
	if (!strcmp(mode, "async"))
		jnum("pages_per_batch_overall", b1 > b0 ? (double)(f1 - f0) / (b1 - b0) : 0);
	jclose();
	jend();
	return 0;
}

/* ---- pgtfree ---- */

static pid_t spawn(char **argv, int out_fd)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (null < 0)
			_exit(127);
		dup2(null, 0);
		dup2(out_fd >= 0 ? out_fd : null, 1);
		dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int cmd_exec_time(int argc, char **argv)
{
	unsigned long reps, r;
	double *t;
	int status;

	if (argc < 3)
		die("usage: exec-time REPS CMD...");
	reps = arg_ul(argv[1], "REPS");
	t = calloc(reps, sizeof(double));
	if (!t)
		die("out of memory");
	/* One untimed run: page cache over 9p, dynamic loader. */
	if (waitpid(spawn(argv + 2, -1), &status, 0) < 0 ||
	    !WIFEXITED(status) || WEXITSTATUS(status))
		die("exec-time: %s failed", argv[2]);
	for (r = 0; r < reps; r++) {
		uint64_t t0 = now_ns();
		pid_t pid = spawn(argv + 2, -1);

		if (waitpid(pid, &status, 0) < 0)
			die("waitpid: %s", strerror(errno));
		t[r] = now_ns() - t0;
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			die("exec-time: %s exited with status %d", argv[2],
			    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}

	struct summary s = summarize(t, reps);
	char cmd[256] = "";

	for (int i = 2; i < argc; i++) {
		strncat(cmd, argv[i], sizeof(cmd) - strlen(cmd) - 2);
		if (i + 1 < argc)
			strcat(cmd, " ");
	}
	jopen(NULL);
	jstr("command", cmd);
	jnum("runs", reps);
	for (int i = 0; i < 1; i++) {
		/* microseconds read better than ns for a process */
		struct summary us = s;

		us.median /= 1000; us.p10 /= 1000; us.p90 /= 1000;
		us.min /= 1000; us.max /= 1000; us.mean /= 1000;
		jsummary("wall_us", us, true);
	}
	jclose();
	jend();
	return 0;
}

static int cmd_cpu_time(int argc, char **argv)
{
	double secs;
	int pipefd[2], status;
	unsigned long lines = 0;
	uint64_t t0, deadline, t_end;
	struct rusage ru;
	pid_t pid;
	char buf[4096];

	if (argc < 3)
		die("usage: cpu-time SECS CMD...");
	secs = atof(argv[1]);
	if (secs <= 0)
		die("bad SECS: %s", argv[1]);
	if (pipe2(pipefd, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	t0 = now_ns();
	deadline = t0 + (uint64_t)(secs * 1e9);
	pid = spawn(argv + 2, pipefd[1]);
	close(pipefd[1]);
	for (;;) {
		uint64_t t = now_ns();
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };
		int timeout_ms;
		ssize_t n;

		if (t >= deadline)
			break;
		timeout_ms = (int)((deadline - t + 999999) / 1000000);
		if (poll(&pfd, 1, timeout_ms) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (!pfd.revents)
			continue;
		n = read(pipefd[0], buf, sizeof(buf));
		if (n < 0)
			die("read: %s", strerror(errno));
		if (n == 0)
			die("cpu-time: %s exited before %g s", argv[2], secs);
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	}
	kill(pid, SIGTERM);
	if (wait4(pid, &status, 0, &ru) < 0)
		die("wait4: %s", strerror(errno));
	t_end = now_ns();
	close(pipefd[0]);

	double ut = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3;
	double st = ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
	double wall = (t_end - t0) / 1e6;
	char cmd[256] = "";

	for (int i = 2; i < argc; i++) {
		strncat(cmd, argv[i], sizeof(cmd) - strlen(cmd) - 2);
		if (i + 1 < argc)
			strcat(cmd, " ");
	}
	jopen(NULL);
	jstr("command", cmd);
	jnum("wall_ms", round_ll(wall));
	jnum("utime_ms", ut);
	jnum("stime_ms", st);
	jnum("cpu_ms", ut + st);
	jnum("cpu_percent_of_one_cpu", 100.0 * (ut + st) / wall);
	jnum("lines_printed", lines);
	jbool("exited_on_sigterm_cleanly", WIFEXITED(status) && WEXITSTATUS(status) == 0);
	jclose();
	jend();
	return 0;
}

/* ---- env: what the timings can resolve ---- */

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (!f)
		return;
	if (fgets(buf, len, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static int cmd_env(int argc, char **argv)
{
	struct timespec res;
	uint64_t prev, t, step = UINT64_MAX, t0;
	char cs[64], avail[256], release[128], version[256];
	unsigned long samples = 0;

	(void)argc; (void)argv;
	clock_getres(CLOCK_MONOTONIC, &res);
	/* The smallest non-zero step of the clock, over 20 ms at most. */
	t0 = prev = now_ns();
	while ((t = now_ns()) - t0 < 20000000ULL && samples < 200000) {
		if (t != prev && t - prev < step)
			step = t - prev;
		prev = t;
		samples++;
	}
	read_line("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		  cs, sizeof(cs));
	read_line("/sys/devices/system/clocksource/clocksource0/available_clocksource",
		  avail, sizeof(avail));
	read_line("/proc/sys/kernel/osrelease", release, sizeof(release));
	read_line("/proc/sys/kernel/version", version, sizeof(version));
	jopen(NULL);
	jstr("kernel_release", release);
	jstr("kernel_version", version);
	jnum("cpus_online", sysconf(_SC_NPROCESSORS_ONLN));
	jstr("clocksource", cs);
	jstr("clocksources_available", avail);
	jnum("clock_getres_ns", res.tv_sec * 1e9 + res.tv_nsec);
	jnum("clock_smallest_step_ns", step == UINT64_MAX ? 0 : (double)step);
	double ms = (double)(prev - t0) / 1e6;

	jnum("clock_reads_per_ms", round_ll(samples / (ms > 0 ? ms : 1)));
	jclose();
	jend();
	return 0;
}

/* ---- price, window, trace: one burst, measured whole ---- */

#define TRACE_ENABLE	"/sys/kernel/tracing/events/pgtable_free/enable"

static void write_ul(const char *path, unsigned long v)
{
	char num[32];

	snprintf(num, sizeof(num), "%lu", v);
	write_str(path, num);
}

/* Reads stats/pending every 200 us while a burst runs: its highest value. */
struct sampler {
	pthread_t thread;
	volatile bool stop;
	unsigned long max;
};

static void *sampler_fn(void *arg)
{
	struct sampler *s = arg;
	int fd = open_or_die(SYS "/stats/pending", O_RDONLY);
	unsigned long v;

	while (!s->stop) {
		v = read_fd_ul(fd, "stats/pending");
		if (v > s->max)
			s->max = v;
		usleep(200);
	}
	close(fd);
	return NULL;
}

/* CPU time the whole guest spent busy (not idle or iowait), in ns. */
static double cpu_busy_ns(void)
{
	unsigned long long v[10] = { 0 }, busy = 0;
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		die("/proc/stat: %s", strerror(errno));
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		die("/proc/stat: no cpu line");
	/* user nice system [idle] [iowait] irq softirq steal */
	busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	return (double)busy * 1e9 / sysconf(_SC_CLK_TCK);
}

struct burst {
	double cpu_ns_per_free;		/* busy CPU time of the guest */
	double writer_ns_per_free;	/* the write alone */
	double total_ns_per_free;	/* write start until pending reads 0 */
	double latency_ns;		/* write return until pending reads 0 */
	double pages, batches, invalidations, pages_per_batch, pending_max;
};

/*
 * One burst of @n frees through the hook at @path, from an empty list:
 * pages counts stats/queued and stats/freed_sync, so both modes compare.
 */
static struct burst run_burst(const char *path, unsigned long n, int pending_fd)
{
	unsigned long q0, s0, b0, i0;
	struct sampler smp = { 0 };
	struct burst b;
	uint64_t t0, t1, t2;
	double c0;

	settle(pending_fd);
	q0 = stat_ul("queued");
	s0 = stat_ul("freed_sync");
	b0 = stat_ul("batches");
	i0 = stat_ul("invalidations");
	if (pthread_create(&smp.thread, NULL, sampler_fn, &smp))
		die("pthread_create failed");
	c0 = cpu_busy_ns();
	t0 = now_ns();
	t1 = t0 + timed_hook_write(path, n);
	t2 = wait_empty(pending_fd, NULL, NULL);
	smp.stop = true;
	pthread_join(smp.thread, NULL);
	b.cpu_ns_per_free = cpu_busy_ns() - c0;
	/* The batch that emptied the list has counted itself once a drain can run. */
	drain();
	b.pages = stat_ul("queued") - q0 + stat_ul("freed_sync") - s0;
	b.batches = stat_ul("batches") - b0;
	b.invalidations = stat_ul("invalidations") - i0;
	if (b.pages < n)
		die("%s %lu: only %.0f kernel page tables freed", path, n, b.pages);
	b.cpu_ns_per_free /= b.pages;
	b.writer_ns_per_free = (double)(t1 - t0) / b.pages;
	b.total_ns_per_free = (double)(t2 - t0) / b.pages;
	b.latency_ns = t2 > t1 ? (double)(t2 - t1) : 0;
	b.pages_per_batch = b.batches ? b.pages / b.batches : b.pages;
	b.pending_max = smp.max;
	return b;
}

enum burst_key {
	B_CPU, B_WRITER, B_TOTAL, B_LATENCY, B_PAGES, B_BATCHES, B_INVAL,
	B_PER_BATCH, B_PENDING_MAX, B_WAIT_MAX, NR_BURST_KEYS
};

struct burst_series {
	double *v[NR_BURST_KEYS];
	size_t n;
};

static const char *const burst_keys[NR_BURST_KEYS] = {
	[B_CPU] = "cpu_ns_per_free", [B_WRITER] = "writer_ns_per_free",
	[B_TOTAL] = "total_ns_per_free", [B_LATENCY] = "latency_ns",
	[B_PAGES] = "pages", [B_BATCHES] = "batches",
	[B_INVAL] = "invalidations", [B_PER_BATCH] = "pages_per_batch",
	[B_PENDING_MAX] = "pending_max_seen", [B_WAIT_MAX] = "wait_max_ms",
};

static void series_init(struct burst_series *s, size_t reps)
{
	for (int k = 0; k < NR_BURST_KEYS; k++) {
		s->v[k] = calloc(reps, sizeof(double));
		if (!s->v[k])
			die("out of memory");
	}
	s->n = 0;
}

static void series_add(struct burst_series *s, struct burst b, double wait_ms)
{
	double vals[NR_BURST_KEYS] = {
		[B_CPU] = b.cpu_ns_per_free, [B_WRITER] = b.writer_ns_per_free,
		[B_TOTAL] = b.total_ns_per_free, [B_LATENCY] = b.latency_ns,
		[B_PAGES] = b.pages, [B_BATCHES] = b.batches,
		[B_INVAL] = b.invalidations, [B_PER_BATCH] = b.pages_per_batch,
		[B_PENDING_MAX] = b.pending_max, [B_WAIT_MAX] = wait_ms,
	};

	for (int k = 0; k < NR_BURST_KEYS; k++)
		s->v[k][s->n] = vals[k];
	s->n++;
}

/* Median, min and max of each figure; wait_max_ms only where measured. */
static void jseries(const char *key, struct burst_series *s, bool wait)
{
	jopen(key);
	for (int k = 0; k < NR_BURST_KEYS; k++) {
		struct summary m = summarize(s->v[k], s->n);
		char name[64];

		if (k == B_WAIT_MAX && !wait)
			continue;
		snprintf(name, sizeof(name), "%s_median", burst_keys[k]);
		jnum(name, m.median >= 100 ? (double)round_ll(m.median) : m.median);
		snprintf(name, sizeof(name), "%s_min", burst_keys[k]);
		jnum(name, m.min >= 100 ? (double)round_ll(m.min) : m.min);
		snprintf(name, sizeof(name), "%s_max", burst_keys[k]);
		jnum(name, m.max >= 100 ? (double)round_ll(m.max) : m.max);
	}
	jclose();
}

/* A ratio per repetition, then its median, min and max. */
static void jratio(const char *key, const double *num, const double *den, size_t n)
{
	double *r = calloc(n, sizeof(double));
	struct summary m;
	char name[96];

	if (!r)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		r[i] = den[i] ? num[i] / den[i] : 0;
	m = summarize(r, n);
	snprintf(name, sizeof(name), "%s_median", key);
	jnum(name, m.median);
	snprintf(name, sizeof(name), "%s_min", key);
	jnum(name, m.min);
	snprintf(name, sizeof(name), "%s_max", key);
	jnum(name, m.max);
	free(r);
}

/*
 * price HOOK N REPS COST_US...: with the fake SVA address spaces bound,
 * each invalidation busy-waits COST_US per address space; bursts of N
 * frees in async and sync mode, alternating, REPS times per cost.
 */
static int cmd_price(int argc, char **argv)
{
	unsigned long n, reps, mms, *costs;
	const char *path;
	int pending_fd;

	if (argc < 5)
		die("usage: price HOOK N REPS COST_US...");
	path = hook_path(argv[1]);
	n = arg_ul(argv[2], "N");
	reps = arg_ul(argv[3], "REPS");
	costs = arg_list(argc - 4, argv + 4, "COST_US");
	mms = read_hook(HOOKS "/sva_bind");
	if (!mms)
		die("price: no fake SVA address space bound (write N to %s/sva_bind)", HOOKS);
	pending_fd = open_or_die(SYS "/stats/pending", O_RDONLY);

	jopen(NULL);
	jstr("hook", argv[1]);
	jnum("frees_per_burst", n);
	jnum("reps", reps);
	jnum("sva_mms", mms);
	jarr_open("rows");
	for (int c = 0; c < argc - 4; c++) {
		unsigned long cost = costs[c];
		struct burst_series as, sy;

		series_init(&as, reps);
		series_init(&sy, reps);
		write_ul(HOOKS "/sva_cost_us", cost);
		for (unsigned long r = 0; r < reps; r++) {
			for (int i = 0; i < 2; i++) {
				bool sync = (i + r) & 1;

				set_mode(sync ? "sync" : "async");
				series_add(sync ? &sy : &as,
					   run_burst(path, n, pending_fd), 0);
			}
		}
		set_mode("async");
		jopen(NULL);
		jnum("cost_us", cost);
		jseries("async", &as, false);
		jseries("sync", &sy, false);
		jratio("ratio_sync_over_async_cpu", sy.v[B_CPU], as.v[B_CPU], reps);
		jratio("ratio_sync_over_async_total", sy.v[B_TOTAL], as.v[B_TOTAL], reps);
		jratio("ratio_sync_over_async_writer", sy.v[B_WRITER], as.v[B_WRITER], reps);
		jclose();
	}
	write_ul(HOOKS "/sva_cost_us", 0);
	free(costs);
	jarr_close();
	jclose();
	jend();
	return 0;
}

/*
 * window HOOK N REPS MS...: async bursts of N frees with each batching
 * window in turn (0 is mainline's: the work item queued at once).
 */
static int cmd_window(int argc, char **argv)
{
	unsigned long n, reps, orig, *ms;
	int nw = argc - 4, pending_fd;
	struct burst_series *s;
	const char *path;

	if (argc < 5)
		die("usage: window HOOK N REPS MS...");
	path = hook_path(argv[1]);
	n = arg_ul(argv[2], "N");
	reps = arg_ul(argv[3], "REPS");
	ms = arg_list(nw, argv + 4, "MS");
	orig = read_hook(HOOKS "/window_ms");
	s = calloc(nw, sizeof(*s));
	if (!s)
		die("out of memory");
	for (int w = 0; w < nw; w++)
		series_init(&s[w], reps);
	pending_fd = open_or_die(SYS "/stats/pending", O_RDONLY);
	set_mode("async");
	for (unsigned long r = 0; r < reps; r++) {
		for (int i = 0; i < nw; i++) {
			int w = (i + r) % nw;
			struct burst b;

			write_ul(HOOKS "/window_ms", ms[w]);
			write_ul(HOOKS "/wait_max_ms", 0);
			b = run_burst(path, n, pending_fd);
			series_add(&s[w], b, read_hook(HOOKS "/wait_max_ms"));
		}
	}
	write_ul(HOOKS "/window_ms", orig);

	jopen(NULL);
	jstr("hook", argv[1]);
	jnum("frees_per_burst", n);
	jnum("reps", reps);
	jnum("sva_mms", read_hook(HOOKS "/sva_bind"));
	jnum("sva_cost_us", read_hook(HOOKS "/sva_cost_us"));
	jarr_open("rows");
	for (int w = 0; w < nw; w++) {
		jopen(NULL);
		jnum("window_ms", ms[w]);
		jseries("async", &s[w], true);
		jclose();
	}
	free(ms);
	jarr_close();
	jclose();
	jend();
	return 0;
}

/*
 * trace HOOK N REPS: the free path with the pgtable_free events off and
 * on, alternating: ns per free of the write (the queueing, in async mode).
 */
static int cmd_trace(int argc, char **argv)
{
	unsigned long n, reps;
	struct burst_series off, on;
	const char *path;
	int pending_fd;

	if (argc != 4)
		die("usage: trace HOOK N REPS");
	path = hook_path(argv[1]);
	n = arg_ul(argv[2], "N");
	reps = arg_ul(argv[3], "REPS");
	if (access(TRACE_ENABLE, W_OK))
		die("trace: %s: %s (tracefs not mounted, or no pgtable_free events)",
		    TRACE_ENABLE, strerror(errno));
	series_init(&off, reps);
	series_init(&on, reps);
	pending_fd = open_or_die(SYS "/stats/pending", O_RDONLY);
	set_mode("async");
	for (unsigned long r = 0; r < reps; r++) {
		for (int i = 0; i < 2; i++) {
			bool enable = (i + r) & 1;

			write_str(TRACE_ENABLE, enable ? "1" : "0");
			series_add(enable ? &on : &off,
				   run_burst(path, n, pending_fd), 0);
		}
	}
	write_str(TRACE_ENABLE, "0");
	/* Empty the buffer the events filled. */
	close(open_or_die("/sys/kernel/tracing/trace", O_WRONLY | O_TRUNC));

	jopen(NULL);
	jstr("hook", argv[1]);
	jnum("frees_per_burst", n);
	jnum("reps", reps);
	jseries("events_off", &off, false);
	jseries("events_on", &on, false);
	jratio("ratio_on_over_off_writer", on.v[B_WRITER], off.v[B_WRITER], reps);
	jclose();
	jend();
	return 0;
}

/*
 * queues N REPS: the in-kernel queue benchmark (test hook queue_bench),
 * each design with and without counters, on one CPU and on all at once.
 */
static const char *const qb_designs[] = { "spin", "llist", "percpu" };
#define NR_QB	3

static void qb_one(const char *design, int counters, unsigned long n,
		   long cpus, double *enq_ps, double *take_ns, double *wall_ns)
{
	char cmd[96], buf[256], *p;
	ssize_t len;
	int fd;

	snprintf(cmd, sizeof(cmd), "%s %d %lu %ld", design, counters, n, cpus);
	write_str(HOOKS "/queue_bench", cmd);
	fd = open_or_die(HOOKS "/queue_bench", O_RDONLY);
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		die("queue_bench: no result for '%s'", cmd);
	buf[len] = '\0';
	p = strstr(buf, "enqueue_ps=");
	if (!p || sscanf(p, "enqueue_ps=%lf wall_ns=%lf take_ns=%lf",
			 enq_ps, wall_ns, take_ns) != 3)
		die("queue_bench: cannot parse '%s'", buf);
}

static int cmd_queues(int argc, char **argv)
{
	long all = sysconf(_SC_NPROCESSORS_ONLN);
	long cpus_list[2] = { 1, all };
	unsigned long n, reps;
	double *e[2][NR_QB][2], *t[2][NR_QB][2], wall;

	if (argc != 3)
		die("usage: queues N REPS");
	n = arg_ul(argv[1], "N");
	reps = arg_ul(argv[2], "REPS");
	for (int c = 0; c < 2; c++)
		for (int d = 0; d < NR_QB; d++)
			for (int k = 0; k < 2; k++) {
				e[c][d][k] = calloc(reps, sizeof(double));
				t[c][d][k] = calloc(reps, sizeof(double));
				if (!e[c][d][k] || !t[c][d][k])
					die("out of memory");
			}
	/* Every combination once per repetition, the order rotating. */
	for (unsigned long r = 0; r < reps; r++)
		for (int i = 0; i < 2 * NR_QB * 2; i++) {
			int j = (i + r) % (2 * NR_QB * 2);
			int c = j / (NR_QB * 2), d = j / 2 % NR_QB, k = j % 2;

			qb_one(qb_designs[d], k, n, cpus_list[c], &e[c][d][k][r],
			       &t[c][d][k][r], &wall);
		}

	jopen(NULL);
	jnum("enqueues_per_cpu", n);
	jnum("reps", reps);
	jarr_open("rows");
	for (int c = 0; c < 2; c++)
		for (int d = 0; d < NR_QB; d++) {
			jopen(NULL);
			jstr("design", qb_designs[d]);
			jnum("cpus", cpus_list[c]);
			for (int k = 0; k < 2; k++) {
				char key[64];

				snprintf(key, sizeof(key), "enqueue_ps_counters%d", k);
				jsummary(key, summarize(e[c][d][k], reps), false);
				snprintf(key, sizeof(key), "take_ns_counters%d", k);
				jsummary(key, summarize(t[c][d][k], reps), false);
			}
			jratio("ratio_counters_on_over_off", e[c][d][1], e[c][d][0], reps);
			jratio("ratio_over_spin", e[c][d][1], e[c][0][1], reps);
			jclose();
		}
	jarr_close();
	jclose();
	jend();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		die("usage: pgtbench cost|cost-async|bursts|latency|contend|price|window|trace|queues|exec-time|cpu-time ...");
	/* stdout is the JSON; keep it whole even when piped. */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (!strcmp(argv[1], "env"))
		return cmd_env(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cost"))
		return cmd_cost(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cost-async"))
		return cmd_cost_async(argc - 1, argv + 1);
	if (!strcmp(argv[1], "bursts"))
		return cmd_bursts(argc - 1, argv + 1);
	if (!strcmp(argv[1], "latency"))
		return cmd_latency(argc - 1, argv + 1);
	if (!strcmp(argv[1], "contend"))
		return cmd_contend(argc - 1, argv + 1);
	if (!strcmp(argv[1], "price"))
		return cmd_price(argc - 1, argv + 1);
	if (!strcmp(argv[1], "window"))
		return cmd_window(argc - 1, argv + 1);
	if (!strcmp(argv[1], "trace"))
		return cmd_trace(argc - 1, argv + 1);
	if (!strcmp(argv[1], "queues"))
		return cmd_queues(argc - 1, argv + 1);
	if (!strcmp(argv[1], "exec-time"))
		return cmd_exec_time(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cpu-time"))
		return cmd_cpu_time(argc - 1, argv + 1);
	die("unknown command %s", argv[1]);
	return 1;
}
