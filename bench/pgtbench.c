// SPDX-License-Identifier: GPL-2.0
/*
 * pgtbench: the guest side of `make bench`.
 *
 * Runs inside the test guest as root, with the test module pgtable_free_test
 * loaded, and drives the pgtable_free sysfs controls and the module's
 * debugfs files.  Each subcommand prints one JSON object on stdout;
 * scripts/bench assembles them into build/bench.json.
 *
 *   pgtbench env                      kernel, CPUs, clock resolution
 *   pgtbench cost N REPS              ns per free: async, async held, sync
 *   pgtbench bursts REPS SIZE...      batches and invalidations per burst
 *   pgtbench latency N BURSTS         write return -> every page freed
 *   pgtbench wait REPS SIZE...        queue -> batch of each table (tracing)
 *   pgtbench trace N REPS             the free path, events off vs on
 *   pgtbench contend N REPS [MODE]    frees from every CPU at once vs one
 *   pgtbench exec-time REPS CMD...    wall time of a command
 *   pgtbench cpu-time SECS CMD...     CPU time of a command run for SECS
 *
 * The frees are the test module's alloc_free: N kernel page tables
 * allocated and freed through the page table allocators, of each level in
 * turn.  Every time is CLOCK_MONOTONIC in the guest.  Under QEMU TCG the
 * absolute values say little about hardware; compare variants of one boot.
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
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SYS		"/sys/kernel/mm/pgtable_free"
#define HOOKS		"/sys/kernel/debug/pgtable_free/test"
#define ALLOC_FREE	HOOKS "/alloc_free"
#define TRACE_ENABLE	"/sys/kernel/tracing/events/pgtable_free/enable"

/* The most tables one write to alloc_free frees (the module's limit). */
#define HOOK_MAX	1000000UL

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

static void *zalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		die("out of memory");
	return p;
}

/* ---- arguments: all checked before the first file is touched ---- */

/* A decimal number in [min, max]; anything else ends the program. */
static unsigned long arg_num(const char *s, const char *what,
			     unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)*s) || errno || *end || v < min)
		die("bad %s: %s", what, s);
	if (v > max)
		die("bad %s: %s (at most %lu)", what, s, max);
	return v;
}

/* A number of repetitions. */
static unsigned long arg_reps(const char *s, const char *what)
{
	return arg_num(s, what, 1, 100000);
}

/* A number of frees for one write to alloc_free. */
static unsigned long arg_frees(const char *s, const char *what)
{
	return arg_num(s, what, 1, HOOK_MAX);
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

/* One read from the start: debugfs files of the module are not seekable. */
static unsigned long read_ul(const char *path)
{
	int fd = open_or_die(path, O_RDONLY);
	char buf[64];
	unsigned long v = parse_ul(buf, read(fd, buf, sizeof(buf) - 1), path);

	close(fd);
	return v;
}

static unsigned long stat_ul(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), SYS "/stats/%s", name);
	return read_ul(path);
}

static void write_str(const char *path, const char *s)
{
	int fd = open_or_die(path, O_WRONLY);
	ssize_t n = write(fd, s, strlen(s));

	if (n != (ssize_t)strlen(s))
		die("write '%s' to %s: %s", s, path,
		    n < 0 ? strerror(errno) : "short write");
	close(fd);
}

static void write_ul(const char *path, unsigned long v)
{
	char num[32];

	snprintf(num, sizeof(num), "%lu", v);
	write_str(path, num);
}

static void set_mode(const char *mode)
{
	write_str(SYS "/mode", mode);
}

static void set_hold(int hold)
{
	write_ul(HOOKS "/hold", hold);
}

/* Bind @n fake SVA address spaces (0 unbinds them), if not bound already. */
static void sva_bind(unsigned long n)
{
	if (read_ul(HOOKS "/sva_bind") != n)
		write_ul(HOOKS "/sva_bind", n);
}

/* Frees every page pending when it starts; waits for the work item. */
static void drain(void)
{
	write_str(SYS "/drain", "1");
}

