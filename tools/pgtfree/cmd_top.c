// SPDX-License-Identifier: GPL-2.0-only
/*
 * top: who frees kernel page tables and how the batches look, from the
 * pgtable_free trace events.  On a terminal the tables are drawn again
 * every -d seconds, as top and perf top do; otherwise they are printed
 * once, at the end (a signal, -n refreshes, or the end of --input).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "columns.h"
#include "top.h"
#include "top_trace.h"

enum {
	TC_SECONDS, TC_EVENTS, TC_LOST, TC_MALFORMED, TC_PENDING_MAX,
};

static const struct colinfo summary_cols[] = {
	{ "SECONDS", "seconds", "time covered: how long top traced, or from "
	  "the first event of --input to the last", COL_FLOAT, true, 0, 0 },
	{ "EVENTS", "events", "pgtable_free events read", COL_NUM, true, 0,
	  0 },
	{ "LOST", "lost", "events the kernel reported lost (a full trace "
	  "buffer)", COL_NUM, true, 0, 0 },
	{ "MALFORMED", "malformed", "lines skipped because they could not be "
	  "parsed", COL_NUM, true, 0, 0 },
	{ "PENDING_MAX", "pending_max", "highest pending seen in a queue "
	  "event", COL_NUM, true, 0, 0 },
};

static const struct colinfo caller_cols[] = {
	{ "CALLER", "caller", "function that freed the page tables, or its "
	  "address", COL_STR, true, 0, 0 },
	{ "MODULE", "module", "module of the caller", COL_STR, true, 0, 0 },
	{ "FREES", "frees", "page tables freed: queue and sync events",
	  COL_NUM, true, 0, 0 },
	{ "QUEUED", "queued", "pages put on the deferred list", COL_NUM,
	  true, 0, 0 },
	{ "FREED_SYNC", "freed_sync", "pages freed at once: mode sync, no "
	  "SVA address space bound", COL_NUM, true, 0, 0 },
};

static const struct colinfo batch_cols[] = {
	{ "REASON", "reason", "what freed the batches: work, drain or oom",
	  COL_STR, true, 0, 0 },
	{ "BATCHES", "batches", "batches freed", COL_NUM, true, 0, 0 },
	{ "PAGES", "pages", "pages those batches freed", COL_NUM, true, 0,
	  0 },
	{ "AVG", "avg", "average pages per batch", COL_FLOAT, true, 0, 0 },
	{ "MIN", "min", "fewest pages in a batch", COL_NUM, true, 0, 0 },
	{ "MAX", "max", "most pages in a batch", COL_NUM, true, 0, 0 },
	{ "INVALIDATIONS", "invalidations", "batches that issued an IOMMU "
	  "invalidation for SVA: the costly operation", COL_NUM, true, 0, 0 },
	{ "INV_AVG_US", "inv_avg_us", "average time of those invalidations, "
	  "microseconds", COL_FLOAT, true, 0, 0 },
	{ "INV_MAX_US", "inv_max_us", "longest invalidation, microseconds",
	  COL_FLOAT, true, 0, 0 },
	{ "MMS", "mms", "SVA address spaces those invalidations covered, "
	  "summed", COL_NUM, true, 0, 0 },
};

static const struct colset top_sets[] = {
	{ "summary", summary_cols, ARRAY_SIZE(summary_cols) },
	{ "callers", caller_cols, ARRAY_SIZE(caller_cols) },
	{ "batches", batch_cols, ARRAY_SIZE(batch_cols) },
};

struct top_opts {
	double		delay;
	uint64_t	iterations;	/* 0: until a signal */
	const char	*input;
	bool		cleanup;
	bool		noheadings;
};

static void top_help(void)
{
	fputs("Usage:\n"
	      " pgtfree top [options]\n"
	      "\n"
	      "Who frees kernel page tables and how the batches look, from "
	      "the pgtable_free\ntrace events (root, tracefs), in an ftrace "
	      "instance of its own.  On a\nterminal the tables are drawn "
	      "again every <delay> seconds until Ctrl-C;\notherwise they are "
	      "printed once, at the end.\n"
	      "\n"
	      "Options:\n"
	      " -d, --delay <secs>      seconds between refreshes (2)\n"
	      " -n, --iterations <n>    stop after <n> refreshes: "
	      "-d 10 -n 1 traces 10 s\n"
	      "     --input <file>      read recorded text instead "
	      "(trace_pipe, trace,\n"
	      "                         trace-cmd report, perf script; - "
	      "for stdin)\n"
	      "     --cleanup           remove the instances of a pgtfree "
	      "that is gone\n"
	      " -H, --list-columns      list the columns and exit\n"
	      " -J, --json, -r, --raw   JSON or raw output\n"
	      "     --noheadings        no header lines\n"
	      "     --sysroot <dir>     use <dir>/sys instead of /sys\n",
	      stdout);
}

