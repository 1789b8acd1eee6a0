// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the deferred freeing of kernel page tables through its ABI:
 * /sys/kernel/mm/pgtable_free/ and the CONFIG_TEST_PGTABLE_FREE hooks in
 * debugfs, which free kernel page tables through the real paths.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"

#include "pgtable_free.h"

FIXTURE(pgtable_free) {
	bool was_sync;
};

FIXTURE_SETUP(pgtable_free)
{
	const char *missing = missing_prerequisite();

	if (missing)
		SKIP(return, "%s", missing);
	self->was_sync = mode_is_sync();
	ASSERT_EQ(0, start_clean());
}

FIXTURE_TEARDOWN(pgtable_free)
{
	if (!missing_prerequisite())
		restore(self->was_sync);
}

/* Every counter: one decimal value and a newline; at rest they add up. */
TEST_F(pgtable_free, stats_format)
{
	struct stats s;
	int i;

	stats_read(&s);
	for (i = 0; i < NR_STATS; i++)
		ASSERT_NE((unsigned long)-1, s.v[i]) TH_LOG("counter %d unreadable", i);
	EXPECT_EQ(s.v[QUEUED], s.v[FREED] + s.v[PENDING]);
	EXPECT_GE(s.v[PENDING_MAX], s.v[PENDING]);
}

/* Tables freed through pmd_free_pte_page() are queued, then drained. */
TEST_F(pgtable_free, vmap_huge_held_then_drained)
{
	const unsigned long n = 200;
	struct stats before;
	long freed;

	ASSERT_EQ(0, write_str(HOOKS "hold", "1"));
	stats_read(&before);
	ASSERT_EQ(0, hook(HOOKS "vmap_huge", n));
	freed = hook_result(HOOKS "vmap_huge");
	ASSERT_EQ(n, freed) TH_LOG("the huge vmap path freed %ld of %lu tables", freed, n);

	EXPECT_EQ(freed, delta(&before, QUEUED));
	EXPECT_EQ(freed, delta(&before, PENDING));
	EXPECT_EQ(0, delta(&before, FREED));
	EXPECT_GE(stat_read(PENDING_MAX), (unsigned long)freed);

	ASSERT_EQ(0, write_str(SYSFS "drain", "1"));
	EXPECT_EQ(0, stat_read(PENDING));
	EXPECT_EQ(freed, delta(&before, FREED));
	EXPECT_EQ(1, delta(&before, BATCHES));
	EXPECT_EQ(stat_read(QUEUED), stat_read(FREED) + stat_read(PENDING));
}

/* Tables from the allocators, some freed in atomic context. */
TEST_F(pgtable_free, alloc_free_counts)
{
	const unsigned long n = 300;
	struct stats before;

	ASSERT_EQ(0, write_str(HOOKS "hold", "1"));
	stats_read(&before);
	ASSERT_EQ(0, hook(HOOKS "alloc_free", n));
	ASSERT_EQ(n, hook_result(HOOKS "alloc_free"));
	EXPECT_EQ(n, delta(&before, QUEUED));
	EXPECT_EQ(n, delta(&before, PENDING));
	ASSERT_EQ(0, write_str(HOOKS "hold", "0"));
	ASSERT_TRUE(wait_pending_zero(5000));
	EXPECT_EQ(n, delta(&before, FREED));
	EXPECT_GE(delta(&before, BATCHES), 1);
}

/* The work item alone empties the list, in batches. */
TEST_F(pgtable_free, worker_drains)
{
	const unsigned long n = 1000;
	struct stats before;
	unsigned long batches;

	stats_read(&before);
	ASSERT_EQ(0, hook(HOOKS "vmap_huge", n));
	ASSERT_EQ(n, hook_result(HOOKS "vmap_huge"));
	ASSERT_TRUE(wait_pending_zero(10000));
	EXPECT_EQ(n, delta(&before, QUEUED));
	EXPECT_EQ(n, delta(&before, FREED));
	batches = delta(&before, BATCHES);
	EXPECT_GE(batches, 1);
	EXPECT_LE(batches, n);
	TH_LOG("%lu tables freed in %lu batches", n, batches);
}

