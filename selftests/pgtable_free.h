/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of the pgtable_free selftests: the sysfs files, the files of the
 * test module pgtable_free_test (CONFIG_TEST_PGTABLE_FREE=m) in debugfs,
 * the rule checker's count (CONFIG_DEBUG_KERNEL_PGTABLE_FREE), and a few
 * measurements.
 */
#ifndef PGTABLE_FREE_H
#define PGTABLE_FREE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#define SYSFS	"/sys/kernel/mm/pgtable_free/"
#define DEBUGFS	"/sys/kernel/debug/pgtable_free/"
#define HOOKS	DEBUGFS "test/"

static const char * const stat_names[] = {
	"queued", "freed", "pending", "pending_max", "batches",
	"freed_sync", "oom_freed", "oom_events", "invalidations",
	"invalidated_mms",
};

enum {
	QUEUED, FREED, PENDING, PENDING_MAX, BATCHES, FREED_SYNC,
	OOM_FREED, OOM_EVENTS, INVALIDATIONS, INVALIDATED_MMS, NR_STATS
};

struct stats {
	unsigned long v[NR_STATS];
};

/* Read a whole small file; returns bytes read or -errno. */
static inline ssize_t read_file(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

/* One write(2) of len bytes; returns 0 or -errno. */
static inline int write_bytes(const char *path, const void *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, buf, len);
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? n : 0;
}

static inline int write_str(const char *path, const char *s)
{
	return write_bytes(path, s, strlen(s));
}

/* A counter file: one decimal number and a newline, or -1. */
static inline long read_ulong(const char *path)
{
	char buf[64], *end;
	unsigned long v;

	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno || end == buf || strcmp(end, "\n"))
		return -1;
	return v;
}

static inline unsigned long stat_read(int item)
{
	char path[128];

	snprintf(path, sizeof(path), SYSFS "stats/%s", stat_names[item]);
	return read_ulong(path);
}

static inline void stats_read(struct stats *s)
{
	int i;

	for (i = 0; i < NR_STATS; i++)
		s->v[i] = stat_read(i);
}

static inline unsigned long delta(const struct stats *before, int item)
{
	return stat_read(item) - before->v[item];
}

static inline int hook(const char *name, unsigned long n)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu\n", n);
	return write_str(name, buf);
}

static inline long hook_result(const char *name)
{
	return read_ulong(name);
}

static inline void read_mode(char *buf, size_t size)
{
	if (read_file(SYSFS "mode", buf, size) < 0)
		buf[0] = '\0';
}

/* Why the tests cannot run here, or NULL when they can. */
static inline const char *missing_prerequisite(void)
{
	if (access(SYSFS, F_OK))
		return "kernel lacks CONFIG_ASYNC_KERNEL_PGTABLE_FREE";
	if (geteuid())
		return "must run as root";
	if (access(HOOKS "hold", W_OK) &&
	    system("modprobe -q pgtable_free_test 2>/dev/null") == -1)
		return "cannot run modprobe";
	if (access(HOOKS "hold", W_OK))
		return "needs the pgtable_free_test module (CONFIG_TEST_PGTABLE_FREE=m) "
		       "and debugfs at /sys/kernel/debug";
	return NULL;
}

/*
 * The rule violations CONFIG_DEBUG_KERNEL_PGTABLE_FREE counted since boot,
 * or -1 without it.
 */
static inline long violations(void)
{
	char buf[256], *p;

	if (read_file(DEBUGFS "check", buf, sizeof(buf)) <= 0)
		return -1;
	p = strstr(buf, "violations");
	return p ? strtol(p + strlen("violations"), NULL, 10) : -1;
}

static inline bool mode_is_sync(void)
{
	char mode[32];

	read_mode(mode, sizeof(mode));
	return strstr(mode, "[sync]");
}

/* The fake SVA address spaces of the test hooks, where the kernel has SVA. */
static inline bool have_fake_sva(void)
{
	return !access(HOOKS "sva_bind", W_OK);
}

static inline int sva_bind(unsigned long n)
{
	return hook(HOOKS "sva_bind", n);
}

/* Async, nothing held, nothing pending, nothing bound; 0 or -errno. */
static inline int start_clean(void)
{
	if (have_fake_sva() && sva_bind(0))
		return -EIO;
	return write_str(SYSFS "mode", "async") ?:
	       write_str(HOOKS "hold", "0") ?:
	       write_str(SYSFS "drain", "1");
}