enum { OPT_INPUT = 0x400, OPT_CLEANUP, OPT_NOHEADINGS };

static const struct option top_long[] = {
	{ "delay",      required_argument, NULL, 'd' },
	{ "iterations", required_argument, NULL, 'n' },
	{ "input",      required_argument, NULL, OPT_INPUT },
	{ "cleanup",    no_argument,       NULL, OPT_CLEANUP },
	{ "noheadings", no_argument,       NULL, OPT_NOHEADINGS },
	{ NULL, 0, NULL, 0 }
};

static int top_opt(void *ctx, int c, const char *arg)
{
	struct top_opts *o = ctx;

	switch (c) {
	case 'd':
		return opt_seconds("top", "delay", arg, 0.1, &o->delay);
	case 'n':
		return opt_count("top", "iterations", arg, &o->iterations);
	case OPT_INPUT:
		o->input = arg;
		return 0;
	case OPT_CLEANUP:
		o->cleanup = true;
		return 0;
	default:
		o->noheadings = true;
		return 0;
	}
}

static char *acc_cell(const struct acc *a)
{
	return a->ovf ? NULL : u64_str(a->v);
}

static char *avg_cell(bool exact, bool have, double num, double den)
{
	return have && den > 0 ? double_str(num / den, 1, exact) : NULL;
}

static void summary_row(const struct pgtfree *pf, const struct top *t,
			struct table *tb)
{
	double secs = t->seconds;
	bool have = t->have_seconds;
	char *c[ARRAY_SIZE(summary_cols)];

	if (!have && t->have_ts) {
		secs = (double)(t->ts_max - t->ts_min) / 1e9;
		have = true;
	}
	c[TC_SECONDS] = have ? double_str(secs, 3, pf->format == FMT_JSON) :
			NULL;
	c[TC_EVENTS] = u64_str(t->events);
	c[TC_LOST] = t->lost_unknown ? NULL : u64_str(t->lost);
	c[TC_MALFORMED] = u64_str(t->malformed);
	c[TC_PENDING_MAX] = t->have_pending ? u64_str(t->pending_max) : NULL;
	table_row(tb, c);
}

static void caller_row(const struct top_entry *e, struct table *tb)
{
	char *c[ARRAY_SIZE(caller_cols)];

	c[0] = xstrdup(e->name);
	c[1] = e->module ? xstrdup(e->module) : NULL;
	c[2] = u64_str(e->frees);
	c[3] = acc_cell(&e->queued);
	c[4] = acc_cell(&e->freed_sync);
	table_row(tb, c);
}

static void reason_row(const struct pgtfree *pf, const struct top_entry *e,
		       struct table *tb)
{
	bool exact = pf->format == FMT_JSON, inv = e->invalidations > 0;
	char *c[ARRAY_SIZE(batch_cols)];

	c[0] = xstrdup(e->name);
	c[1] = u64_str(e->batches);
	c[2] = acc_cell(&e->pages);
	c[3] = avg_cell(exact, !e->pages.ovf, (double)e->pages.v,
			(double)e->batches);
	c[4] = u64_str(e->min);
	c[5] = u64_str(e->max);
	c[6] = u64_str(e->invalidations);
	c[7] = avg_cell(exact, inv && !e->inv_ns.ovf,
			(double)e->inv_ns.v / 1000.0,
			(double)e->invalidations);
	c[8] = inv ? double_str((double)e->inv_max_ns / 1000.0, 1, exact) :
	       NULL;
	c[9] = acc_cell(&e->mms);
	table_row(tb, c);
}

/*
 * Three tables: the summary, the callers, the batches by reason; a table
 * without rows is left out.  JSON: one object with the three arrays.
 */
static void top_print(struct pgtfree *pf, const struct top *t)
{
	struct table *tb[ARRAY_SIZE(top_sets)];
	struct top_entry **v;
	struct json_object *o;
	size_t i, k;

	for (k = 0; k < ARRAY_SIZE(top_sets); k++)
		tb[k] = table_new(pf, &top_sets[k], NULL);
	summary_row(pf, t, tb[0]);
	v = top_callers(t);
	for (i = 0; i < t->callers.n; i++)
		caller_row(v[i], tb[1]);
	free(v);
	v = top_reasons(t);
	for (i = 0; i < t->reasons.n; i++)
		reason_row(pf, v[i], tb[2]);
	free(v);
	if (pf->format == FMT_JSON) {
		o = json_object_new_object();
		for (k = 0; k < ARRAY_SIZE(top_sets); k++)
			json_object_object_add(o, top_sets[k].name,
					       table_json(tb[k]));
		json_print(o, true);
		json_object_put(o);
	}
	for (k = 0; k < ARRAY_SIZE(top_sets); k++) {
		if (pf->format != FMT_JSON && table_rows(tb[k]))
			table_print(tb[k], k > 0);
		table_free(tb[k]);
	}
}