struct burst {
	int cpu;
	const char *hook;
	unsigned long n;
	int err;
};

static void *burst_thread(void *arg)
{
	struct burst *b = arg;

	pin_to_cpu(b->cpu);
	b->err = hook(b->hook, b->n);
	return NULL;
}

/* 10,000 frees from two CPUs at once: nothing lost, nothing leaked. */
TEST_F(pgtable_free, burst_two_cpus)
{
	struct burst b[2] = {
		{ 0, HOOKS "alloc_free", 5000, 0 },
		{ 1, HOOKS "alloc_free", 5000, 0 },
	};
	pthread_t t[2];
	struct stats before;
	long free_before, free_after;
	int i;

	warm_up();
	free_before = free_pages_all();
	stats_read(&before);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, burst_thread, &b[i]));
	for (i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(0, b[i].err);
	}
	ASSERT_TRUE(wait_pending_zero(20000));
	EXPECT_EQ(10000, delta(&before, QUEUED));
	EXPECT_EQ(10000, delta(&before, FREED));
	EXPECT_EQ(stat_read(QUEUED), stat_read(FREED) + stat_read(PENDING));

	free_after = free_pages_all();
	TH_LOG("free pages %ld before, %ld after", free_before, free_after);
	EXPECT_LE(free_before - free_after, 64);
}

TEST_F(pgtable_free, mode_read_write)
{
	char buf[64];

	ASSERT_GT(read_file(SYSFS "mode", buf, sizeof(buf)), 0);
	EXPECT_STREQ("[async] sync\n", buf);
	ASSERT_EQ(0, write_str(SYSFS "mode", "sync\n"));
	read_mode(buf, sizeof(buf));
	EXPECT_STREQ("async [sync]\n", buf);
	ASSERT_EQ(0, write_str(SYSFS "mode", "sync"));
	read_mode(buf, sizeof(buf));
	EXPECT_STREQ("async [sync]\n", buf);
	ASSERT_EQ(0, write_str(SYSFS "mode", "async"));
	read_mode(buf, sizeof(buf));
	EXPECT_STREQ("[async] sync\n", buf);
}

/* Bad values fail with EINVAL in either mode and change nothing. */
TEST_F(pgtable_free, mode_bad_input)
{
	static const char * const bad[] = {
		"\n", " ", " sync", "sync ", "\tsync", "Sync", "SYNC", "1", "0",
		"async sync", "[async]", "sync\n\n", "asyncx", "syn", "-1",
	};
	char big[4096], before[64], after[64];
	const char garbage[] = { 's', 'y', 'n', 'c', '\0', 'x' };
	const char binary[] = { 0x00, (char)0xff, 0x7f, (char)0x80, '\n' };
	int start, i, fd;

	for (start = 0; start < 2; start++) {
		ASSERT_EQ(0, write_str(SYSFS "mode", start ? "sync" : "async"));
		read_mode(before, sizeof(before));
		for (i = 0; i < (int)ARRAY_SIZE(bad); i++) {
			EXPECT_EQ(-EINVAL, write_str(SYSFS "mode", bad[i]))
				TH_LOG("value '%s'", bad[i]);
			read_mode(after, sizeof(after));
			EXPECT_STREQ(before, after);
		}
		memset(big, 'a', sizeof(big));
		memcpy(big, "sync", 4);
		EXPECT_EQ(-EINVAL, write_bytes(SYSFS "mode", big, sizeof(big)));
		EXPECT_EQ(-EINVAL, write_bytes(SYSFS "mode", garbage, sizeof(garbage)));
		EXPECT_EQ(-EINVAL, write_bytes(SYSFS "mode", binary, sizeof(binary)));

		/* A value split over two writes is two bad values. */
		fd = open(SYSFS "mode", O_WRONLY);
		ASSERT_GE(fd, 0);
		EXPECT_EQ(-1, write(fd, "sy", 2));
		EXPECT_EQ(EINVAL, errno);
		EXPECT_EQ(-1, write(fd, "nc", 2));
		EXPECT_EQ(EINVAL, errno);
		/* An empty write never reaches the kernel's store. */
		EXPECT_EQ(0, write(fd, "", 0));
		close(fd);

		read_mode(after, sizeof(after));
		EXPECT_STREQ(before, after);
	}
}

