// SPDX-License-Identifier: GPL-2.0-only
/*
 * status: the mode and the counters as one row, or the Prometheus text
 * format, or (--check) a one-line verdict with an exit status for it.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "columns.h"

/* the columns that are not a counter's */
enum {
	S_MODE = NR_COUNTERS,
	S_PENDING_SIZE,
	S_PENDING_MAX_SIZE,
	S_FREED_SIZE,
	S_AVG_BATCH,
	S_SYNC_PCT,
};

#define C(ct, N, key, dflt) { N, key, NULL, COL_NUM, dflt, ct, 0 }

/* the order shown by --output-all; help comes from counters[] */
static struct colinfo status_cols[] = {
	{ "MODE", "mode", "free mode: async or sync", COL_STR, true, S_MODE, NEED_MODE },
	C(CT_QUEUED, "QUEUED", "queued", false),
	C(CT_FREED, "FREED", "freed", true),
	{ "FREED_SIZE", "freed_size", "size of FREED", COL_SIZE, false, S_FREED_SIZE, 0 },
	C(CT_PENDING, "PENDING", "pending", true),
	{ "PENDING_SIZE", "pending_size", "size of PENDING", COL_SIZE, false, S_PENDING_SIZE, 0 },
	C(CT_PENDING_MAX, "PENDING_MAX", "pending_max", true),
	{ "PENDING_MAX_SIZE", "pending_max_size", "size of PENDING_MAX", COL_SIZE, false,
	  S_PENDING_MAX_SIZE, 0 },
	C(CT_BATCHES, "BATCHES", "batches", true),
	{ "AVG_BATCH", "avg_batch", "pages per batch since boot: FREED / BATCHES", COL_FLOAT, true,
	  S_AVG_BATCH, BIT(CT_FREED) | BIT(CT_BATCHES) },
	C(CT_INVALIDATIONS, "INVALIDATIONS", "invalidations", true),
	C(CT_INVALIDATED_MMS, "INVALIDATED_MMS", "invalidated_mms", false),
	C(CT_FREED_SYNC, "FREED_SYNC", "freed_sync", true),
	{ "SYNC_PCT", "sync_pct", "percentage of the pages freed that sync mode freed at once",
	  COL_FLOAT, false, S_SYNC_PCT, BIT(CT_FREED) | BIT(CT_FREED_SYNC) },
	C(CT_OOM_FREED, "OOM_FREED", "oom_freed", false),
	C(CT_OOM_EVENTS, "OOM_EVENTS", "oom_events", false),
};

static const struct colset status_set = {
	"pgtfree", status_cols, ARRAY_SIZE(status_cols)
};

/* the counter a size column multiplies */
static int size_of(int arg)
{
	return arg == S_PENDING_SIZE ? CT_PENDING : arg == S_FREED_SIZE ?
	       CT_FREED : CT_PENDING_MAX;
}

static void fill_help(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(status_cols); i++) {
		struct colinfo *c = &status_cols[i];

		if (!c->help)
			c->help = counters[c->arg].help;
		if (c->arg < NR_COUNTERS)
			c->needs = BIT(c->arg);
		else if (c->type == COL_SIZE)
			c->needs = BIT(size_of(c->arg));
	}
}

static char *size_cell(const struct pgtfree *pf, const struct sample *s,
		       int ct)
{
	uint64_t b;

	if (!pages_bytes(pf, s, ct, &b))
		return NULL;
	if (pf->bytes || pf->format == FMT_JSON)
		return u64_str(b);
	return human_size(b);
}

/* @num / @den * @scale, when both are there and @den is not 0 */
static char *ratio_cell(const struct pgtfree *pf, const struct sample *s,
			int num, int den, bool plus_num, double scale)
{
	double n, d;

	if (!s->have[num] || !s->have[den])
		return NULL;
	n = (double)s->val[num];
	d = (double)s->val[den] + (plus_num ? n : 0);
	if (d <= 0)
		return NULL;
	return double_str(n * scale / d, 1, pf->format == FMT_JSON);
}

