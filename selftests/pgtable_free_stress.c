// SPDX-License-Identifier: GPL-2.0
/*
 * Stress and fault tests of the deferred freeing of kernel page tables:
 * frees from every CPU while the mode flips, drains run and the list is
 * held; SVA binds and unbinds racing frees in sync mode, drains and the
 * OOM notifier, under the rule checker; CPU hotplug under a drain; a real
 * out-of-memory with pages held.
 *
 * PGTABLE_FREE_STRESS_SECONDS sets the length of the stress run (60),
 * PGTABLE_FREE_RACE_SECONDS that of the SVA races (20).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest_harness.h"

#include "pgtable_free.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int ncpus(void)
{
	return sysconf(_SC_NPROCESSORS_ONLN);
}

FIXTURE(stress) {
	bool was_sync;
	long violations;
};

FIXTURE_SETUP(stress)
{
	const char *missing = missing_prerequisite();

	if (missing)
		SKIP(return, "%s", missing);
	self->was_sync = mode_is_sync();
	self->violations = violations();
	ASSERT_EQ(0, start_clean());
}

FIXTURE_TEARDOWN(stress)
{
	if (missing_prerequisite())
		return;
	write_str(DEBUGFS "check_delay_us", "0");
	restore(self->was_sync);
	EXPECT_EQ(self->violations, violations())
		TH_LOG("the kernel saw a table freed against the rule");
}

/* Flags shared between threads, read and written whole. */
static bool flag_read(const bool *flag)
{
	return __atomic_load_n(flag, __ATOMIC_RELAXED);
}

static void flag_set(bool *flag, bool value)
{
	__atomic_store_n(flag, value, __ATOMIC_RELAXED);
}

struct worker {
	pthread_t thread;
	int cpu;
	bool *stop;
	long ops, tables;
	int err;
};

/* Free tables on one CPU, until told to stop. */
static void *free_worker(void *arg)
{
	struct worker *w = arg;

	pin_to_cpu(w->cpu);
	while (!flag_read(w->stop)) {
		if (hook(HOOKS "alloc_free", 64)) {
			w->err = errno ? errno : 1;
			break;
		}
		w->tables += 64;
		w->ops++;
	}
	return NULL;
}

/*
 * A free worker on each of @n CPUs for @seconds, then @stop set (it stops
 * the caller's other workers too).  Returns the tables freed, -1 if a
 * worker could not start.
 */
static long run_free_workers(struct __test_metadata *_metadata,
			     struct worker *w, int n, bool *stop, int seconds)
{
	long tables = 0;
	int i, started;

	for (started = 0; started < n; started++) {
		w[started] = (struct worker){ .cpu = started, .stop = stop };
		if (pthread_create(&w[started].thread, NULL, free_worker,
				   &w[started]))
			break;
	}
	if (started == n)
		sleep(seconds);
	flag_set(stop, true);
	for (i = 0; i < started; i++) {
		pthread_join(w[i].thread, NULL);
		EXPECT_EQ(0, w[i].err) TH_LOG("cpu %d", i);
		tables += w[i].tables;
	}
	return started == n ? tables : -1;
}

/* Flip the mode, drain, and toggle hold, until told to stop. */
static void *control_worker(void *arg)
{
	struct worker *w = arg;
	long i = 0;

	while (!flag_read(w->stop)) {
		static const char * const ops[][2] = {
			{ SYSFS "mode", "sync" },
			{ SYSFS "mode", "async" },
			{ HOOKS "hold", "1" },
			{ SYSFS "drain", "1" },
			{ HOOKS "hold", "0" },
		};
		const char * const *op = ops[i++ % ARRAY_SIZE(ops)];

		w->err |= write_str(op[0], op[1]);
		w->ops++;
		usleep(2000);
	}
	return NULL;
}