TEST_F(pgtable_free, drain)
{
	static const char * const bad[] = { "0", "2", "yes", "\n", " 1", "1 1", "11" };
	struct stats before;
	int i;

	ASSERT_EQ(0, write_str(HOOKS "hold", "1"));
	stats_read(&before);
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 30));
	EXPECT_EQ(30, delta(&before, PENDING));
	for (i = 0; i < (int)ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, write_str(SYSFS "drain", bad[i])) TH_LOG("value '%s'", bad[i]);
		EXPECT_EQ(30, delta(&before, PENDING));
	}
	EXPECT_EQ(-EINVAL, write_bytes(SYSFS "drain", "1\0", 2));
	EXPECT_EQ(0, write_str(SYSFS "drain", "1\n"));
	EXPECT_EQ(0, stat_read(PENDING));
	EXPECT_EQ(30, delta(&before, FREED));
	EXPECT_EQ(1, delta(&before, BATCHES));
}

/*
 * With no IOMMU sharing the CPU page tables, sync mode frees at once; what
 * was pending at the switch is freed by the work item or a drain.
 */
TEST_F(pgtable_free, sync_mode)
{
	struct stats before;

	ASSERT_EQ(0, write_str(HOOKS "hold", "1"));
	stats_read(&before);
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 20));
	EXPECT_EQ(20, delta(&before, PENDING));
	ASSERT_EQ(0, write_str(SYSFS "mode", "sync"));
	ASSERT_EQ(0, write_str(SYSFS "drain", "1"));
	EXPECT_EQ(0, stat_read(PENDING));
	EXPECT_EQ(20, delta(&before, FREED));

	ASSERT_EQ(0, hook(HOOKS "alloc_free", 50));
	ASSERT_EQ(0, hook(HOOKS "vmap_huge", 50));
	EXPECT_EQ(50, hook_result(HOOKS "vmap_huge"));
	EXPECT_EQ(100, delta(&before, FREED_SYNC));
	EXPECT_EQ(20, delta(&before, QUEUED));
	EXPECT_EQ(0, stat_read(PENDING));
}

/* No SVA mm is bound in this guest: batches free without invalidating. */
TEST_F(pgtable_free, no_invalidation_unbound)
{
	struct stats before;

	stats_read(&before);
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 100));
	ASSERT_EQ(0, write_str(SYSFS "drain", "1"));
	EXPECT_EQ(100, delta(&before, FREED));
	EXPECT_LE(1, delta(&before, BATCHES));
	EXPECT_EQ(0, delta(&before, INVALIDATIONS));
	EXPECT_EQ(0, delta(&before, INVALIDATED_MMS));
}

/*
 * With an address space bound for SVA (a fake one: no SVA device exists in
 * a guest), every batch is invalidated once, before any of its tables is
 * freed, from process context, for the whole kernel range.
 */
FIXTURE(sva)
{
	bool was_sync;
};

FIXTURE_SETUP(sva)
{
	const char *why = missing_prerequisite();

	if (why)
		SKIP(return, "%s", why);
	if (!have_fake_sva())
		SKIP(return, "this kernel has no SVA (CONFIG_IOMMU_SVA)");
	self->was_sync = mode_is_sync();
	ASSERT_EQ(0, start_clean());
}

FIXTURE_TEARDOWN(sva)
{
	if (!missing_prerequisite() && have_fake_sva())
		restore(self->was_sync);
}