static char *status_cell(const struct pgtfree *pf, const struct sample *s,
			 int arg)
{
	switch (arg) {
	case S_MODE:
		return mode_active(&s->mode) ?
			xstrdup(mode_active(&s->mode)) : NULL;
	case S_PENDING_SIZE:
	case S_PENDING_MAX_SIZE:
	case S_FREED_SIZE:
		return size_cell(pf, s, size_of(arg));
	case S_AVG_BATCH:
		return ratio_cell(pf, s, CT_FREED, CT_BATCHES, false, 1);
	case S_SYNC_PCT:
		return ratio_cell(pf, s, CT_FREED_SYNC, CT_FREED, true, 100);
	default:
		return s->have[arg] ? u64_str(s->val[arg]) : NULL;
	}
}

/*
 * Prometheus text format (the node exporter's textfile collector):
 * pgtable_free_<counter>, _pages for a count of pages, _total for a
 * counter; an absent one is left out.  pgtable_free_scrape_error ends the
 * output: 1 per file that could not be read, labelled with it, and one
 * without a label, 1 if any could not.
 */
static void prom_metric(const char *name, const char *help, bool gauge,
			uint64_t v)
{
	printf("# HELP %s %c%s.\n# TYPE %s %s\n%s %" PRIu64 "\n", name,
	       toupper((unsigned char)help[0]), help + 1, name,
	       gauge ? "gauge" : "counter", name, v);
}

static void print_prometheus(const struct pgtfree *pf, const struct sample *s)
{
	const struct mode *m = &s->mode;
	uint64_t v;
	char *name;
	int i;

	if (m->active >= 0) {
		printf("# HELP pgtable_free_mode Free mode: 1 for the active "
		       "one.\n# TYPE pgtable_free_mode gauge\n");
		for (i = 0; i < m->nwords; i++)
			printf("pgtable_free_mode{mode=\"%s\"} %d\n",
			       m->word[i], i == m->active);
	}
	for (i = 0; i < NR_COUNTERS; i++) {
		const struct counter *c = &counters[i];

		if (!s->have[i])
			continue;
		name = xasprintf("pgtable_free_%s%s%s", c->name,
				 c->pages ? "_pages" : "",
				 c->gauge ? "" : "_total");
		prom_metric(name, c->help, c->gauge, s->val[i]);
		free(name);
	}
	if (pages_bytes(pf, s, CT_PENDING, &v))
		prom_metric("pgtable_free_pending_bytes", "size of the "
			    "pending pages", true, v);
	printf("# HELP pgtable_free_scrape_error 1 if pgtfree could not read "
	       "a file (labelled) or any (unlabelled), else 0.\n"
	       "# TYPE pgtable_free_scrape_error gauge\n");
	if (s->bad & NEED_MODE)
		printf("pgtable_free_scrape_error{file=\"mode\"} 1\n");
	for (i = 0; i < NR_COUNTERS; i++)
		if (s->bad & BIT(i))
			printf("pgtable_free_scrape_error{file=\"stats/%s\"} "
			       "1\n", counters[i].name);
	printf("pgtable_free_scrape_error %d\n", s->bad ? 1 : 0);
}

/*
 * --check: two readings @interval apart, and a verdict.  What is wrong:
 * pending that does not go while nothing is freed (the work item does
 * not run), pending above PENDING_HIGH in both readings (the work item
 * falls behind), OOM events (memory ran out while tables were pending),
 * and sync mode while an address space is bound for SVA (then sync has
 * no effect: every free is queued as in async).
 */
#define PENDING_HIGH	2048	/* pages; a running work item leaves a few */

static __attribute__((format(printf, 2, 3))) char *
add_problem(char *list, const char *fmt, ...)
{
	va_list ap;
	char *p, *s;

	va_start(ap, fmt);
	p = xvasprintf(fmt, ap);
	va_end(ap);
	s = xasprintf("%s%s%s", list ? list : "", list ? "; " : "", p);
	free(list);
	free(p);
	return s;
}