/*
 * Free what is pending: the drain returns once every page pending when it
 * began is freed and its batch counted.
 */
static void settle(void)
{
	drain();
}

/* The state every measurement starts from: async, nothing held or bound. */
static void reset_state(void)
{
	if (access(ALLOC_FREE, W_OK))
		die("%s: %s (modprobe pgtable_free_test first)", ALLOC_FREE,
		    strerror(errno));
	set_hold(0);
	sva_bind(0);
	set_mode("async");
	settle();
}

/*
 * Write @n to alloc_free; *t0 and *t1 bracket the write() system call and
 * nothing else.
 */
static void alloc_free_at(unsigned long n, uint64_t *t0, uint64_t *t1)
{
	int fd = open_or_die(ALLOC_FREE, O_WRONLY);
	char num[32];
	ssize_t w;
	size_t len;

	len = snprintf(num, sizeof(num), "%lu", n);
	*t0 = now_ns();
	w = write(fd, num, len);
	*t1 = now_ns();
	if (w != (ssize_t)len)
		die("write %lu to %s: %s", n, ALLOC_FREE,
		    w < 0 ? strerror(errno) : "short write");
	close(fd);
}

/* The same, returning the write's duration in ns. */
static uint64_t timed_alloc_free(unsigned long n)
{
	uint64_t t0, t1;

	alloc_free_at(n, &t0, &t1);
	return t1 - t0;
}

/*
 * Poll stats/pending (one pread each time round) until it reads 0.
 * Returns the time it first read 0; *first is the first value read.
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
	v = zalloc(n, sizeof(*v));
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

/* Values of 100 and up rounded to the unit. */
static void jval(const char *prefix, const char *suffix, double v)
{
	char key[128];

	snprintf(key, sizeof(key), "%s_%s", prefix, suffix);
	jnum(key, v >= 100 ? (double)round_ll(v) : v);
}

/* prefix_median, prefix_p10, prefix_p90, prefix_min, prefix_max[, _mean] */
static void jsummary(const char *prefix, struct summary s, bool mean)
{
	jval(prefix, "median", s.median);
	jval(prefix, "p10", s.p10);
	jval(prefix, "p90", s.p90);
	jval(prefix, "min", s.min);
	jval(prefix, "max", s.max);
	if (mean)
		jval(prefix, "mean", s.mean);
}

/* prefix_median, prefix_min, prefix_max of @n values */
static void jmmm(const char *prefix, const double *v, size_t n)
{
	struct summary s = summarize(v, n);

	jval(prefix, "median", s.median);
	jval(prefix, "min", s.min);
	jval(prefix, "max", s.max);
}