/* One batch, two bound address spaces: one invalidation covering both. */
TEST_F(sva, one_invalidation_per_batch)
{
	long calls, pages, errors;
	struct stats before;

	ASSERT_EQ(0, sva_bind(2));
	EXPECT_EQ(2, hook_result(HOOKS "sva_bind"));
	ASSERT_EQ(0, write_str(HOOKS "hold", "1"));
	stats_read(&before);
	calls = hook_result(HOOKS "sva_calls");
	pages = hook_result(HOOKS "sva_pages");
	errors = hook_result(HOOKS "sva_errors");
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 300));
	EXPECT_EQ(300, delta(&before, PENDING));
	/* Held: nothing freed, so nothing invalidated yet. */
	EXPECT_EQ(0, delta(&before, INVALIDATIONS));

	ASSERT_EQ(0, write_str(SYSFS "drain", "1"));
	EXPECT_EQ(300, delta(&before, FREED));
	EXPECT_EQ(1, delta(&before, BATCHES));
	EXPECT_EQ(1, delta(&before, INVALIDATIONS));
	EXPECT_EQ(2, delta(&before, INVALIDATED_MMS));
	EXPECT_EQ(2, hook_result(HOOKS "sva_calls") - calls);
	/* Each address space was invalidated with all 300 still allocated. */
	EXPECT_EQ(2 * 300, hook_result(HOOKS "sva_pages") - pages);
	EXPECT_EQ(errors, hook_result(HOOKS "sva_errors"))
		TH_LOG("an invalidation came late, in atomic context or for another range");
}

/* A burst in async mode: invalidations per batch, not per page. */
TEST_F(sva, burst_batches_invalidations)
{
	struct stats before;
	long errors, inv, pages;

	ASSERT_EQ(0, sva_bind(1));
	stats_read(&before);
	errors = hook_result(HOOKS "sva_errors");
	pages = hook_result(HOOKS "sva_pages");
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 3000));
	ASSERT_TRUE(wait_pending_zero(10000));
	inv = delta(&before, INVALIDATIONS);
	EXPECT_EQ(3000, delta(&before, FREED));
	EXPECT_EQ(delta(&before, BATCHES), inv);
	EXPECT_EQ(inv, delta(&before, INVALIDATED_MMS));
	EXPECT_LE(1, inv);
	EXPECT_GE(3000 / 10, inv) TH_LOG("%ld invalidations for 3000 pages", inv);
	EXPECT_EQ(0, delta(&before, FREED_SYNC));
	EXPECT_EQ(3000, hook_result(HOOKS "sva_pages") - pages)
		TH_LOG("pages freed without an invalidation before them");
	EXPECT_EQ(errors, hook_result(HOOKS "sva_errors"));
	TH_LOG("3000 pages, %ld invalidations", inv);
}

/* Sync mode may not free at once what an IOMMU may cache. */
TEST_F(sva, sync_mode_defers_while_bound)
{
	struct stats before;
	long errors;

	ASSERT_EQ(0, sva_bind(1));
	ASSERT_EQ(0, write_str(SYSFS "mode", "sync"));
	stats_read(&before);
	errors = hook_result(HOOKS "sva_errors");
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 60));
	ASSERT_EQ(0, hook(HOOKS "vmap_huge", 20));
	ASSERT_TRUE(wait_pending_zero(10000));
	EXPECT_EQ(0, delta(&before, FREED_SYNC));
	EXPECT_EQ(80, delta(&before, QUEUED));
	EXPECT_EQ(80, delta(&before, FREED));
	EXPECT_EQ(delta(&before, BATCHES), delta(&before, INVALIDATIONS));
	EXPECT_EQ(errors, hook_result(HOOKS "sva_errors"));

	/* Unbound again: sync frees at once, nothing to invalidate. */
	ASSERT_EQ(0, sva_bind(0));
	stats_read(&before);
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 30));
	EXPECT_EQ(30, delta(&before, FREED_SYNC));
	EXPECT_EQ(0, delta(&before, QUEUED));
	EXPECT_EQ(0, delta(&before, INVALIDATIONS));
}

/*
 * The OOM notifier may not invalidate (it would take the lock an SVA bind
 * holds while it allocates): while bound, it frees nothing and says so.
 */
