// SPDX-License-Identifier: GPL-2.0-only
/*
 * watch [DELAY [COUNT]]: a line every DELAY seconds, as vmstat: the first
 * line since boot (rates over the uptime), then the rates over each
 * interval, the pages pending and the pages per batch of the interval.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "columns.h"

enum wkind { W_TIME, W_VALUE, W_DELTA, W_RATE, W_PER_BATCH };

#define W(kind, ct)	(((kind) << 8) | (ct))
#define W_KIND(arg)	((arg) >> 8)
#define W_CT(arg)	((arg) & 0xff)
#define WIDTH_MIN	9

static const struct colinfo watch_cols[] = {
	{ "time", "time", "local time (-t)", COL_STR, false, W(W_TIME, 0),
	  0 },
	{ "pending", "pending", "pages pending at the end of the interval",
	  COL_NUM, true, W(W_VALUE, CT_PENDING), 0 },
	{ "queued/s", "queued_per_sec", "pages queued per second",
	  COL_FLOAT, true, W(W_RATE, CT_QUEUED), 0 },
	{ "freed/s", "freed_per_sec", "pages freed from the list per second",
	  COL_FLOAT, true, W(W_RATE, CT_FREED), 0 },
	{ "batches/s", "batches_per_sec", "batches per second", COL_FLOAT,
	  true, W(W_RATE, CT_BATCHES), 0 },
	{ "pg/batch", "pages_per_batch", "pages per batch in the interval",
	  COL_FLOAT, true, W(W_PER_BATCH, 0), 0 },
	{ "inval/s", "invalidations_per_sec", "IOMMU invalidations per "
	  "second: the costly operation", COL_FLOAT, true,
	  W(W_RATE, CT_INVALIDATIONS), 0 },
	{ "sync/s", "freed_sync_per_sec", "pages freed at once (mode sync) "
	  "per second", COL_FLOAT, true, W(W_RATE, CT_FREED_SYNC), 0 },
	{ "pending_max", "pending_max", "highest pending since boot",
	  COL_NUM, false, W(W_VALUE, CT_PENDING_MAX), 0 },
	{ "queued", "queued", "pages queued in the interval", COL_NUM, false,
	  W(W_DELTA, CT_QUEUED), 0 },
	{ "freed", "freed", "pages freed in the interval", COL_NUM, false,
	  W(W_DELTA, CT_FREED), 0 },
	{ "batches", "batches", "batches in the interval", COL_NUM, false,
	  W(W_DELTA, CT_BATCHES), 0 },
	{ "invalidations", "invalidations", "IOMMU invalidations in the "
	  "interval", COL_NUM, false, W(W_DELTA, CT_INVALIDATIONS), 0 },
	{ "invalidated_mms", "invalidated_mms", "SVA address spaces those "
	  "invalidations covered", COL_NUM, false,
	  W(W_DELTA, CT_INVALIDATED_MMS), 0 },
	{ "freed_sync", "freed_sync", "pages freed at once in the interval",
	  COL_NUM, false, W(W_DELTA, CT_FREED_SYNC), 0 },
	{ "oom_freed", "oom_freed", "pages the OOM notifier freed in the "
	  "interval", COL_NUM, false, W(W_DELTA, CT_OOM_FREED), 0 },
	{ "oom_events", "oom_events", "OOM notifier runs that freed pages in "
	  "the interval", COL_NUM, false, W(W_DELTA, CT_OOM_EVENTS), 0 },
};

static const struct colset watch_set = {
	"watch", watch_cols, ARRAY_SIZE(watch_cols)
};

struct watch {
	struct colsel	sel;
	size_t		width[MAX_COLS];
	unsigned int	need;
	bool		timestamp;
	bool		header_once;	/* -n, as vmstat */
	bool		skip_first;	/* -y */
	double		delay;
	uint64_t	count;		/* 0: until a signal */
	const char	*delay_arg;
	const char	*count_arg;
	size_t		lines;		/* since the last header */
	bool		headed;
};

static void watch_help(void)
{
	fputs("Usage:\n"
	      " pgtfree watch [options] [<delay> [<count>]]\n"
	      "\n"
	      "A line every <delay> seconds (1; fractions ok), <count> lines "
	      "or until\ninterrupted.  The first line counts since boot, as "
	      "vmstat's.\n"
	      "\n"
	      "Options:\n"
	      " -i, --interval <secs>   the same as <delay>\n"
	      " -c, --count <count>     the same as <count>\n"
	      " -t, --timestamp         the local time first\n"
	      " -y, --no-first          leave out the line since boot\n"
	      " -n, --one-header        the header once, not every screen\n"
	      "     --noheadings        no header\n"
	      " -o, --output <list>     the fields (+<list>: added to the "
	      "default)\n"
	      "     --output-all        every field\n"
	      " -H, --list-columns      list the fields and exit\n"
	      " -J, --json              a JSON object per line\n"
	      " -r, --raw               fields separated by one space\n"
	      "     --sysroot <dir>     use <dir>/sys instead of /sys\n"
	      "\n"
	      "Fields (* = default):\n", stdout);
	cols_help(&watch_set);
}