/* A ratio per repetition, then its median, min and max. */
static void jratio(const char *key, const double *num, const double *den, size_t n)
{
	double *r = zalloc(n, sizeof(double));
	struct summary m;
	char name[96];

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

static void jend(void)
{
	putchar('\n');
	if (fflush(stdout) || ferror(stdout))
		die("write stdout: %s", strerror(errno));
}

/* ---- cost: ns per free, async vs sync ---- */

/*
 * Variants of the free path, nothing bound:
 *   async       normal operation: the work item may run during the write
 *   async_hold  hold=1: the write only queues, the drain afterwards is
 *               timed separately (ns per page drained)
 *   sync        each table freed at once
 */
enum cost_variant { C_ASYNC, C_HOLD, C_SYNC, NR_C };
static const char *const cost_name[NR_C] = { "async", "async_hold", "sync" };

static int cmd_cost(int argc, char **argv)
{
	unsigned long n, reps, r;
	double *ns[NR_C], *as_empty, *hold_drain, *ratio, *ratio_hold;
	unsigned long frees_total[NR_C] = { 0 }, frees_min[NR_C], frees_max[NR_C] = { 0 };
	int pending_fd, v, k;

	if (argc != 3)
		die("usage: cost N REPS");
	n = arg_frees(argv[1], "N");
	reps = arg_reps(argv[2], "REPS");
	for (v = 0; v < NR_C; v++) {
		ns[v] = zalloc(reps, sizeof(double));
		frees_min[v] = ~0UL;
	}
	as_empty = zalloc(reps, sizeof(double));
	hold_drain = zalloc(reps, sizeof(double));
	ratio = zalloc(reps, sizeof(double));
	ratio_hold = zalloc(reps, sizeof(double));

	reset_state();
	pending_fd = open_or_die(SYS "/stats/pending", O_RDONLY);
	/* Warm up both paths: page allocator, per-CPU lists. */
	set_mode("sync");
	timed_alloc_free(n);
	set_mode("async");
	timed_alloc_free(n);
	settle();

	for (r = 0; r < reps; r++) {
		/* Rotate which variant goes first, against drift. */
		for (k = 0; k < NR_C; k++) {
			unsigned long q0, q1, f0, f1, frees;
			uint64_t t, t_end, t_empty;

			v = (k + r) % NR_C;
			set_mode(v == C_SYNC ? "sync" : "async");
			set_hold(v == C_HOLD);
			settle();
			q0 = stat_ul("queued");
			f0 = stat_ul("freed_sync");
			t = timed_alloc_free(n);
			t_end = now_ns();
			q1 = stat_ul("queued");
			f1 = stat_ul("freed_sync");
			frees = v == C_SYNC ? f1 - f0 : q1 - q0;
			if (frees == 0)
				die("cost: alloc_free %lu freed no kernel page table in %s mode",
				    n, cost_name[v]);
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
	reset_state();

	struct summary sv[NR_C];

	for (v = 0; v < NR_C; v++)
		sv[v] = summarize(ns[v], reps);
	jopen(NULL);
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

/* ---- one burst, measured whole ---- */

/* The counters a burst moves; sva_calls is the fake address spaces'. */
struct counts {
	unsigned long queued, freed_sync, batches, invalidations, sva_calls;
};

static void read_counts(struct counts *c)
{
	c->queued = stat_ul("queued");
	c->freed_sync = stat_ul("freed_sync");
	c->batches = stat_ul("batches");
	c->invalidations = stat_ul("invalidations");
	c->sva_calls = read_ul(HOOKS "/sva_calls");
}

enum burst_key {
	K_WRITER, K_DONE, K_LATENCY, K_PAGES, K_BATCHES, K_BATCHES_IN_WRITE,
	K_INVAL, K_SVA_CALLS, K_PER_BATCH, K_PENDING_AT_RETURN, NR_K
};

static const char *const burst_keys[NR_K] = {
	[K_WRITER] = "writer_ns_per_free",
	[K_DONE] = "done_ns_per_free",
	[K_LATENCY] = "latency_ns",
	[K_PAGES] = "pages",
	[K_BATCHES] = "batches",
	[K_BATCHES_IN_WRITE] = "batches_during_write",
	[K_INVAL] = "invalidations",
	[K_SVA_CALLS] = "sva_calls",
	[K_PER_BATCH] = "pages_per_batch",
	[K_PENDING_AT_RETURN] = "pending_at_write_return",
};

struct burst_series {
	double *v[NR_K];
	size_t n;
};

static void series_init(struct burst_series *s, size_t reps)
{
	for (int k = 0; k < NR_K; k++)
		s->v[k] = zalloc(reps, sizeof(double));
	s->n = 0;
}

/*
 * One burst of @n frees from an empty list, in the mode, binding and hold
 * already set.  With @hold, the work item leaves the list alone and one
 * drain, timed, frees the burst; otherwise the time runs until
 * stats/pending reads 0.  Pages are stats/queued plus stats/freed_sync, so
 * that every mode compares.
 */
static void run_burst(struct burst_series *s, unsigned long n, bool hold,
		      int pending_fd)
{
	struct counts c0, c1;
	unsigned long first, b_mid;
	uint64_t t0, t1, t2;
	double *v[NR_K], pages, batches;
	int k;

	for (k = 0; k < NR_K; k++)
		v[k] = &s->v[k][s->n];
	settle();
	read_counts(&c0);
	alloc_free_at(n, &t0, &t1);
	first = read_fd_ul(pending_fd, "stats/pending");
	t2 = now_ns();
	b_mid = stat_ul("batches");
	if (hold) {
		drain();
		t2 = now_ns();
	} else if (first) {
		t2 = wait_empty(pending_fd, NULL, NULL);
	}
	settle();
	read_counts(&c1);
	pages = (c1.queued - c0.queued) + (c1.freed_sync - c0.freed_sync);
	if (pages < n)
		die("alloc_free %lu: only %.0f kernel page tables freed", n, pages);
	batches = c1.batches - c0.batches;
	*v[K_WRITER] = (double)(t1 - t0) / pages;
	*v[K_DONE] = (double)(t2 - t0) / pages;
	*v[K_LATENCY] = t2 > t1 ? (double)(t2 - t1) : 0;
	*v[K_PAGES] = pages;
	*v[K_BATCHES] = batches;
	*v[K_BATCHES_IN_WRITE] = b_mid - c0.batches;
	*v[K_INVAL] = c1.invalidations - c0.invalidations;
	*v[K_SVA_CALLS] = c1.sva_calls - c0.sva_calls;
	*v[K_PER_BATCH] = batches ? pages / batches : 0;
	*v[K_PENDING_AT_RETURN] = first;
	s->n++;
}

/* Median, min and max of each figure of a series. */
static void jseries(const char *key, struct burst_series *s)
{
	jopen(key);
	for (int k = 0; k < NR_K; k++)
		jmmm(burst_keys[k], s->v[k], s->n);
	jclose();
}

static void need_sva_hooks(void)
{
	if (access(HOOKS "/sva_bind", W_OK))
		die("%s/sva_bind: %s (a kernel without CONFIG_IOMMU_SVA?)", HOOKS,
		    strerror(errno));
}

/* ---- bursts: how many batches, and invalidations, a burst takes ---- */

enum burst_variant { B_ASYNC, B_ASYNC_SVA, B_HOLD_SVA, B_SYNC, NR_B };
static const char *const bv_name[NR_B] = {
	[B_ASYNC] = "async", [B_ASYNC_SVA] = "async_sva",
	[B_HOLD_SVA] = "hold_drain_sva", [B_SYNC] = "sync",
};

/*
 * bursts REPS SIZE...: bursts of each size in four variants, rotating:
 * async with nothing bound, async with one fake SVA address space bound,
 * the same with the work item held off and one drain (one batch: the
 * floor), and sync with nothing bound (freed at once, no batch).
 */
/* "REPS SIZE...": the repetitions and the burst sizes; returns how many sizes. */
static int reps_and_sizes(int argc, char **argv, const char *usage,
			  unsigned long *reps, unsigned long **sizes)
{
	int n = argc - 2;

	if (argc < 3)
		die("%s", usage);
	*reps = arg_reps(argv[1], "REPS");
	*sizes = zalloc(n, sizeof(**sizes));
	for (int i = 0; i < n; i++)
		(*sizes)[i] = arg_frees(argv[2 + i], "SIZE");
	return n;
}

static int cmd_bursts(int argc, char **argv)
{
	unsigned long reps, *sizes, errors0;
	int nsizes, pending_fd;

	nsizes = reps_and_sizes(argc, argv, "usage: bursts REPS SIZE...", &reps, &sizes);

	reset_state();
	need_sva_hooks();
	pending_fd = open_or_die(SYS "/stats/pending", O_RDONLY);
	errors0 = read_ul(HOOKS "/sva_errors");
	timed_alloc_free(100);	/* warm-up */
	settle();

	jopen(NULL);
	jnum("reps", reps);
	jnum("cpus", sysconf(_SC_NPROCESSORS_ONLN));
	jarr_open("rows");
	for (int i = 0; i < nsizes; i++) {
		struct burst_series s[NR_B];
		int v;

		for (v = 0; v < NR_B; v++)
			series_init(&s[v], reps);
		for (unsigned long r = 0; r < reps; r++) {
			for (int k = 0; k < NR_B; k++) {
				v = (k + r) % NR_B;
				set_mode(v == B_SYNC ? "sync" : "async");
				sva_bind(v == B_ASYNC_SVA || v == B_HOLD_SVA);
				set_hold(v == B_HOLD_SVA);
				run_burst(&s[v], sizes[i], v == B_HOLD_SVA, pending_fd);
				set_hold(0);
			}
		}
		for (v = 0; v < NR_B; v++) {
			jopen(NULL);
			jnum("burst_frees", sizes[i]);
			jstr("variant", bv_name[v]);
			jstr("mode", v == B_SYNC ? "sync" : "async");
			jnum("sva_bound", v == B_ASYNC_SVA || v == B_HOLD_SVA);
			jbool("hold", v == B_HOLD_SVA);
			jseries("per_burst", &s[v]);
			jratio("ratio_done_over_async", s[v].v[K_DONE],
			       s[B_ASYNC].v[K_DONE], reps);
			jclose();
		}
	}
	jarr_close();
	reset_state();
	jnum("sva_errors", read_ul(HOOKS "/sva_errors") - errors0);
	jclose();
	jend();
	return 0;
}

/* ---- latency: from the end of a burst until every page is freed ---- */

struct lat_series {
	double *lat, *first;
	unsigned long zero_at_return;
};

static void lat_init(struct lat_series *ls, unsigned long bursts)
{
	ls->lat = zalloc(bursts, sizeof(double));
	ls->first = zalloc(bursts, sizeof(double));
	ls->zero_at_return = 0;
}

static void lat_add(struct lat_series *ls, unsigned long r, double lat,
		    unsigned long first)
{
	ls->lat[r] = lat;
	ls->first[r] = first;
	if (first == 0)
		ls->zero_at_return++;
}

static void lat_json(const char *key, struct lat_series *ls, unsigned long bursts)
{
	jopen(key);
	jsummary("latency_ns", summarize(ls->lat, bursts), true);
	jsummary("pending_at_write_return_pages", summarize(ls->first, bursts), false);
	jnum("bursts_already_empty_at_write_return", ls->zero_at_return);
	jclose();
}

/*
 * latency N BURSTS: bursts of N frees, async, nothing bound; the time from
 * the write returning until every page of the burst is freed, three ways,
 * alternating: the writer polls stats/pending; the writer writes 1 to
 * drain; the work item held off during the burst, the writer drains (one
 * batch of N pages).
 */
enum { L_POLL, L_DRAIN, L_HELD, NR_L };

static int cmd_latency(int argc, char **argv)
{
	unsigned long n, bursts, r;
	struct lat_series ls[NR_L];
	int pending_fd, k;
	double *rd;

	if (argc != 3)
		die("usage: latency N BURSTS");
	n = arg_frees(argv[1], "N");
	bursts = arg_reps(argv[2], "BURSTS");
	for (k = 0; k < NR_L; k++)
		lat_init(&ls[k], bursts);
	rd = zalloc(200, sizeof(double));

	reset_state();
	pending_fd = open_or_die(SYS "/stats/pending", O_RDONLY);

	/* What one poll costs: the resolution of everything below. */
	for (r = 0; r < 200; r++) {
		uint64_t t0 = now_ns();

		read_fd_ul(pending_fd, "stats/pending");
		rd[r] = now_ns() - t0;
	}

	for (r = 0; r < bursts; r++) {
		for (int i = 0; i < NR_L; i++) {
			unsigned long first;
			uint64_t t0, t_end, t;

			k = (i + r) % NR_L;
			set_hold(k == L_HELD);
			settle();
			alloc_free_at(n, &t0, &t_end);
			if (k == L_POLL) {
				t = wait_empty(pending_fd, &first, NULL);
			} else {
				first = read_fd_ul(pending_fd, "stats/pending");
				drain();
				t = now_ns();
				if (read_fd_ul(pending_fd, "stats/pending"))
					die("latency: pages pending after a drain");
			}
			lat_add(&ls[k], r, t - t_end, first);
			set_hold(0);
		}
	}
	reset_state();

	jopen(NULL);
	jnum("frees_per_burst", n);
	jnum("bursts", bursts);
	jsummary("pending_read_ns", summarize(rd, 200), false);
	lat_json("writer_polls", &ls[L_POLL], bursts);
	lat_json("writer_drains", &ls[L_DRAIN], bursts);
	lat_json("held_then_drained", &ls[L_HELD], bursts);
	jclose();
	jend();
	return 0;
}

/* ---- wait: how long each table waits for its batch, from trace events ---- */

#define TRACEFS		"/sys/kernel/tracing"
#define INSTANCE	TRACEFS "/instances/pgtbench"

/* A tracing instance of our own: its buffer, its clock, its events. */
static void instance_events(const char *on)
{
	write_str(INSTANCE "/events/pgtable_free/pgtable_free_queue/enable", on);
	write_str(INSTANCE "/events/pgtable_free/pgtable_free_batch/enable", on);
}

static void instance_open(void)
{
	if (mkdir(INSTANCE, 0700) && errno != EEXIST)
		die("mkdir %s: %s (tracefs not mounted?)", INSTANCE, strerror(errno));
	/* One clock for every CPU: the batch may run on another. */
	write_str(INSTANCE "/trace_clock", "mono");
	write_str(INSTANCE "/buffer_size_kb", "4096");
	instance_events("1");
}

static void instance_clear(void)
{
	close(open_or_die(INSTANCE "/trace", O_WRONLY | O_TRUNC));
}

static void instance_close(void)
{
	instance_events("0");
	instance_clear();
	if (rmdir(INSTANCE))
		die("rmdir %s: %s", INSTANCE, strerror(errno));
}

/* The timestamp, in seconds, of the event whose name starts at @ev. */
static double event_time(const char *line, const char *ev)
{
	const char *p = ev - 2;	/* the ':' after the timestamp */

	while (p > line && (isdigit((unsigned char)p[-1]) || p[-1] == '.'))
		p--;
	return strtod(p, NULL);
}

struct table_waits {
	double max_us, median_us, batches, max_batch;
};

/*
 * Read back one burst's events: a batch takes the whole list, so it frees
 * the oldest pages queued and not yet freed.  The wait of a page is its
 * batch's event (after the frees) minus its queue event.  A queue event is
 * written after the list's lock is dropped: a batch that ran in between
 * (the work item preempting the freeing task there) has its event first.
 * Such a page waited no time that the events can tell: 0, and its queue
 * event, when it comes, is skipped.
 */
static struct table_waits read_waits(unsigned long n)
{
	FILE *f = fopen(INSTANCE "/trace", "r");
	double *q = zalloc(n, sizeof(double)), *w = zalloc(n, sizeof(double));
	size_t nq = 0, head = 0, nw = 0, owed = 0;
	struct table_waits tw = { 0 };
	char line[512];

	if (!f)
		die("%s/trace: %s", INSTANCE, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *ev = strstr(line, ": pgtable_free_");
		unsigned long nr;
		char *p;

		if (!ev)
			continue;
		ev += 2;
		if (!strncmp(ev, "pgtable_free_queue:", 19)) {
			p = strstr(ev, "nr_pages=");
			nr = p ? strtoul(p + 9, NULL, 10) : 1;
			for (; nr && owed; nr--, owed--)
				nq++;
			for (; nr && nq < n; nr--)
				q[nq++] = event_time(line, ev);
		} else if (!strncmp(ev, "pgtable_free_batch:", 19)) {
			double t = event_time(line, ev);

			p = strstr(ev, "nr_pages=");
			nr = p ? strtoul(p + 9, NULL, 10) : 0;
			tw.batches++;
			if (nr > tw.max_batch)
				tw.max_batch = nr;
			for (; nr && head < nq && nw < n; nr--)
				w[nw++] = (t - q[head++]) * 1e6;
			/* Queued before this batch, traced after it. */
			for (; nr && nw < n; nr--, owed++) {
				w[nw++] = 0;
				head++;
			}
		}
	}
	fclose(f);
	if (nq != n || nw != n)
		die("wait: %zu pages queued and %zu freed in the trace, not %lu: events lost",
		    nq, nw, n);
	struct summary s = summarize(w, nw);

	tw.max_us = s.max;
	tw.median_us = s.median;
	free(q);
	free(w);
	return tw;
}

/*
 * wait REPS SIZE...: async bursts of each size, nothing bound, with the
 * queue and batch events recorded in a tracing instance of our own: the
 * longest and the median wait of a table for its batch, and the batches.
 */
static int cmd_wait(int argc, char **argv)
{
	unsigned long reps, *sizes;
	int nsizes;

	nsizes = reps_and_sizes(argc, argv, "usage: wait REPS SIZE...", &reps, &sizes);

	reset_state();
	instance_open();
	jopen(NULL);
	jnum("reps", reps);
	jarr_open("rows");
	for (int i = 0; i < nsizes; i++) {
		double *mx = zalloc(reps, sizeof(double)), *md = zalloc(reps, sizeof(double));
		double *nb = zalloc(reps, sizeof(double)), *mb = zalloc(reps, sizeof(double));
		double *wr = zalloc(reps, sizeof(double)), *per = zalloc(reps, sizeof(double));

		for (unsigned long r = 0; r < reps; r++) {
			struct table_waits tw;
			uint64_t t0, t1;

			settle();
			instance_clear();
			alloc_free_at(sizes[i], &t0, &t1);
			settle();
			tw = read_waits(sizes[i]);
			mx[r] = tw.max_us;
			md[r] = tw.median_us;
			nb[r] = tw.batches;
			mb[r] = tw.max_batch;
			wr[r] = (t1 - t0) / 1e6;
			per[r] = wr[r] / tw.batches;
		}
		jopen(NULL);
		jnum("burst_frees", sizes[i]);
		jmmm("wait_max_us", mx, reps);
		jmmm("wait_median_us", md, reps);
		jmmm("batches", nb, reps);
		jmmm("largest_batch_pages", mb, reps);
		jmmm("write_ms", wr, reps);
		jmmm("write_ms_per_batch", per, reps);
		jclose();
		free(mx); free(md); free(nb); free(mb); free(wr); free(per);
	}
	jarr_close();
	instance_close();
	reset_state();
	jclose();
	jend();
	return 0;
}

/* ---- trace: the free path with the events off and on ---- */

/*
 * trace N REPS: async bursts of N frees, nothing bound, with the
 * pgtable_free events disabled and enabled, alternating.
 */
static int cmd_trace(int argc, char **argv)
{
	unsigned long n, reps;
	struct burst_series off, on;
	int pending_fd;

	if (argc != 3)
		die("usage: trace N REPS");
	n = arg_frees(argv[1], "N");
	reps = arg_reps(argv[2], "REPS");
	if (access(TRACE_ENABLE, W_OK))
		die("trace: %s: %s (tracefs not mounted, or no pgtable_free events)",
		    TRACE_ENABLE, strerror(errno));
	series_init(&off, reps);
	series_init(&on, reps);
	reset_state();
	pending_fd = open_or_die(SYS "/stats/pending", O_RDONLY);
	for (unsigned long r = 0; r < reps; r++) {
		for (int i = 0; i < 2; i++) {
			bool enable = (i + r) & 1;

			write_str(TRACE_ENABLE, enable ? "1" : "0");
			run_burst(enable ? &on : &off, n, false, pending_fd);
		}
	}
	write_str(TRACE_ENABLE, "0");
	/* Empty the buffer the events filled. */
	close(open_or_die("/sys/kernel/tracing/trace", O_WRONLY | O_TRUNC));

	jopen(NULL);
	jnum("frees_per_burst", n);
	jnum("reps", reps);
	jseries("events_off", &off);
	jseries("events_on", &on);
	jratio("ratio_on_over_off_writer", on.v[K_WRITER], off.v[K_WRITER], reps);
	jratio("ratio_on_over_off_done", on.v[K_DONE], off.v[K_DONE], reps);
	jclose();
	jend();
	return 0;
}

/* ---- contend: every CPU frees at once ---- */

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity(cpu %d): %s", cpu, strerror(errno));
}

struct shared {
	volatile int ready;
	volatile int go;
	struct {
		uint64_t t0, t1;
		int cpu;
		int ok;
	} res[64];
};

/* Run one write of @n frees on each CPU of @cpus[0..k-1], all at once. */
static void run_on_cpus(struct shared *sh, unsigned long n, const int *cpus, int k)
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
			fd = open_or_die(ALLOC_FREE, O_WRONLY);
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
			die("contend: the write to %s failed on cpu %d", ALLOC_FREE, cpus[i]);
		if (sh->res[i].cpu != cpus[i])
			die("contend: child ran on cpu %d, not %d", sh->res[i].cpu, cpus[i]);
	}
}

static int cmd_contend(int argc, char **argv)
{
	unsigned long n, reps, r, b0, b1, f0, f1;
	int ncpu, i, cpus[64];
	struct shared *sh;
	double *alone, *all, *agg;
	size_t nall = 0;
	const char *mode;

	if (argc != 3 && argc != 4)
		die("usage: contend N REPS [async|sync]");
	mode = argc == 4 ? argv[3] : "async";
	if (strcmp(mode, "async") && strcmp(mode, "sync"))
		die("contend: bad mode %s", mode);
	n = arg_frees(argv[1], "N");
	reps = arg_reps(argv[2], "REPS");
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1 || ncpu > 64)
		die("contend: %d CPUs online", ncpu);
	for (i = 0; i < ncpu; i++)
		cpus[i] = i;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	alone = zalloc(reps, sizeof(double));
	all = zalloc(reps * ncpu, sizeof(double));
	agg = zalloc(reps, sizeof(double));

	reset_state();
	set_mode(mode);
	run_on_cpus(sh, n, cpus, ncpu);	/* warm-up */
	settle();
	b0 = stat_ul("batches");
	f0 = stat_ul("freed");
	for (r = 0; r < reps; r++) {
		int one = r % ncpu;	/* each CPU takes its turn alone */
		uint64_t first = UINT64_MAX, last = 0;

		run_on_cpus(sh, n, &one, 1);
		alone[r] = (double)(sh->res[0].t1 - sh->res[0].t0) / n;
		settle();

		run_on_cpus(sh, n, cpus, ncpu);
		for (i = 0; i < ncpu; i++) {
			all[nall++] = (double)(sh->res[i].t1 - sh->res[i].t0) / n;
			if (sh->res[i].t0 < first)
				first = sh->res[i].t0;
			if (sh->res[i].t1 > last)
				last = sh->res[i].t1;
		}
		/* Wall time per free of all CPUs together. */
		agg[r] = (double)(last - first) / ((double)n * ncpu);
		settle();
	}
	b1 = stat_ul("batches");
	f1 = stat_ul("freed");
	reset_state();

	struct summary sa = summarize(alone, reps), sl = summarize(all, nall);
	struct summary sg = summarize(agg, reps);

	jopen(NULL);
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
		double *col = zalloc(reps, sizeof(double));

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
	reps = arg_reps(argv[1], "REPS");
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


int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "env", cmd_env },
		{ "cost", cmd_cost },
		{ "bursts", cmd_bursts },
		{ "latency", cmd_latency },
		{ "wait", cmd_wait },
		{ "trace", cmd_trace },
		{ "contend", cmd_contend },
		{ "exec-time", cmd_exec_time },
		{ "cpu-time", cmd_cpu_time },
	};

	if (argc < 2)
		die("usage: pgtbench env|cost|bursts|latency|wait|trace|contend|exec-time|cpu-time ...");
	/* stdout is the JSON; keep it whole even when piped. */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	die("unknown command %s", argv[1]);
	return 1;
}
