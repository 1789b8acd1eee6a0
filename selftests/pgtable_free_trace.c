// SPDX-License-Identifier: GPL-2.0
/*
 * The pgtable_free trace events against the counters: a known number of
 * frees through the test hooks gives exactly that many queue (or sync)
 * events, and batch events whose pages add up to what the counters say
 * was freed, with the reason and the invalidation of each batch.  The
 * events are read from a tracefs instance of the test's own, so that the
 * system's tracing state is left alone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../kselftest_harness.h"

#include "pgtable_free.h"

#define INSTANCE	"pgtable_free_selftest"

static const char * const tracefs_roots[] = {
	"/sys/kernel/tracing/", "/sys/kernel/debug/tracing/",
};

struct events {
	unsigned long queue, queue_pages;	/* pgtable_free_queue */
	unsigned long sync, sync_pages;		/* pgtable_free_sync */
	unsigned long batch, batch_pages;	/* pgtable_free_batch */
	unsigned long by_reason[3], pages_by_reason[3];
	unsigned long invalidating, inv_mms, inv_ns_zero;
	unsigned long hook_callers;		/* queue/sync from the hooks */
	unsigned long lost;
};

static const char * const reasons[] = { "work", "drain", "oom" };

FIXTURE(trace) {
	char dir[256];		/* the instance, with a trailing slash */
	bool was_sync;
};

static int instance_file(struct _test_data_trace *self, const char *rel,
			 const char *val)
{
	char path[512];

	snprintf(path, sizeof(path), "%s%s", self->dir, rel);
	return write_str(path, val);
}

FIXTURE_SETUP(trace)
{
	const char *missing = missing_prerequisite();
	char path[256];
	unsigned int i;

	if (missing)
		SKIP(return, "%s", missing);
	self->dir[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(tracefs_roots); i++) {
		snprintf(path, sizeof(path), "%sevents/pgtable_free",
			 tracefs_roots[i]);
		if (!access(path, F_OK)) {
			snprintf(self->dir, sizeof(self->dir), "%sinstances/"
				 INSTANCE "/", tracefs_roots[i]);
			break;
		}
	}
	if (!self->dir[0]) {
		/* A kernel with tracefs must have the events. */
		if (!access("/sys/kernel/tracing/events", F_OK) ||
		    !access("/sys/kernel/debug/tracing/events", F_OK))
			ASSERT_TRUE(false) TH_LOG("tracefs has no pgtable_free events");
		SKIP(return, "no tracefs (CONFIG_TRACING) on this kernel");
	}
	rmdir(self->dir);
	ASSERT_EQ(0, mkdir(self->dir, 0700)) TH_LOG("mkdir %s: %m", self->dir);
	ASSERT_EQ(0, instance_file(self, "buffer_size_kb", "8192"));
	self->was_sync = mode_is_sync();
	ASSERT_EQ(0, start_clean());
	ASSERT_EQ(0, instance_file(self, "events/pgtable_free/enable", "1"));
}

FIXTURE_TEARDOWN(trace)
{
	if (missing_prerequisite() || !self->dir[0])
		return;
	instance_file(self, "events/pgtable_free/enable", "0");
	rmdir(self->dir);
	restore(self->was_sync);
}

/* A field "name=value" of an event line; false when it is not there. */
static bool field(const char *line, const char *name, char *val, size_t size)
{
	const char *p = strstr(line, name);
	size_t n;

	if (!p)
		return false;
	p += strlen(name);
	n = strcspn(p, "\n ");
	if (n >= size)
		n = size - 1;
	memcpy(val, p, n);
	val[n] = '\0';
	return true;
}

static unsigned long ufield(const char *line, const char *name)
{
	char v[32];

	return field(line, name, v, sizeof(v)) ? strtoul(v, NULL, 10) : 0;
}

/* Stop the events and sum what the instance recorded since the setup. */
static void collect(struct _test_data_trace *self, struct events *ev)
{
	char path[512], line[1024], caller[256], reason[16];
	unsigned int r;
	FILE *f;

	memset(ev, 0, sizeof(*ev));
	instance_file(self, "events/pgtable_free/enable", "0");
	snprintf(path, sizeof(path), "%strace", self->dir);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "LOST") && strstr(line, "EVENTS"))
			ev->lost++;
		if (line[0] == '#')
			continue;
		if (strstr(line, " pgtable_free_queue: ")) {
			ev->queue++;
			ev->queue_pages += ufield(line, "nr_pages=");
			if (field(line, "caller=", caller, sizeof(caller)) &&
			    strstr(caller, "alloc_free"))
				ev->hook_callers++;
		} else if (strstr(line, " pgtable_free_sync: ")) {
			ev->sync++;
			ev->sync_pages += ufield(line, "nr_pages=");
			if (field(line, "caller=", caller, sizeof(caller)) &&
			    strstr(caller, "alloc_free"))
				ev->hook_callers++;
		} else if (strstr(line, " pgtable_free_batch: ")) {
			ev->batch++;
			ev->batch_pages += ufield(line, "nr_pages=");
			field(line, "reason=", reason, sizeof(reason));
			for (r = 0; r < ARRAY_SIZE(reasons); r++) {
				if (!strcmp(reason, reasons[r])) {
					ev->by_reason[r]++;
					ev->pages_by_reason[r] += ufield(line, "nr_pages=");
				}
			}
			if (ufield(line, "mms=")) {
				ev->invalidating++;
				ev->inv_mms += ufield(line, "mms=");
				if (!ufield(line, "invalidate_ns="))
					ev->inv_ns_zero++;
			}
		}
	}
	fclose(f);
}