TEST_F_TIMEOUT(stress, all_cpus_with_control, 600)
{
	const char *env = getenv("PGTABLE_FREE_STRESS_SECONDS");
	int seconds = env ? atoi(env) : 60, n = ncpus();
	long queued0, freed0, sync0, free_before, free_after, tables = 0;
	struct worker w[64], ctl = { 0 };
	bool stop = false;
	double start;

	ASSERT_LE(n, 64);
	warm_up();
	settle_memory();
	free_before = free_pages_all();
	queued0 = stat_read(QUEUED);
	freed0 = stat_read(FREED);
	sync0 = stat_read(FREED_SYNC);

	start = now();
	ctl.stop = &stop;
	ASSERT_EQ(0, pthread_create(&ctl.thread, NULL, control_worker, &ctl));
	tables = run_free_workers(_metadata, w, n, &stop, seconds);
	ASSERT_LE(0, tables);
	pthread_join(ctl.thread, NULL);
	EXPECT_EQ(0, ctl.err);

	ASSERT_EQ(0, write_str(HOOKS "hold", "0"));
	ASSERT_EQ(0, write_str(SYSFS "mode", "async"));
	ASSERT_EQ(0, write_str(SYSFS "drain", "1"));
	ASSERT_TRUE(wait_pending_zero(10000));

	/* Every table freed by the hooks went through exactly one path. */
	EXPECT_EQ(tables, (stat_read(QUEUED) - queued0) +
			  (stat_read(FREED_SYNC) - sync0));
	EXPECT_EQ(stat_read(QUEUED) - queued0, stat_read(FREED) - freed0);
	EXPECT_EQ(stat_read(QUEUED), stat_read(FREED) + stat_read(PENDING));

	sleep(1);
	settle_memory();
	free_after = free_pages_all();
	TH_LOG("%d CPUs, %.0f s: %ld tables freed (%ld queued, %ld sync)",
	       n, now() - start, tables, stat_read(QUEUED) - queued0,
	       stat_read(FREED_SYNC) - sync0);
	TH_LOG("%ld control ops; free pages %ld -> %ld", ctl.ops,
	       free_before, free_after);
	/*
	 * A leak of more than one table in a hundred shows.  Less is lost
	 * in what a KASAN kernel takes for the workers this load starts
	 * (106 pages in a run of 15,040 tables).
	 */
	EXPECT_LE(free_before - free_after, tables / 100 > 64 ? tables / 100 : 64);
}

/* Bind and unbind a fake SVA address space, until told to stop. */
static void *bind_worker(void *arg)
{
	struct worker *w = arg;

	while (!flag_read(w->stop)) {
		w->err |= sva_bind(++w->ops & 1);
		usleep(300);
	}
	return NULL;
}

/* Drain, and switch between the modes now and then, until told to stop. */
static void *drain_worker(void *arg)
{
	struct worker *w = arg;

	while (!flag_read(w->stop)) {
		w->err |= write_str(SYSFS "drain", "1");
		if (++w->ops % 16 == 0)
			w->err |= write_str(SYSFS "mode", w->ops % 32 ? "async" : "sync");
		usleep(1000);
	}
	return NULL;
}

/* Run the OOM notifiers through sysrq, until told to stop. */
static void *oom_worker(void *arg)
{
	struct worker *w = arg;

	while (!flag_read(w->stop)) {
		if (sysrq_oom())
			w->err = 1;
		w->ops++;
		usleep(20000);
	}
	return NULL;
}

static int real_oom(struct __test_metadata *_metadata, int *decoys_killed);

/*
 * SVA binds and unbinds race frees in sync mode, drains and the OOM
 * notifier (through sysrq while tables are freed, then a real OOM while
 * tables are held): the rule checker of the kernel must see nothing freed
 * without an invalidation while an address space was bound, and nothing
 * invalidated or freed while still reachable.  It widens the OOM
 * notifier's window before it takes the list (check_delay_us), where a
 * bind racing it is most likely to come in.
 */