enum { OPT_NOHEADINGS = 0x300 };

static const struct option watch_long[] = {
	{ "interval",    required_argument, NULL, 'i' },
	{ "count",       required_argument, NULL, 'c' },
	{ "timestamp",   no_argument,       NULL, 't' },
	{ "no-first",    no_argument,       NULL, 'y' },
	{ "one-header",  no_argument,       NULL, 'n' },
	{ "noheadings",  no_argument,       NULL, OPT_NOHEADINGS },
	{ NULL, 0, NULL, 0 }
};

struct watch_ctx {
	struct watch	*w;
	struct pgtfree	*pf;
};

static int watch_opt(void *ctx, int c, const char *arg)
{
	struct watch_ctx *x = ctx;
	struct watch *w = x->w;

	if (c == 'i' || c == 'c') {
		*(c == 'i' ? &w->delay_arg : &w->count_arg) = arg;
		return 0;
	}
	*(c == 't' ? &w->timestamp : c == 'y' ? &w->skip_first :
	  c == 'n' ? &w->header_once : &x->pf->noheadings) = true;
	return 0;
}

/* the delay and the count, from the options or the operands */
static int watch_args(struct watch *w, struct cmd_args *a)
{
	const char **arg[2] = { &w->delay_arg, &w->count_arg };
	int i;

	for (i = 0; i < 2 && optind < a->argc; i++) {
		if (*arg[i])
			return usage_error("watch", "the %s is given twice: as "
					   "-%c and as '%s'", i ? "count" :
					   "delay", i ? 'c' : 'i',
					   a->argv[optind]);
		*arg[i] = a->argv[optind++];
	}
	if (w->delay_arg && opt_seconds("watch", "delay", w->delay_arg, 0.01,
					&w->delay))
		return EX_USAGE_;
	if (w->count_arg && opt_count("watch", "count", w->count_arg,
				      &w->count))
		return EX_USAGE_;
	return 0;
}

/* the change of counter @c since @prev: false when unknown */
static bool delta(const struct sample *cur, const struct sample *prev, int c,
		  uint64_t *d)
{
	if (!cur->have[c])
		return false;
	if (!prev) {
		*d = cur->val[c];
		return true;
	}
	/* a counter that went backwards (reset or skew): unknown */
	if (!prev->have[c] || cur->val[c] < prev->val[c])
		return false;
	*d = cur->val[c] - prev->val[c];
	return true;
}

static char *local_time(const struct timespec *ts)
{
	char buf[64];
	struct tm tm;

	if (!localtime_r(&ts->tv_sec, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm))
		return NULL;
	return xstrdup(buf);
}

static char *field(const struct pgtfree *pf, int arg,
		   const struct sample *cur, const struct sample *prev,
		   double elapsed)
{
	bool exact = pf->format == FMT_JSON;
	uint64_t d, b;

	switch (W_KIND(arg)) {
	case W_TIME:
		return local_time(&cur->real);
	case W_VALUE:
		return cur->have[W_CT(arg)] ? u64_str(cur->val[W_CT(arg)]) :
		       NULL;
	case W_DELTA:
		return delta(cur, prev, W_CT(arg), &d) ? u64_str(d) : NULL;
	case W_RATE:
		if (elapsed <= 0 || !delta(cur, prev, W_CT(arg), &d))
			return NULL;
		return double_str((double)d / elapsed, 1, exact);
	default:
		if (!delta(cur, prev, CT_FREED, &d) ||
		    !delta(cur, prev, CT_BATCHES, &b) || !b)
			return NULL;
		return double_str((double)d / (double)b, 1, exact);
	}
}

/* data lines per header: a screen of a terminal, else unlimited */
static size_t screen_lines(void)
{
	struct winsize ws;

	if (!isatty(STDOUT_FILENO) ||
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0)
		return 0;
	return ws.ws_row > 3 ? ws.ws_row - 2 : 1;
}

static void print_fields(const struct pgtfree *pf, const struct watch *w,
			 char *const *f)
{
	size_t i;

	for (i = 0; i < w->sel.n; i++) {
		const char *v = f[i] ? f[i] : "-";
		bool left = W_KIND(watch_cols[w->sel.id[i]].arg) == W_TIME;

		if (pf->format == FMT_RAW)
			printf("%s%s", i ? " " : "", v);
		else
			printf("%s%*s", i ? " " : "",
			       left ? -(int)w->width[i] : (int)w->width[i], v);
	}
	putchar('\n');
}

static void print_json(const struct watch *w, const struct sample *cur,
		       bool first, double elapsed, char *const *f)
{
	struct json_object *o = json_object_new_object();
	size_t i;
	char *t;

	if (!o)
		oom();
	t = xasprintf("%.3f", ts_sec(&cur->real));
	json_object_object_add(o, "time",
			       json_object_new_double_s(ts_sec(&cur->real), t));
	free(t);
	json_object_object_add(o, "since_boot",
			       json_object_new_boolean(first));
	json_object_object_add(o, "interval", elapsed > 0 ?
			       json_object_new_double(elapsed) : NULL);
	for (i = 0; i < w->sel.n; i++) {
		const struct colinfo *c = &watch_cols[w->sel.id[i]];
		struct json_object *v = NULL;

		if (W_KIND(c->arg) == W_TIME)
			continue;
		if (f[i] && c->type == COL_FLOAT)
			v = json_object_new_double_s(strtod(f[i], NULL), f[i]);
		else if (f[i])
			v = json_object_new_uint64(strtoull(f[i], NULL, 10));
		json_object_object_add(o, c->key, v);
	}
	json_print(o, false);
	json_object_put(o);
}

