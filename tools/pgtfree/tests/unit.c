// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the parsers and formatters, linked with util.o, sysfs.o,
 * report.o and top_parse.o.  TAP on stdout.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtfree.h"
#include "top.h"

static int n, nfail;

static void check(int cond, const char *what, const char *got)
{
	n++;
	if (!cond)
		nfail++;
	printf("%sok %d - unit: %s", cond ? "" : "not ", n, what);
	if (!cond && got)
		printf(" (got '%s')", got);
	putchar('\n');
}

static void size_is(uint64_t bytes, const char *want)
{
	char *s = human_size(bytes), what[96];

	snprintf(what, sizeof(what), "human_size(%llu) = %s",
		 (unsigned long long)bytes, want);
	check(!strcmp(s, want), what, s);
	free(s);
}

static void test_sizes(void)
{
	size_is(0, "0B");
	size_is(1023, "1023B");
	size_is(1024, "1K");
	size_is(1536, "1.5K");
	/* 1023.94 of a unit stays; 1023.95 rounds to the next unit */
	size_is(1048514, "1023.9K");
	size_is(1048525, "1M");
	size_is(1073689395, "1023.9M");
	size_is(1073689396, "1G");
	size_is(UINT64_MAX, "16E");
}

static void test_numbers(void)
{
	uint64_t v = 0;
	double d = 0;
	const char *s;

	s = "18446744073709551615";
	check(parse_uint(s, s + strlen(s), UINT64_MAX, &v) &&
	      v == UINT64_MAX, "parse_uint: 2^64 - 1", NULL);
	s = "18446744073709551616";
	check(!parse_uint(s, s + strlen(s), UINT64_MAX, &v),
	      "parse_uint: 2^64 is out of range", NULL);
	check(!parse_count("0", &v) && parse_count("7", &v) && v == 7,
	      "parse_count: 1 or more", NULL);
	check(parse_seconds("0.25", 0.01, 86400, &d) && d == 0.25 &&
	      parse_seconds(".5", 0.01, 86400, &d) && d == 0.5 &&
	      parse_seconds("2", 0.01, 86400, &d) && d == 2,
	      "parse_seconds: 0.25, .5, 2", NULL);
	check(!parse_seconds("0.001", 0.01, 86400, &d) &&
	      !parse_seconds("1e3", 0.01, 86400, &d) &&
	      !parse_seconds("inf", 0.01, 86400, &d) &&
	      !parse_seconds(".", 0.01, 86400, &d) &&
	      !parse_seconds("86401", 0.01, 86400, &d),
	      "parse_seconds: out of range or not decimal", NULL);
	check(!parse_counter("12\n", 3, &v) && v == 12, "counter '12\\n'",
	      NULL);
	s = parse_counter("12", 2, &v);
	check(s && strstr(s, "no newline"), "counter '12': no newline", s);
	s = parse_counter("12 x", 4, &v);
	check(s && !strcmp(s, "not a number"), "counter '12 x'", s);
}

static void test_mode(void)
{
	struct mode m;

	check(!parse_mode("[async] sync\n", 13, &m) &&
	      !strcmp(mode_active(&m), "async"), "mode '[async] sync'", NULL);
	check(!parse_mode("async [sync] lazy\n", 18, &m) &&
	      !strcmp(mode_active(&m), "sync") && m.nwords == 3,
	      "mode with a newer word", NULL);
	check(!!parse_mode("sync\n", 5, &m),
	      "a lone word is not the kernel's format", NULL);
	check(!!parse_mode("[async] [sync]\n", 15, &m),
	      "two active words", NULL);
}

static void feed(struct top *t, const char *text)
{
	top_init(t);
	top_feed(t, text, strlen(text));
	top_flush(t);
}

static void test_trace(void)
{
	struct top t;
	struct top_entry **v;

	feed(&t, "  bash 312 [001] 52.113284: pgtable_free:pgtable_free_queue:"
	     " caller=alloc_free_one+0x7e nr_pages=1 pending=1\n"
	     "  kworker/1:1-88 [001] ...1. 52.2: pgtable_free_batch: "
	     "nr_pages=3 reason=work mms=2 invalidate_ns=4000\n"
	     "  bash-312 [001] 52.3: pgtable_free_sync: caller=vfree+0x1/0x2"
	     " [mymod] nr_pages=2\n");
	v = top_callers(&t);
	check(t.events == 3 && t.malformed == 0 && t.callers.n == 2,
	      "trace: perf script, trace and trace-cmd lines", NULL);
	/* the same frees: most pages first */
	check(!strcmp(v[1]->name, "alloc_free_one") && !v[1]->module &&
	      !strcmp(v[0]->name, "vfree") && !strcmp(v[0]->module, "mymod") &&
	      v[0]->freed_sync.v == 2, "trace: callers and module", NULL);
	free(v);
	v = top_reasons(&t);
	check(v[0]->batches == 1 && v[0]->pages.v == 3 &&
	      v[0]->invalidations == 1 && v[0]->inv_ns.v == 4000 &&
	      v[0]->mms.v == 2, "trace: a batch with an invalidation", NULL);
	free(v);
	check(t.ts_max - t.ts_min == 186716000ull, "trace: exact time span",
	      NULL);
	top_free(&t);
	feed(&t, "CPU:1 [LOST 12 EVENTS]\nx: pgtable_free_queue: caller=\n"
	     "# a header\n");
	check(t.lost == 12 && t.malformed == 1 && t.events == 0,
	      "trace: lost events, a malformed line, a header", NULL);
	top_free(&t);
}

int main(void)
{
	test_sizes();
	test_numbers();
	test_mode();
	test_trace();
	printf("# unit: %d checks, %d failed\n", n, nfail);
	return nfail ? 1 : 0;
}