TEST_F_TIMEOUT(stress, sva_bind_races, 600)
{
	const char *env = getenv("PGTABLE_FREE_RACE_SECONDS");
	int seconds = env ? atoi(env) : 20, n = ncpus(), status, decoys;
	struct worker w[64], binder = { 0 }, drainer = { 0 }, oomer = { 0 };
	long queued0, freed0, sync0, tables = 0;
	bool stop = false, unbind = false;

	if (!have_fake_sva())
		SKIP(return, "no fake SVA binding (CONFIG_IOMMU_SVA is off)");
	if (violations() < 0)
		SKIP(return, "needs CONFIG_DEBUG_KERNEL_PGTABLE_FREE to see the races");
	ASSERT_LE(n, 64);
	/* Held, the OOM notifier always finds pages to free or put back. */
	ASSERT_EQ(0, write_str(DEBUGFS "check_delay_us", "5000"));
	ASSERT_EQ(0, write_str(HOOKS "hold", "1"));
	ASSERT_EQ(0, write_str(SYSFS "mode", "sync"));
	queued0 = stat_read(QUEUED);
	freed0 = stat_read(FREED);
	sync0 = stat_read(FREED_SYNC);

	binder.stop = &unbind;
	drainer.stop = &stop;
	oomer.stop = &stop;
	ASSERT_EQ(0, pthread_create(&binder.thread, NULL, bind_worker, &binder));
	ASSERT_EQ(0, pthread_create(&drainer.thread, NULL, drain_worker, &drainer));
	ASSERT_EQ(0, pthread_create(&oomer.thread, NULL, oom_worker, &oomer));
	tables = run_free_workers(_metadata, w, n, &stop, seconds);
	ASSERT_LE(0, tables);
	pthread_join(drainer.thread, NULL);
	pthread_join(oomer.thread, NULL);
	EXPECT_EQ(0, drainer.err);
	EXPECT_EQ(0, oomer.err) TH_LOG("a sysrq OOM did not kill its victim");

	/* A real OOM while the binds go on and tables are held. */
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 128));
	tables += 128;
	status = real_oom(_metadata, &decoys);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("the hog was not OOM-killed (status 0x%x)", status);
	flag_set(&unbind, true);
	pthread_join(binder.thread, NULL);
	EXPECT_EQ(0, binder.err);

	ASSERT_EQ(0, write_str(DEBUGFS "check_delay_us", "0"));
	ASSERT_EQ(0, sva_bind(0));
	ASSERT_EQ(0, write_str(HOOKS "hold", "0"));
	ASSERT_EQ(0, write_str(SYSFS "drain", "1"));
	ASSERT_TRUE(wait_pending_zero(10000));
	EXPECT_EQ(tables, (stat_read(QUEUED) - queued0) +
			  (stat_read(FREED_SYNC) - sync0));
	EXPECT_EQ(stat_read(QUEUED) - queued0, stat_read(FREED) - freed0);
	TH_LOG("%.0f s: %ld tables (%ld queued, %ld at once), %ld binds and unbinds, "
	       "%ld drains, %ld sysrq OOMs, %d decoys OOM-killed after the hog",
	       (double)seconds, tables, stat_read(QUEUED) - queued0,
	       stat_read(FREED_SYNC) - sync0, binder.ops, drainer.ops, oomer.ops,
	       decoys);
}

static bool hotplug_stop;

static void *hotplug_worker(void *arg)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	int *cycles = arg, cpu;
	char path[64];

	while (!flag_read(&hotplug_stop)) {
		for (cpu = 1; cpu < cpus && !flag_read(&hotplug_stop); cpu++) {
			snprintf(path, sizeof(path),
				 "/sys/devices/system/cpu/cpu%d/online", cpu);
			if (access(path, W_OK))
				continue;
			if (write_str(path, "0") == 0) {
				write_str(path, "1");
				(*cycles)++;
			}
		}
	}
	return NULL;
}

/* Drains and frees while CPUs go offline and back lose nothing. */
TEST_F_TIMEOUT(stress, drain_during_cpu_hotplug, 300)
{
	long queued0, freed0;
	int cycles = 0, i;
	pthread_t t;

	if (access("/sys/devices/system/cpu/cpu1/online", W_OK))
		SKIP(return, "no CPU 1 that can go offline (CONFIG_HOTPLUG_CPU, 2+ CPUs)");
	queued0 = stat_read(QUEUED);
	freed0 = stat_read(FREED);
	flag_set(&hotplug_stop, false);
	ASSERT_EQ(0, pthread_create(&t, NULL, hotplug_worker, &cycles));
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, write_str(HOOKS "hold", i % 3 ? "0" : "1"));
		ASSERT_EQ(0, hook(HOOKS "alloc_free", 50));
		if (i % 4 == 0)
			ASSERT_EQ(0, write_str(SYSFS "drain", "1"));
	}
	flag_set(&hotplug_stop, true);
	pthread_join(t, NULL);
	ASSERT_EQ(0, write_str(HOOKS "hold", "0"));
	ASSERT_TRUE(wait_pending_zero(10000));
	TH_LOG("%d offline/online cycles during %d frees", cycles, 200 * 50);
	EXPECT_GT(cycles, 0);
	EXPECT_EQ(200 * 50, stat_read(QUEUED) - queued0);
	EXPECT_EQ(200 * 50, stat_read(FREED) - freed0);
}

/*
 * Leave about @keep_mb of memory free by reserving the rest as huge pages,
 * so that a hog reaches OOM in seconds, not minutes, where faulting pages
 * in is slow (a debug kernel under TCG).  Returns the huge pages reserved;
 * 0 without hugetlb, and the hog then has all of memory to fill.
 */