/*
 * One line; @prev is NULL for the one since boot, whose rates are over
 * @elapsed, the uptime (< 0: unknown).  A value wider than its column
 * widens it and, with headers, brings the header again, so that every
 * line stays under its header.
 */
static int print_line(const struct pgtfree *pf, struct watch *w,
		      const struct sample *cur, const struct sample *prev,
		      double elapsed)
{
	char *f[MAX_COLS];
	bool header = false;
	size_t i, screen;

	for (i = 0; i < w->sel.n; i++)
		f[i] = field(pf, watch_cols[w->sel.id[i]].arg, cur, prev,
			     elapsed);
	if (pf->format == FMT_JSON) {
		print_json(w, cur, !prev, elapsed, f);
	} else {
		for (i = 0; i < w->sel.n; i++) {
			if (f[i] && strlen(f[i]) > w->width[i]) {
				w->width[i] = strlen(f[i]);
				header = !w->header_once;
			}
		}
		screen = screen_lines();
		if (!w->headed || (screen && !w->header_once &&
				   w->lines >= screen))
			header = true;
		if (header && !pf->noheadings) {
			char *h[MAX_COLS];

			for (i = 0; i < w->sel.n; i++)
				h[i] = (char *)watch_cols[w->sel.id[i]].name;
			print_fields(pf, w, h);
			w->lines = 0;
		}
		w->headed = true;
		print_fields(pf, w, f);
		w->lines++;
	}
	for (i = 0; i < w->sel.n; i++)
		free(f[i]);
	return flush_stdout();
}

static void watch_init(struct watch *w)
{
	size_t i, len;

	for (i = 0; i < w->sel.n; i++) {
		const struct colinfo *c = &watch_cols[w->sel.id[i]];

		len = strlen(c->name);
		w->width[i] = W_KIND(c->arg) == W_TIME ? 19 :
			      len > WIDTH_MIN ? len : WIDTH_MIN;
		if (W_KIND(c->arg) == W_PER_BATCH)
			w->need |= BIT(CT_FREED) | BIT(CT_BATCHES);
		else if (W_KIND(c->arg) != W_TIME)
			w->need |= BIT(W_CT(c->arg));
	}
}

static int watch_loop(struct pgtfree *pf, struct watch *w)
{
	static const int sigs[] = { SIGINT, SIGTERM };
	struct sample a, b, *cur = &a, *prev = NULL;
	struct timespec deadline, now;
	sigset_t wait_mask;
	uint64_t n;

	signals_catch(sigs, ARRAY_SIZE(sigs), &wait_mask);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	for (n = 0; w->count == 0 || n < w->count + w->skip_first; n++) {
		if (n > 0) {
			ts_add(&deadline, w->delay);
			if (sleep_until(&deadline, &wait_mask))
				break;
			/* late by more than a delay (suspend): resync */
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (ts_sec(&now) - ts_sec(&deadline) > w->delay)
				deadline = now;
		}
		read_sample(pf, cur, w->need);
		if ((prev || !w->skip_first) &&
		    print_line(pf, w, cur, prev, prev ? ts_sec(&cur->mono) -
			       ts_sec(&prev->mono) : read_uptime(pf)) < 0)
			break;
		prev = cur;
		cur = cur == &a ? &b : &a;
	}
	return 0;
}

int cmd_watch(struct pgtfree *pf, struct cmd_args *a)
{
	struct watch w = { .delay = 1 };
	struct watch_ctx x = { &w, pf };
	const struct cmd_opts o = { "watch", 2, "i:c:tyn", watch_long,
				    OPT_COLUMNS, watch_opt, &x, watch_help };
	const struct colset *set = &watch_set;
	int rc;

	rc = parse_opts(pf, a, &o);
	if (rc)
		return rc;
	if (a->list)
		return cols_list(pf, &set, 1);
	rc = watch_args(&w, a);
	if (rc)
		return rc;
	if (a->output) {
		rc = cols_parse(set, a->output, "watch", &w.sel);
		if (rc)
			return rc;
	} else {
		cols_default(set, a->all, &w.sel);
	}
	if (w.timestamp && w.sel.n < MAX_COLS &&
	    W_KIND(watch_cols[w.sel.id[0]].arg) != W_TIME) {
		memmove(w.sel.id + 1, w.sel.id, w.sel.n * sizeof(int));
		w.sel.id[0] = 0;
		w.sel.n++;
	}
	watch_init(&w);
	rc = open_feature(pf);
	if (rc)
		return rc;
	return watch_loop(pf, &w);
}