/* Async: N queue events naming the hook, batches that add up to N. */
TEST_F(trace, async_burst)
{
	struct stats before;
	struct events ev;

	stats_read(&before);
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 1000));
	ASSERT_TRUE(wait_pending_zero(10000));
	collect(self, &ev);

	ASSERT_EQ(0, ev.lost);
	EXPECT_EQ(delta(&before, QUEUED), ev.queue_pages);
	EXPECT_EQ(1000, ev.queue);
	EXPECT_EQ(1000, ev.hook_callers) TH_LOG("callers do not name the hook");
	EXPECT_EQ(delta(&before, BATCHES), ev.batch);
	EXPECT_EQ(delta(&before, FREED), ev.batch_pages);
	EXPECT_EQ(ev.batch, ev.by_reason[0]) TH_LOG("batches not by the work item");
	EXPECT_EQ(0, ev.sync);
	EXPECT_EQ(0, ev.invalidating);
	TH_LOG("1000 frees: %lu queue events, %lu batches", ev.queue, ev.batch);
}

/* Sync with nothing bound: sync events only, no queue, no batch. */
TEST_F(trace, sync_frees)
{
	struct stats before;
	struct events ev;

	ASSERT_EQ(0, write_str(SYSFS "mode", "sync"));
	stats_read(&before);
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 500));
	collect(self, &ev);

	ASSERT_EQ(0, ev.lost);
	EXPECT_EQ(500, ev.sync);
	EXPECT_EQ(delta(&before, FREED_SYNC), ev.sync_pages);
	EXPECT_EQ(500, ev.hook_callers);
	EXPECT_EQ(0, ev.queue);
	EXPECT_EQ(0, ev.batch);
}

/* A held list drained: one batch, reason drain, every page of it. */
TEST_F(trace, drain_one_batch)
{
	struct stats before;
	struct events ev;

	ASSERT_EQ(0, write_str(HOOKS "hold", "1"));
	stats_read(&before);
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 700));
	ASSERT_EQ(0, write_str(SYSFS "drain", "1"));
	collect(self, &ev);

	ASSERT_EQ(0, ev.lost);
	EXPECT_EQ(700, ev.queue);
	EXPECT_EQ(1, ev.batch);
	EXPECT_EQ(1, ev.by_reason[1]);
	EXPECT_EQ(700, ev.pages_by_reason[1]);
	EXPECT_EQ(delta(&before, FREED), ev.batch_pages);
}

/* With a fake SVA address space bound: every batch invalidates, timed. */
TEST_F(trace, invalidating_batches)
{
	struct stats before;
	struct events ev;

	if (!have_fake_sva())
		SKIP(return, "this kernel has no SVA (CONFIG_IOMMU_SVA)");
	ASSERT_EQ(0, sva_bind(2));
	stats_read(&before);
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 2000));
	ASSERT_TRUE(wait_pending_zero(10000));
	collect(self, &ev);
	sva_bind(0);

	ASSERT_EQ(0, ev.lost);
	EXPECT_EQ(delta(&before, BATCHES), ev.batch);
	EXPECT_EQ(delta(&before, INVALIDATIONS), ev.invalidating);
	EXPECT_EQ(ev.batch, ev.invalidating);
	EXPECT_EQ(delta(&before, INVALIDATED_MMS), ev.inv_mms);
	EXPECT_EQ(2 * ev.invalidating, ev.inv_mms);
	EXPECT_EQ(0, ev.inv_ns_zero) TH_LOG("an invalidation without its time");
	EXPECT_EQ(2000, ev.batch_pages);
}

/* An OOM frees a held list: one batch, reason oom, as the counters say. */
TEST_F(trace, oom_batch)
{
	struct stats before;
	struct events ev;

	ASSERT_EQ(0, write_str(HOOKS "hold", "1"));
	ASSERT_EQ(0, hook(HOOKS "alloc_free", 64));
	stats_read(&before);

	EXPECT_EQ(0, sysrq_oom()) TH_LOG("the sysrq OOM did not kill its victim in 20 s");
	collect(self, &ev);

	ASSERT_EQ(0, ev.lost);
	EXPECT_EQ(1, delta(&before, OOM_EVENTS));
	EXPECT_EQ(1, ev.by_reason[2]);
	EXPECT_EQ(delta(&before, OOM_FREED), ev.pages_by_reason[2]);
	EXPECT_EQ(before.v[PENDING], ev.pages_by_reason[2]);
}

TEST_HARNESS_MAIN