TEST_F(sva, oom_leaves_bound_tables)
{
	struct stats before;
	char want[128];
	int kmsg;

	ASSERT_EQ(0, sva_bind(1));
	ASSERT_EQ(0, write_str(HOOKS "hold", "1"));
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 64));
	stats_read(&before);
	ASSERT_GE(before.v[PENDING], 64);

	kmsg = kmsg_open();
	ASSERT_GE(kmsg, 0);
	EXPECT_EQ(0, sysrq_oom()) TH_LOG("the sysrq OOM did not kill its victim in 20 s");
	EXPECT_EQ(0, delta(&before, OOM_FREED));
	EXPECT_EQ(0, delta(&before, FREED));
	EXPECT_EQ(before.v[PENDING], stat_read(PENDING));
	snprintf(want, sizeof(want),
		 "out of memory: %lu kernel page table pages (%lu kB) left to the work item",
		 before.v[PENDING], before.v[PENDING] * (sysconf(_SC_PAGESIZE) / 1024));
	EXPECT_TRUE(kmsg_find(kmsg, want)) TH_LOG("no '%s' in the kernel log", want);

	/* The drain invalidates, then frees. */
	ASSERT_EQ(0, write_str(SYSFS "drain", "1"));
	EXPECT_EQ(0, stat_read(PENDING));
	EXPECT_EQ(1, delta(&before, INVALIDATIONS));
}

/* Run fn as an unprivileged user in a child; returns its exit status. */
static int as_nobody(int (*fn)(void))
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(100);
		_exit(fn());
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int nobody_checks(void)
{
	char buf[64];

	if (read_file(SYSFS "stats/queued", buf, sizeof(buf)) <= 0)
		return 1;
	if (read_file(SYSFS "mode", buf, sizeof(buf)) <= 0)
		return 2;
	if (write_str(SYSFS "mode", "sync") != -EACCES)
		return 3;
	if (write_str(SYSFS "drain", "1") != -EACCES)
		return 4;
	if (write_str(HOOKS "hold", "1") != -EACCES)
		return 5;
	if (read_file(HOOKS "vmap_huge", buf, sizeof(buf)) != -EACCES)
		return 6;
	if (read_file("/sys/kernel/debug/pgtable_free/stats", buf, sizeof(buf)) != -EACCES)
		return 7;
	return 0;
}

/* Others can read the statistics and the mode, and change nothing. */
/*
 * Batching: a list is freed once no table came for the window (the test
 * hook window_ms), at the latest a second after its first table, and at
 * once when it holds 1024 pages.
 */
FIXTURE(batching)
{
	long window;
	bool was_sync;
};

FIXTURE_SETUP(batching)
{
	const char *why = missing_prerequisite();

	if (why)
		SKIP(return, "%s", why);
	self->window = read_ulong(HOOKS "window_ms");
	ASSERT_LE(0, self->window) TH_LOG("no readable %swindow_ms", HOOKS);
	self->was_sync = mode_is_sync();
	ASSERT_EQ(0, start_clean());
}

FIXTURE_TEARDOWN(batching)
{
	char buf[32];

	if (missing_prerequisite() || self->window < 0)
		return;
	snprintf(buf, sizeof(buf), "%ld", self->window);
	write_str(HOOKS "window_ms", buf);
	restore(self->was_sync);
}

static int set_window(long ms)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", ms);
	return write_str(HOOKS "window_ms", buf);
}

TEST_F(batching, knobs_bad_input)
{
	static const char * const bad[] = { "1001", "-1", "abc", "", "10x" };
	unsigned int i;

	ASSERT_EQ(0, set_window(25));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, write_str(HOOKS "window_ms", bad[i]))
			TH_LOG("window_ms accepted '%s'", bad[i]);
		EXPECT_EQ(25, read_ulong(HOOKS "window_ms"));
	}
	EXPECT_EQ(-EINVAL, write_str(HOOKS "wait_max_ms", "5"));
	EXPECT_EQ(0, write_str(HOOKS "wait_max_ms", "0"));
	EXPECT_EQ(0, read_ulong(HOOKS "wait_max_ms"));
	if (have_fake_sva()) {
		EXPECT_EQ(-EINVAL, write_str(HOOKS "sva_cost_us", "1001"));
		EXPECT_EQ(0, read_ulong(HOOKS "sva_cost_us"));
	}
}