static char *check_problems(const struct pgtfree *pf, const struct sample *a,
			    const struct sample *b, double interval)
{
	const char *mode = mode_active(&b->mode);
	uint64_t pa = a->val[CT_PENDING], pb = b->val[CT_PENDING];
	char *list = NULL, *size;

	if (pa && pb && pb >= pa && b->val[CT_FREED] == a->val[CT_FREED]) {
		list = add_problem(list, "%" PRIu64 " pages pending and none "
				   "freed in %.1f s: the work item does not run "
				   "(look for workqueue lockups in the kernel "
				   "log; pgtfree drain frees them)", pb,
				   interval);
	} else if (pa > PENDING_HIGH && pb > PENDING_HIGH) {
		size = human_size(pb * (uint64_t)pf->pagesize);
		list = add_problem(list, "%" PRIu64 " pages (%s) pending for "
				   "%.1f s, more than %d: the work item falls "
				   "behind", pb, size, interval, PENDING_HIGH);
		free(size);
	}
	if (b->val[CT_OOM_EVENTS])
		list = add_problem(list, "the OOM notifier freed %" PRIu64
				   " pending pages %" PRIu64 " times: memory "
				   "ran out while page tables were pending",
				   b->val[CT_OOM_FREED], b->val[CT_OOM_EVENTS]);
	if (mode && !strcmp(mode, "sync") &&
	    (b->val[CT_QUEUED] > a->val[CT_QUEUED] ||
	     b->val[CT_INVALIDATIONS] > a->val[CT_INVALIDATIONS]))
		list = add_problem(list, "mode sync has no effect while an "
				   "address space is bound for SVA: tables "
				   "are queued and invalidated as in async");
	return list;
}

#define CHECK_NEEDS	(NEED_MODE | BIT(CT_PENDING) | BIT(CT_FREED) | \
			 BIT(CT_QUEUED) | BIT(CT_INVALIDATIONS) | \
			 BIT(CT_OOM_EVENTS) | BIT(CT_OOM_FREED) | \
			 BIT(CT_BATCHES))

static int run_check(struct pgtfree *pf, double interval)
{
	struct sample a, b;
	struct timespec deadline;
	struct json_object *o, *verdict;
	char *problems, *line;
	sigset_t mask;

	read_sample(pf, &a, CHECK_NEEDS);
	sigemptyset(&mask);
	deadline = a.mono;
	ts_add(&deadline, interval);
	sleep_until(&deadline, &mask);
	read_sample(pf, &b, CHECK_NEEDS);
	if (exit_status())
		return exit_status();
	problems = check_problems(pf, &a, &b, interval);
	if (problems)
		line = xasprintf("ATTENTION: %s", problems);
	else
		line = xasprintf("OK: mode %s, %" PRIu64 " pages pending, %"
				 PRIu64 " freed in %" PRIu64 " batches, %"
				 PRIu64 " invalidations, no OOM event",
				 mode_active(&b.mode), b.val[CT_PENDING],
				 b.val[CT_FREED], b.val[CT_BATCHES],
				 b.val[CT_INVALIDATIONS]);
	if (pf->format == FMT_JSON) {
		o = json_object_new_object();
		verdict = json_object_new_string(problems ? "attention" :
						 "ok");
		json_object_object_add(o, "verdict", verdict);
		json_object_object_add(o, "message",
				       json_object_new_string(line));
		json_print(o, true);
		json_object_put(o);
	} else {
		printf("%s\n", line);
	}
	free(line);
	free(problems);
	return problems ? EXIT_ATTENTION : 0;
}

