// SPDX-License-Identifier: GPL-2.0-only
/*
 * mode: print the active mode, or write one and read it back.
 * drain: free what is pending, and show pending before and after.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "columns.h"

static void mode_help(void)
{
	fputs("Usage:\n"
	      " pgtfree mode [async|sync] [options]\n"
	      "\n"
	      "Print the free mode, or set it and read it back (root).\n"
	      " async  page tables go on a list, freed in batches with one "
	      "IOMMU\n"
	      "        invalidation each (the default)\n"
	      " sync   freed at once while no address space is bound for "
	      "SVA;\n"
	      "        while one is bound, queued without the batching "
	      "delay\n"
	      "\n"
	      "The mode lasts until reboot: to keep it, boot with "
	      "pgtable_free.mode=sync\n"
	      "or set it from /etc/sysfs.d (sysfsutils); see pgtfree(8), "
	      "PERSISTENT MODE.\n"
	      "\n"
	      "Options:\n"
	      " -J, --json              JSON output\n"
	      "     --sysroot <dir>     use <dir>/sys instead of /sys\n",
	      stdout);
}

static int no_opt(void *ctx, int c, const char *arg)
{
	(void)ctx;
	(void)c;
	(void)arg;
	return 0;
}

static const struct colinfo mode_cols[] = {
	{ "MODE", "mode", "free mode", COL_STR, true, 0, 0 },
};

static const struct colset mode_set = { "pgtfree", mode_cols, 1 };

static void print_mode(const struct pgtfree *pf, const char *mode)
{
	struct table *t;
	char *cell;

	if (pf->format != FMT_JSON) {
		printf("%s\n", mode);
		return;
	}
	t = table_new(pf, &mode_set, NULL);
	cell = xstrdup(mode);
	table_row(t, &cell);
	table_print(t, false);
	table_free(t);
}

/* a word the kernel does not offer: EX_USAGE, with the ones it does */
static int bad_word(const char *want, const struct mode *m)
{
	char *q = quote_str(want), *list = NULL, *p;
	int i, rc;

	for (i = 0; m && i < m->nwords; i++) {
		p = xasprintf("%s%s%s", list ? list : "", list ? ", " : "",
			      m->word[i]);
		free(list);
		list = p;
	}
	rc = usage_error("mode", "invalid mode '%s': %s%s", q,
			 list ? "this kernel offers " : "use async or sync",
			 list ? list : "");
	free(list);
	free(q);
	return rc;
}

int cmd_mode(struct pgtfree *pf, struct cmd_args *a)
{
	const struct cmd_opts o = { "mode", 1, "", NULL, 0, no_opt, NULL,
				    mode_help };
	const char *want = NULL;
	struct sample s;
	char *val;
	int rc;

	rc = parse_opts(pf, a, &o);
	if (rc)
		return rc;
	if (optind < a->argc)
		want = a->argv[optind];
	if (want && !mode_word_ok(want, strlen(want)))
		return bad_word(want, NULL);
	rc = open_feature(pf);
	if (rc)
		return rc;
	memset(&s, 0, sizeof(s));
	read_mode(pf, &s);
	if (exit_status())
		return exit_status();
	if (!mode_active(&s.mode)) {
		report(EX_UNAVAIL, "mode: not provided by this kernel");
		return EX_UNAVAIL;
	}
	if (want && mode_find(&s.mode, want) < 0)
		return bad_word(want, &s.mode);
	if (want) {
		val = xasprintf("%s\n", want);
		rc = write_file(pf->dirfd, "mode", val, SYSFS_MAGIC);
		free(val);
		if (rc) {
			file_fail("mode", rc, ACC_WRITE);
			return exit_status();
		}
		read_mode(pf, &s);
		if (exit_status())
			return exit_status();
		if (!mode_active(&s.mode) ||
		    strcmp(mode_active(&s.mode), want)) {
			report(EXIT_FAILURE, "mode: wrote '%s' but the kernel "
			       "reports '%s'", want, mode_active(&s.mode) ?
			       mode_active(&s.mode) : "nothing");
			return EXIT_FAILURE;
		}
	}
	print_mode(pf, mode_active(&s.mode));
	return 0;
}

static void drain_help(void)
{
	fputs("Usage:\n"
	      " pgtfree drain [options]\n"
	      "\n"
	      "Free every pending page table now (root): when it returns, "
	      "what was pending\nbefore has been freed, with one IOMMU "
	      "invalidation if an address space is\nbound for SVA.  Shows "
	      "PENDING before and after, and how many pages FREED grew.\n"
	      "\n"
	      "Options:\n"
	      " -J, --json, -r, --raw   JSON or raw output\n"
	      " -n, --noheadings        no header line\n"
	      "     --sysroot <dir>     use <dir>/sys instead of /sys\n",
	      stdout);
}

static const struct colinfo drain_cols[] = {
	{ "PENDING_BEFORE", "pending_before", "pending before the drain",
	  COL_NUM, true, 0, 0 },
	{ "PENDING_AFTER", "pending_after", "pending after it", COL_NUM,
	  true, 0, 0 },
	{ "FREED", "freed", "how many pages FREED grew meanwhile", COL_NUM,
	  true, 0, 0 },
};

static const struct colset drain_set = { "drain", drain_cols, 3 };

int cmd_drain(struct pgtfree *pf, struct cmd_args *a)
{
	const struct cmd_opts o = { "drain", 0, "", NULL, OPT_NOHEAD, no_opt,
				    NULL, drain_help };
	const unsigned int need = BIT(CT_PENDING) | BIT(CT_FREED);
	struct sample before, after;
	char *cells[3];
	struct table *t;
	int rc;

	rc = parse_opts(pf, a, &o);
	if (!rc)
		rc = open_feature(pf);
	if (rc)
		return rc;
	read_sample(pf, &before, need);
	rc = write_file(pf->dirfd, "drain", "1", SYSFS_MAGIC);
	if (rc) {
		file_fail("drain", rc, ACC_WRITE);
		return exit_status();
	}
	read_sample(pf, &after, need);
	cells[0] = before.have[CT_PENDING] ? u64_str(before.val[CT_PENDING]) :
		   NULL;
	cells[1] = after.have[CT_PENDING] ? u64_str(after.val[CT_PENDING]) :
		   NULL;
	cells[2] = before.have[CT_FREED] && after.have[CT_FREED] &&
		   after.val[CT_FREED] >= before.val[CT_FREED] ?
		   u64_str(after.val[CT_FREED] - before.val[CT_FREED]) : NULL;
	t = table_new(pf, &drain_set, NULL);
	table_row(t, cells);
	table_print(t, false);
	table_free(t);
	return 0;
}