/* Pauses shorter than the window keep a slow burst in one batch. */
TEST_F(batching, pauses_shorter_than_the_window)
{
	struct stats before;
	int i;

	/* 400 ms in all: a window counted from the first table would close. */
	ASSERT_EQ(0, set_window(200));
	stats_read(&before);
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, hook(HOOKS "alloc_free", 20));
		usleep(40000);
	}
	ASSERT_TRUE(wait_pending_zero(5000));
	EXPECT_EQ(200, delta(&before, FREED));
	EXPECT_EQ(1, delta(&before, BATCHES));
}

/* A list of 1024 pages goes at once, whatever the window. */
TEST_F(batching, page_cap)
{
	const unsigned long n = 2100;
	struct stats before;

	ASSERT_EQ(0, set_window(1000));
	stats_read(&before);
	ASSERT_EQ(0, hook(HOOKS "alloc_free", n));
	ASSERT_TRUE(wait_pending_zero(5000));
	EXPECT_EQ(n, delta(&before, FREED));
	EXPECT_LE(2, delta(&before, BATCHES));
	TH_LOG("%lu frees, %lu batches", n, delta(&before, BATCHES));
}

/* No list waits much longer than a second, however long the burst. */
TEST_F(batching, time_cap)
{
	struct stats before;
	long wait;
	int i;

	ASSERT_EQ(0, set_window(1000));
	ASSERT_EQ(0, write_str(HOOKS "wait_max_ms", "0"));
	stats_read(&before);
	for (i = 0; i < 15; i++) {
		ASSERT_EQ(0, hook(HOOKS "alloc_free", 5));
		usleep(100000);
	}
	ASSERT_TRUE(wait_pending_zero(5000));
	wait = read_ulong(HOOKS "wait_max_ms");
	EXPECT_EQ(75, delta(&before, FREED));
	EXPECT_LE(2, delta(&before, BATCHES));
	EXPECT_LE(1000, wait);
	EXPECT_GE(1900, wait);
	TH_LOG("75 frees over 1.5 s: %lu batches, a list waited at most %ld ms",
	       delta(&before, BATCHES), wait);
}

/*
 * Releasing the hold has the work item take the list at once, as the OOM
 * notifier and the boot do: the window would hold it a second.
 */
TEST_F(batching, release_does_not_wait_for_the_window)
{
	struct stats before;
	long wait;

	ASSERT_EQ(0, set_window(1000));
	ASSERT_EQ(0, write_str(HOOKS "hold", "1"));
	stats_read(&before);
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 20));
	ASSERT_EQ(0, write_str(HOOKS "wait_max_ms", "0"));
	ASSERT_EQ(0, write_str(HOOKS "hold", "0"));
	ASSERT_TRUE(wait_pending_zero(5000));
	wait = read_ulong(HOOKS "wait_max_ms");
	EXPECT_EQ(20, delta(&before, FREED));
	EXPECT_EQ(1, delta(&before, BATCHES));
	EXPECT_GT(1000, wait) TH_LOG("the list waited %ld ms", wait);
}

/*
 * While an address space is bound, the OOM notifier leaves the list to the
 * work item, which takes it at once rather than when the burst pauses.
 */
TEST_F(batching, oom_does_not_wait_for_the_window)
{
	struct stats before;
	int kmsg;
	long wait;

	if (!have_fake_sva())
		SKIP(return, "no fake SVA binding (CONFIG_IOMMU_SVA is off)");
	ASSERT_EQ(0, set_window(1000));
	ASSERT_EQ(0, sva_bind(1));
	ASSERT_EQ(0, write_str(HOOKS "wait_max_ms", "0"));
	kmsg = kmsg_open();
	ASSERT_GE(kmsg, 0);
	stats_read(&before);
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 64));
	EXPECT_EQ(0, sysrq_oom()) TH_LOG("the sysrq OOM did not kill its victim in 20 s");
	ASSERT_TRUE(wait_pending_zero(5000));
	wait = read_ulong(HOOKS "wait_max_ms");
	EXPECT_EQ(0, delta(&before, OOM_FREED));
	EXPECT_EQ(1, delta(&before, INVALIDATIONS));
	EXPECT_GT(1000, wait) TH_LOG("the list waited %ld ms", wait);
	EXPECT_TRUE(kmsg_find(kmsg, "left to the work item"));
}