static inline void restore(bool was_sync)
{
	if (have_fake_sva()) {
		write_str(HOOKS "sva_stall", "0");
		sva_bind(0);
	}
	write_str(HOOKS "hold", "0");
	write_str(SYSFS "mode", was_sync ? "sync" : "async");
	write_str(SYSFS "drain", "1");
}

static inline bool at_rest(void)
{
	return stat_read(PENDING) == 0 &&
	       stat_read(QUEUED) == stat_read(FREED);
}

/*
 * Wait up to ms milliseconds until every queued page is freed: the list
 * empty, and the batch the work item took off it freed and counted.
 */
static inline bool wait_pending_zero(int ms)
{
	while (!at_rest() && ms-- > 0)
		usleep(1000);
	return at_rest();
}

/*
 * Give back what caches hold, so that two counts of free pages compare:
 * the page cache, and each slab cache's empty slabs and, under KASAN,
 * its quarantined objects (kmem_cache_shrink() flushes them).
 */
static inline void settle_memory(void)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	write_str("/proc/sys/vm/drop_caches", "3");
	dir = opendir("/sys/kernel/slab");
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/shrink", d->d_name);
		write_str(path, "1");
	}
	closedir(dir);
}

/*
 * Pages that nothing holds but a cache: free pages, those parked in the
 * per-CPU page lists (a freed page table often lands there, and with a few
 * CPUs those lists hold megabytes), and slab pages, where a debug kernel
 * keeps KASAN's quarantine of freed objects and kmemleak's metadata; and
 * the kernel stacks of workers the workqueues start under load and keep
 * idle for minutes (eight pages each with KASAN).  A page table that is
 * never freed is none of these.
 */
static inline long free_pages_all(void)
{
	long total = 0, v;
	char line[256];
	FILE *f;

	f = fopen("/proc/zoneinfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " nr_free_pages %ld", &v) == 1 ||
		    sscanf(line, " count: %ld", &v) == 1)
			total += v;
	}
	fclose(f);
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "nr_slab_reclaimable %ld", &v) == 1 ||
		    sscanf(line, "nr_slab_unreclaimable %ld", &v) == 1)
			total += v;
		/* In kB */
		if (sscanf(line, "nr_kernel_stack %ld", &v) == 1)
			total += v * 1024 / sysconf(_SC_PAGESIZE);
	}
	fclose(f);
	return total;
}

static inline void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu % sysconf(_SC_NPROCESSORS_ONLN), &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Run the hooks once on every CPU so that slab and page caches settle. */
static inline void warm_up(void)
{
	int cpu, n = sysconf(_SC_NPROCESSORS_ONLN);

	for (cpu = 0; cpu < n; cpu++) {
		pin_to_cpu(cpu);
		hook(HOOKS "alloc_free", 2000);
	}
	pin_to_cpu(0);
	write_str(SYSFS "drain", "1");
	usleep(200000);
}

/*
 * Run the OOM killer through sysrq, with a child that asked to be its
 * victim: 0 once the OOM killer killed it, -1 if it could not be set up or
 * was not killed within 20 s (it is killed here then).
 */
static inline int sysrq_oom(void)
{
	int ready[2], status = 0, i;
	pid_t victim;
	char c;

	if (pipe(ready))
		return -1;
	victim = fork();
	if (victim < 0)
		return -1;
	if (!victim) {
		close(ready[0]);
		if (write_str("/proc/self/oom_score_adj", "1000") == 0)
			(void)!write(ready[1], "1", 1);
		for (;;)
			pause();
	}
	close(ready[1]);
	i = read(ready[0], &c, 1) == 1 ? 0 : 2000;
	close(ready[0]);
	if (i == 0 && write_str("/proc/sysrq-trigger", "f"))
		i = 2000;
	/* sysrq runs the OOM killer from a work item: wait for its victim. */
	for (; i < 2000 && waitpid(victim, &status, WNOHANG) == 0; i++)
		usleep(10000);
	if (i == 2000) {
		kill(victim, SIGKILL);
		waitpid(victim, &status, 0);
		return -1;
	}
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : -1;
}

/* The kernel log from now on, to look for a line later. */
static inline int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* Whether a record since kmsg_open() contains @want; closes @fd. */
static inline bool kmsg_find(int fd, const char *want)
{
	char line[1024];
	bool seen = false;
	ssize_t n;

	while ((n = read(fd, line, sizeof(line) - 1)) > 0 ||
	       (n < 0 && errno == EPIPE)) {
		if (n > 0) {
			line[n] = '\0';
			seen |= !!strstr(line, want);
		}
	}
	close(fd);
	return seen;
}

#endif /* PGTABLE_FREE_H */
