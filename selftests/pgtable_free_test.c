// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of the deferred freeing of kernel page tables through its ABI,
 * /sys/kernel/mm/pgtable_free/, and the files of the test module
 * pgtable_free_test in debugfs, which free kernel page tables through the
 * page table allocators and bind fake address spaces for SVA.  With
 * CONFIG_DEBUG_KERNEL_PGTABLE_FREE every test also checks that the kernel
 * saw no table freed against the rule.
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
	long violations;
};

FIXTURE_SETUP(pgtable_free)
{
	const char *missing = missing_prerequisite();

	if (missing)
		SKIP(return, "%s", missing);
	self->was_sync = mode_is_sync();
	self->violations = violations();
	ASSERT_EQ(0, start_clean());
}

FIXTURE_TEARDOWN(pgtable_free)
{
	if (missing_prerequisite())
		return;
	restore(self->was_sync);
	EXPECT_EQ(self->violations, violations())
		TH_LOG("the kernel saw a table freed against the rule");
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

/* Held tables are queued and pending; a drain frees them as one batch. */
TEST_F(pgtable_free, held_then_drained)
{
	const unsigned long n = 200;
	struct stats before;

	ASSERT_EQ(0, write_str(HOOKS "hold", "1"));
	stats_read(&before);
	ASSERT_EQ(0, hook(HOOKS "alloc_free", n));
	ASSERT_EQ(n, hook_result(HOOKS "alloc_free"));

	EXPECT_EQ(n, delta(&before, QUEUED));
	EXPECT_EQ(n, delta(&before, PENDING));
	EXPECT_EQ(0, delta(&before, FREED));
	EXPECT_GE(stat_read(PENDING_MAX), n);

	ASSERT_EQ(0, write_str(SYSFS "drain", "1"));
	EXPECT_EQ(0, stat_read(PENDING));
	EXPECT_EQ(n, delta(&before, FREED));
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
TEST_F_TIMEOUT(pgtable_free, worker_drains, 300)
{
	const unsigned long n = 1000;
	struct stats before;
	unsigned long batches;

	stats_read(&before);
	ASSERT_EQ(0, hook(HOOKS "alloc_free", n));
	ASSERT_EQ(n, hook_result(HOOKS "alloc_free"));
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
TEST_F_TIMEOUT(pgtable_free, burst_two_cpus, 300)
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
	settle_memory();
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

	settle_memory();
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

	ASSERT_EQ(0, hook(HOOKS "alloc_free", 100));
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
	long violations;
};

FIXTURE_SETUP(sva)
{
	const char *why = missing_prerequisite();

	if (why)
		SKIP(return, "%s", why);
	if (!have_fake_sva())
		SKIP(return, "this kernel has no SVA (CONFIG_IOMMU_SVA)");
	self->was_sync = mode_is_sync();
	self->violations = violations();
	ASSERT_EQ(0, start_clean());
}

FIXTURE_TEARDOWN(sva)
{
	if (missing_prerequisite() || !have_fake_sva())
		return;
	restore(self->was_sync);
	EXPECT_EQ(self->violations, violations())
		TH_LOG("the kernel saw a table freed against the rule");
}

/* One batch, two bound address spaces: one invalidation covering both. */
TEST_F(sva, one_invalidation_per_batch)
{
	long calls, errors;
	struct stats before;

	ASSERT_EQ(0, sva_bind(2));
	EXPECT_EQ(2, hook_result(HOOKS "sva_bind"));
	ASSERT_EQ(0, write_str(HOOKS "hold", "1"));
	stats_read(&before);
	calls = hook_result(HOOKS "sva_calls");
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
	EXPECT_EQ(errors, hook_result(HOOKS "sva_errors"))
		TH_LOG("an invalidation came in atomic context or for another range");
}

/* A burst in async mode: one invalidation per batch, none missed. */
TEST_F_TIMEOUT(sva, burst_invalidates_every_batch, 300)
{
	struct stats before;
	long errors, calls, inv;

	ASSERT_EQ(0, sva_bind(1));
	stats_read(&before);
	errors = hook_result(HOOKS "sva_errors");
	calls = hook_result(HOOKS "sva_calls");
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 3000));
	ASSERT_TRUE(wait_pending_zero(10000));
	inv = delta(&before, INVALIDATIONS);
	EXPECT_EQ(3000, delta(&before, FREED));
	EXPECT_EQ(delta(&before, BATCHES), inv);
	EXPECT_EQ(inv, delta(&before, INVALIDATED_MMS));
	EXPECT_EQ(inv, hook_result(HOOKS "sva_calls") - calls);
	EXPECT_LE(1, inv);
	EXPECT_EQ(0, delta(&before, FREED_SYNC));
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
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 80));
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

/*
 * The drain waits for the work item, not for the IOMMU: while the work
 * item is stuck in an invalidation (a fake one, stalled, as a real one may
 * wait behind a bind that holds the lock it takes), the writer still dies
 * of a fatal signal, and the pages are freed once the work item can go on.
 */
TEST_F(sva, drain_is_killable)
{
	struct stats before;
	int status, i;
	pid_t writer;

	ASSERT_EQ(0, sva_bind(1));
	stats_read(&before);
	ASSERT_EQ(0, write_str(HOOKS "sva_stall", "1"));
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 10));

	writer = fork();
	ASSERT_GE(writer, 0);
	if (!writer)
		_exit(write_str(SYSFS "drain", "1") ? 1 : 0);
	usleep(300000);
	EXPECT_EQ(0, waitpid(writer, &status, WNOHANG))
		TH_LOG("the drain returned while the work item was stuck");
	ASSERT_EQ(0, kill(writer, SIGKILL));
	for (i = 0; i < 200 && waitpid(writer, &status, WNOHANG) == 0; i++)
		usleep(10000);
	EXPECT_LT(i, 200) TH_LOG("the drain did not die of SIGKILL in 2 s");
	if (i == 200) {
		write_str(HOOKS "sva_stall", "0");
		waitpid(writer, &status, 0);
	}
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	ASSERT_EQ(0, write_str(HOOKS "sva_stall", "0"));
	ASSERT_EQ(0, write_str(SYSFS "drain", "1"));
	EXPECT_EQ(10, delta(&before, FREED));
	EXPECT_EQ(delta(&before, BATCHES), delta(&before, INVALIDATIONS));
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
	if (read_file(HOOKS "alloc_free", buf, sizeof(buf)) != -EACCES)
		return 6;
	if (read_file("/sys/kernel/debug/pgtable_free/stats", buf, sizeof(buf)) != -EACCES)
		return 7;
	return 0;
}

/* Others can read the statistics and the mode, and change nothing. */
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
		if (hook(HOOKS "alloc_free", 20))
			*err = 1;
	return NULL;
}

/* Mode switches racing with frees on another CPU lose nothing. */
TEST_F_TIMEOUT(pgtable_free, mode_flip_while_freeing, 300)
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