/* The queue benchmark refuses what is not "DESIGN COUNT N [CPUS]". */
TEST_F(pgtable_free, queue_bench_input)
{
	static const char * const bad[] = {
		"spin 1 1000 two", "spin 1 100 1 extra", "spin 4294967297 100",
		"spin 2 100", "spin 1 0", "spin 1 100 0", "spin 1 100 4096",
		"spin 1 2000000", "queue 1 100", "spin 1", "", "spin -1 100",
		"spin 1 100x",
	};
	static const char want[] = "design=llist counters=0 cpus=1 ops=1000 ";
	char first[160], now[160];
	unsigned int i;

	ASSERT_EQ(0, write_str(HOOKS "queue_bench", "llist 0 1000 1"));
	ASSERT_LT(0, read_file(HOOKS "queue_bench", first, sizeof(first)));
	EXPECT_EQ(0, strncmp(first, want, strlen(want))) TH_LOG("read '%s'", first);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_EQ(-EINVAL, write_str(HOOKS "queue_bench", bad[i]))
			TH_LOG("queue_bench accepted '%s'", bad[i]);
		ASSERT_LT(0, read_file(HOOKS "queue_bench", now, sizeof(now)));
		EXPECT_STREQ(first, now);
	}
}

TEST_F(pgtable_free, unprivileged)
{
	char before[64], after[64];

	read_mode(before, sizeof(before));
	EXPECT_EQ(0, as_nobody(nobody_checks));
	read_mode(after, sizeof(after));
	EXPECT_STREQ(before, after);
}

static bool flipping;

static void *free_loop(void *arg)
{
	int *err = arg;

	pin_to_cpu(1);
	while (__atomic_load_n(&flipping, __ATOMIC_RELAXED))
		if (hook(HOOKS "alloc_free", 20) || hook(HOOKS "vmap_huge", 5))
			*err = 1;
	return NULL;
}

/* Mode switches racing with frees on another CPU lose nothing. */
TEST_F(pgtable_free, mode_flip_while_freeing)
{
	pthread_t t;
	int err = 0, i;

	pin_to_cpu(0);
	__atomic_store_n(&flipping, true, __ATOMIC_RELAXED);
	ASSERT_EQ(0, pthread_create(&t, NULL, free_loop, &err));
	for (i = 0; i < 300; i++)
		ASSERT_EQ(0, write_str(SYSFS "mode", i & 1 ? "async" : "sync"));
	__atomic_store_n(&flipping, false, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	EXPECT_EQ(0, err);
	ASSERT_EQ(0, write_str(SYSFS "mode", "async"));
	ASSERT_TRUE(wait_pending_zero(10000));
	EXPECT_EQ(stat_read(QUEUED), stat_read(FREED) + stat_read(PENDING));
	EXPECT_EQ(0, stat_read(PENDING));
}

/* The OOM notifier frees a held list, says so, and counts it. */
TEST_F(pgtable_free, oom_frees_pending)
{
	char want[128];
	struct stats before;
	bool seen = false;
	unsigned long pending;
	int kmsg;

	ASSERT_EQ(0, write_str(HOOKS "hold", "1"));
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 64));
	stats_read(&before);
	pending = before.v[PENDING];
	ASSERT_GE(pending, 64);

	kmsg = kmsg_open();
	ASSERT_GE(kmsg, 0);
	EXPECT_EQ(0, sysrq_oom()) TH_LOG("the sysrq OOM did not kill its victim in 20 s");

	EXPECT_EQ(0, stat_read(PENDING));
	EXPECT_EQ(pending, delta(&before, OOM_FREED));
	EXPECT_EQ(1, delta(&before, OOM_EVENTS));
	EXPECT_EQ(pending, delta(&before, FREED));

	snprintf(want, sizeof(want), "freed %lu pending kernel page table pages (%lu kB)",
		 pending, pending * (sysconf(_SC_PAGESIZE) / 1024));
	seen = kmsg_find(kmsg, want);
	EXPECT_TRUE(seen) TH_LOG("no '%s' in the kernel log", want);
}