/* a screen of the live display, @secs into the trace */
static void redraw(struct pgtfree *pf, struct top *t,
		   const struct top_opts *o, double secs)
{
	/* to the microsecond, as the events' timestamps */
	t->seconds = round(secs * 1e6) / 1e6;
	t->have_seconds = true;
	fputs("\033[H\033[2J", stdout);
	printf("pgtfree top: %.0f s of pgtable_free events, refreshed every "
	       "%g s; Ctrl-C quits\n\n", secs, o->delay);
	top_print(pf, t);
	flush_stdout();
}

/* Trace live: 0 when events were read, else the exit status. */
static int top_live(struct pgtfree *pf, struct top *t,
		    const struct top_opts *o)
{
	struct top_trace tr = { .tfd = -1, .ifd = -1, .instfd = -1,
				.pipefd = -1 };
	bool screen = isatty(STDOUT_FILENO) && pf->format == FMT_TABLE;
	struct timespec start, now, next;
	sigset_t wait_mask;
	uint64_t n = 0;
	int rc;

	rc = top_trace_open(pf, &tr, &wait_mask);
	if (rc) {
		top_trace_close(&tr, NULL);
		return rc;
	}
	t->src = xstrdup(tr.inst);
	clock_gettime(CLOCK_MONOTONIC, &start);
	next = start;
	if (screen)
		redraw(pf, t, o, 0);
	for (;;) {
		ts_add(&next, o->delay);
		if (top_pump(t, tr.pipefd, true, &next, &wait_mask) < 0 ||
		    signal_seen(top_sigs, ARRAY_SIZE(top_sigs)))
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (screen)
			redraw(pf, t, o, ts_sec(&now) - ts_sec(&start));
		if (o->iterations && ++n >= o->iterations)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	t->seconds = round((ts_sec(&now) - ts_sec(&start)) * 1e6) / 1e6;
	t->have_seconds = true;
	top_trace_close(&tr, t);
	if (screen)
		redraw(pf, t, o, t->seconds);
	else
		top_print(pf, t);
	return 0;
}

/* --input FILE, "-" for standard input */
static int top_input(struct pgtfree *pf, struct top *t, const char *input)
{
	struct stat st;
	sigset_t wait_mask;
	int fd = STDIN_FILENO;

	if (strcmp(input, "-")) {
		fd = open(input, O_RDONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;

			report(e == ENOENT || e == ENOTDIR ? EX_NOROOT :
			       file_error_code(-e, ACC_READ), "--input %s: %s",
			       input, strerror(e));
			return exit_status();
		}
	}
	t->src = xstrdup(fd == STDIN_FILENO ? "standard input" : input);
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		report(EX_NOROOT, "--input %s: is a directory", input);
	} else {
		/* after open(): a FIFO without a writer blocks it */
		signals_catch(top_sigs, ARRAY_SIZE(top_sigs), &wait_mask);
		top_pump(t, fd, false, NULL, &wait_mask);
		top_flush(t);
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (exit_status())
		return exit_status();
	if (t->malformed && !t->events)
		report(EX_DATA, "%s: no pgtable_free event in it could be "
		       "parsed: %" PRIu64 " malformed line%s, the first (line "
		       "%" PRIu64 "): '%s'", t->src, t->malformed,
		       t->malformed == 1 ? "" : "s", t->bad_lineno,
		       t->bad_text);
	top_print(pf, t);
	return 0;
}

int cmd_top(struct pgtfree *pf, struct cmd_args *a)
{
	struct top_opts o = { .delay = 2 };
	const struct cmd_opts co = { "top", 0, "d:n:", top_long, OPT_COLUMNS,
				     top_opt, &o, top_help };
	const struct colset *sets[ARRAY_SIZE(top_sets)];
	struct top t;
	size_t i;
	int rc;

	rc = parse_opts(pf, a, &co);
	if (rc)
		return rc;
	if (a->list) {
		for (i = 0; i < ARRAY_SIZE(top_sets); i++)
			sets[i] = &top_sets[i];
		return cols_list(pf, sets, ARRAY_SIZE(sets));
	}
	if (a->output || a->all)
		return usage_error("top", "top shows every column: no -o or "
				   "--output-all");
	if (o.input && (*pf->root || o.cleanup))
		return usage_error("top", "--input reads a recorded trace: no "
				   "--sysroot or --cleanup");
	pf->noheadings = o.noheadings;
	if (o.cleanup)
		return top_cleanup(pf);
	top_init(&t);
	rc = o.input ? top_input(pf, &t, o.input) : top_live(pf, &t, &o);
	top_free(&t);
	return rc;
}