static void status_help(void)
{
	fill_help();
	fputs("Usage:\n"
	      " pgtfree [status] [options]\n"
	      "\n"
	      "The mode and the counters of /sys/kernel/mm/pgtable_free, one "
	      "row.\nCounts are pages unless the column says otherwise.\n"
	      "\n"
	      "Options:\n"
	      " -o, --output <list>     the columns (+<list>: added to the "
	      "default)\n"
	      "     --output-all        every column\n"
	      " -H, --list-columns      list the columns and exit\n"
	      " -n, --noheadings        no header line\n"
	      " -b, --bytes             sizes in bytes\n"
	      " -J, --json, -r, --raw, --format table|raw|json|prometheus\n"
	      "     --check             one line: OK, or ATTENTION and what "
	      "is wrong (exit 2)\n"
	      " -i, --interval <secs>   --check: seconds between its two "
	      "readings (1)\n"
	      "     --sysroot <dir>     use <dir>/sys instead of /sys\n"
	      "\n"
	      "Normal: PENDING 0 or a few pages, INVALIDATIONS well below "
	      "BATCHES or 0\n(none while no address space is bound for SVA), "
	      "no OOM event.\n"
	      "\n"
	      "Columns (* = default):\n", stdout);
	cols_help(&status_set);
}

struct status_opts {
	bool	check;
	double	interval;
	bool	interval_set;
};

enum { OPT_CHECK = 0x200 };

static int status_opt(void *ctx, int c, const char *arg)
{
	struct status_opts *so = ctx;

	if (c == OPT_CHECK) {
		so->check = true;
		return 0;
	}
	so->interval_set = true;
	return opt_seconds("status", "interval", arg, 0.01, &so->interval);
}

static const struct option status_long[] = {
	{ "check",    no_argument,       NULL, OPT_CHECK },
	{ "interval", required_argument, NULL, 'i' },
	{ NULL, 0, NULL, 0 }
};

int cmd_status(struct pgtfree *pf, struct cmd_args *a)
{
	struct status_opts so = { .interval = 1 };
	const struct cmd_opts o = {
		"status", 0, "i:", status_long,
		OPT_COLUMNS | OPT_BYTES | OPT_PROM | OPT_NOHEAD, status_opt,
		&so, status_help,
	};
	const struct colset *set = &status_set;
	unsigned int need = 0;
	struct colsel sel;
	struct sample s;
	struct table *t;
	char *cells[MAX_COLS];
	size_t i;
	int rc;

	fill_help();
	rc = parse_opts(pf, a, &o);
	if (rc)
		return rc;
	if (a->list)
		return cols_list(pf, &set, 1);
	if (so.interval_set && !so.check)
		return usage_error("status", "--interval goes with --check");
	if ((so.check || pf->format == FMT_PROM) &&
	    (a->output || a->all || pf->noheadings || pf->bytes ||
	     (so.check && pf->format != FMT_JSON && pf->format != FMT_TABLE)))
		return usage_error("status", "--check and --format prometheus "
				   "take no column, -n, -b or -r");
	if (so.check && pf->format == FMT_PROM)
		return usage_error("status", "--check and --format prometheus "
				   "are mutually exclusive");
	if (a->output) {
		rc = cols_parse(set, a->output, "status", &sel);
		if (rc)
			return rc;
	} else {
		cols_default(set, a->all, &sel);
	}
	rc = open_feature(pf);
	if (rc)
		return rc;
	if (so.check)
		return run_check(pf, so.interval);
	if (pf->format == FMT_PROM) {
		read_sample(pf, &s, NEED_MODE | NEED_COUNTERS);
		print_prometheus(pf, &s);
		return 0;
	}
	for (i = 0; i < sel.n; i++)
		need |= status_cols[sel.id[i]].needs;
	read_sample(pf, &s, need);
	t = table_new(pf, set, &sel);
	for (i = 0; i < sel.n; i++)
		cells[i] = status_cell(pf, &s, status_cols[sel.id[i]].arg);
	table_row(t, cells);
	table_print(t, false);
	table_free(t);
	return 0;
}