/* A random byte string: sometimes a valid word with noise around it. */
static size_t fuzz_input(char *buf, size_t size, const char * const *words,
			 int nwords)
{
	size_t len = 0, i;
	const char *w;

	switch (random() % 4) {
	case 0:	/* noise of any length up to a page, NULs included */
		len = random() % size;
		for (i = 0; i < len; i++)
			buf[i] = random();
		break;
	case 1:	/* a word with a byte changed, added or lost */
		w = words[random() % nwords];
		len = strlen(w);
		memcpy(buf, w, len);
		i = random() % (len + 1);
		if (random() & 1 && i < len)
			buf[i] = random();
		else if (random() & 1 && len)
			len--;
		else
			buf[len++] = random();
		break;
	case 2:	/* a word followed by junk */
		w = words[random() % nwords];
		len = strlen(w);
		memcpy(buf, w, len);
		buf[len++] = random() & 1 ? '\0' : ' ';
		while (len < size && random() % 8)
			buf[len++] = random();
		break;
	default: /* the words and their case, with or without a newline */
		w = words[random() % nwords];
		len = strlen(w);
		for (i = 0; i < len; i++)
			buf[i] = random() & 1 ? w[i] : w[i] ^ 0x20;
		if (random() & 1)
			buf[len++] = '\n';
		break;
	}
	return len;
}

static bool is_valid(const char *buf, size_t len, const char * const *valid,
		     int nvalid)
{
	int i;

	for (i = 0; i < nvalid; i++)
		if (len == strlen(valid[i]) && !memcmp(buf, valid[i], len))
			return true;
	return false;
}

/*
 * Random writes: only the documented values are taken, nothing else moves.
 * About 30 s on the debug kernel under TCG.
 */
TEST_F_TIMEOUT(pgtable_free, fuzz_mode_and_drain, 300)
{
	static const char * const mode_ok[] = { "async", "async\n", "sync", "sync\n" };
	static const char * const drain_ok[] = { "1", "1\n" };
	int i, accepted = 0, rejected = 0, iterations = 2000;
	char buf[4096], mode[64], after[64];
	unsigned int seed = time(NULL);
	struct stats before;
	size_t len;
	int ret;

	srandom(seed);
	TH_LOG("seed %u", seed);
	for (i = 0; i < iterations; i++) {
		bool to_mode = i & 1;
		const char * const *ok = to_mode ? mode_ok : drain_ok;
		int nok = to_mode ? 4 : 2;

		len = fuzz_input(buf, sizeof(buf), ok, nok);
		if (!len)
			continue;
		read_mode(mode, sizeof(mode));
		stats_read(&before);
		ret = write_bytes(to_mode ? SYSFS "mode" : SYSFS "drain", buf, len);
		if (is_valid(buf, len, ok, nok)) {
			ASSERT_EQ(0, ret) TH_LOG("valid input %d refused", i);
			accepted++;
			continue;
		}
		ASSERT_EQ(-EINVAL, ret) TH_LOG("input %d (%zu bytes) got %d", i, len, ret);
		rejected++;
		read_mode(after, sizeof(after));
		ASSERT_STREQ(mode, after) TH_LOG("input %d changed the mode", i);
		ASSERT_EQ(before.v[BATCHES], stat_read(BATCHES));
	}
	TH_LOG("%d inputs: %d accepted, %d rejected", accepted + rejected,
	       accepted, rejected);
	EXPECT_GE(accepted + rejected, 1000);
	EXPECT_GT(accepted, 0);
}

TEST_HARNESS_MAIN