static long reserve_memory(long keep_mb)
{
	long avail_kb = 0, huge_kb = 0, v, n;
	char line[256], num[32];
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemAvailable: %ld kB", &v) == 1)
			avail_kb = v;
		if (sscanf(line, "Hugepagesize: %ld kB", &v) == 1)
			huge_kb = v;
	}
	fclose(f);
	if (!huge_kb || avail_kb <= keep_mb * 1024)
		return 0;
	n = (avail_kb - keep_mb * 1024) / huge_kb;
	snprintf(num, sizeof(num), "%ld", n);
	write_str("/proc/sys/vm/drop_caches", "3");
	if (write_str("/proc/sys/vm/nr_hugepages", num))
		return 0;
	return n;
}

/*
 * Allocate memory until the OOM killer ends us.  Locked, the hog's own
 * code stays in memory and its pages are populated in the kernel: else
 * reclaim evicts the code, faults it back from the 9p root at every step
 * and holds the OOM off for minutes under TCG.
 */
static void memory_hog(void)
{
	write_str("/proc/self/oom_score_adj", "1000");
	mlockall(MCL_CURRENT | MCL_FUTURE);
	for (;;) {
		char *p = mmap(NULL, 16 << 20, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			continue;
		memset(p, 0x5a, 16 << 20);
	}
}

static void decoy(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	write_str("/proc/self/oom_score_adj", "1000");
	for (;;)
		pause();
}

#define DECOYS 8

/*
 * A real OOM: a hog fills what reserve_memory() leaves until the OOM
 * killer takes it.  exit_mmap() hides the dying hog from the OOM killer
 * before it frees the pages its mmu_gather still holds (up to 10,000), and
 * an allocation in that gap starts another OOM; the decoys, next in line
 * after the hog (same oom_score_adj, a few pages each), take those kills
 * rather than the test or its runner.  Returns the hog's wait status and
 * in @decoys_killed how many decoys the OOM killer took.
 */
static int real_oom(struct __test_metadata *_metadata, int *decoys_killed)
{
	pid_t decoys[DECOYS], hog;
	int i, status, hog_status;

	for (i = 0; i < DECOYS; i++) {
		decoys[i] = fork();
		ASSERT_GE(decoys[i], 0);
		if (!decoys[i])
			decoy();
	}
	TH_LOG("%ld huge pages reserved, the hog fills the rest",
	       reserve_memory(96));
	hog = fork();
	ASSERT_GE(hog, 0);
	if (!hog)
		memory_hog();
	ASSERT_EQ(hog, waitpid(hog, &hog_status, 0));
	write_str("/proc/sys/vm/nr_hugepages", "0");

	*decoys_killed = 0;
	for (i = 0; i < DECOYS; i++) {
		kill(decoys[i], SIGTERM);
		ASSERT_EQ(decoys[i], waitpid(decoys[i], &status, 0));
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			(*decoys_killed)++;
	}
	return hog_status;
}

/*
 * A real OOM, no sysrq: the notifier frees the held pages and says so
 * before the OOM killer picks the hog.
 */
TEST_F_TIMEOUT(stress, real_oom_frees_held_pages, 300)
{
	long pending, oom0, events0, freed0;
	char want[128];
	bool seen = false;
	int kmsg, status, decoys;

	ASSERT_EQ(0, write_str(HOOKS "hold", "1"));
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 128));
	pending = stat_read(PENDING);
	ASSERT_GE(pending, 128);
	oom0 = stat_read(OOM_FREED);
	events0 = stat_read(OOM_EVENTS);
	freed0 = stat_read(FREED);

	kmsg = kmsg_open();
	ASSERT_GE(kmsg, 0);

	status = real_oom(_metadata, &decoys);
	if (decoys)
		TH_LOG("%d decoys OOM-killed after the hog", decoys);
	EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
		TH_LOG("the hog was not OOM-killed (status 0x%x)", status);

	EXPECT_EQ(0, stat_read(PENDING));
	EXPECT_EQ(pending, stat_read(OOM_FREED) - oom0);
	EXPECT_EQ(1, stat_read(OOM_EVENTS) - events0);
	EXPECT_EQ(pending, stat_read(FREED) - freed0);
	EXPECT_EQ(stat_read(QUEUED), stat_read(FREED) + stat_read(PENDING));

	snprintf(want, sizeof(want),
		 "out of memory: freed %ld pending kernel page table pages (%ld kB)",
		 pending, pending * (sysconf(_SC_PAGESIZE) / 1024));
	seen = kmsg_find(kmsg, want);
	EXPECT_TRUE(seen) TH_LOG("no '%s' in the kernel log", want);
}

TEST_HARNESS_MAIN
