// SPDX-License-Identifier: GPL-2.0-only
/*
 * pgtfree(8) - show and control the deferred freeing of kernel page tables
 *
 * The command table, the options every command has, help and dispatch.
 * Each command parses its own options (parse_opts()); its options may
 * stand before or after its name: "pgtfree -J drain" is "pgtfree drain -J".
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pgtfree.h"

enum {
	OPT_FORMAT = 0x100,
	OPT_SYSROOT,
	OPT_OUTPUT_ALL,
};

struct cmd {
	const char	*name;
	int		(*fn)(struct pgtfree *pf, struct cmd_args *a);
	const char	*what;
};

static const struct cmd cmds[] = {
	{ "status", cmd_status,
	  "the mode and the counters (the default); --check: a verdict" },
	{ "watch", cmd_watch,
	  "rates and pages per batch every <delay> seconds, as vmstat" },
	{ "mode", cmd_mode,
	  "print the mode, or set it (until reboot, see pgtfree(8))" },
	{ "drain", cmd_drain,
	  "free every pending page table now" },
	{ "top", cmd_top,
	  "who frees kernel page tables, from the trace events, live" },
};

/* options of the commands that take a value, to find the command's name */
static const char *const value_opts[] = {
	"-o", "--output", "-i", "--interval", "-c", "--count", "-d",
	"--delay", "--format", "--sysroot", "--input", "--iterations",
};

static void print_help(void)
{
	size_t i;

	fputs("Usage:\n"
	      " pgtfree [status] [options]\n"
	      " pgtfree watch [options] [<delay> [<count>]]\n"
	      " pgtfree mode [async|sync] [options]\n"
	      " pgtfree drain [options]\n"
	      " pgtfree top [options]\n"
	      " pgtfree help [<command>]\n"
	      "\n"
	      "Show and control the deferred freeing of kernel page tables\n"
	      "(/sys/kernel/mm/pgtable_free).\n"
	      "\n"
	      "Commands:\n", stdout);
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		printf(" %-8s %s\n", cmds[i].name, cmds[i].what);
	fputs("\n"
	      "Options of every command:\n"
	      " -J, --json             JSON output\n"
	      " -r, --raw              raw output\n"
	      "     --format <format>  table, raw or json (status: "
	      "prometheus too)\n"
	      "     --sysroot <dir>    use <dir>/sys instead of /sys\n"
	      " -h, --help             this help, or a command's: "
	      "pgtfree <command> --help\n"
	      " -V, --version          display version\n"
	      "\n"
	      "Exit status: 0 ok, 1 failure, 2 status --check found "
	      "something wrong,\n"
	      "64 usage, 65 a bad value or one the kernel rejected, 66 no "
	      "such root or\n"
	      "input, 69 no kernel interface (top: no tracefs or events), "
	      "73 cannot create\n"
	      "the ftrace instance, 77 permission denied or an access "
	      "refused.\n"
	      "See pgtfree(8).\n", stdout);
}

static int help_exit(void (*help)(void))
{
	help();
	return close_stdout();
}

int extra_operand(const char *cmd, const char *arg)
{
	char *q = quote_str(arg);
	int rc = usage_error(cmd, "unexpected argument '%s'", q);

	free(q);
	return rc;
}

/* an option's value: 0, or EX_USAGE after saying what it takes */
int opt_seconds(const char *cmd, const char *what, const char *arg,
		double min, double *v)
{
	char *q;

	if (parse_seconds(arg, min, 86400, v))
		return 0;
	q = quote_str(arg);
	usage_error(cmd, "invalid %s '%s': use seconds from %g to 86400", what,
		    q, min);
	free(q);
	return EX_USAGE_;
}

int opt_count(const char *cmd, const char *what, const char *arg,
	      uint64_t *v)
{
	char *q;

	if (parse_count(arg, v))
		return 0;
	q = quote_str(arg);
	usage_error(cmd, "invalid %s '%s': use a whole number, 1 or more",
		    what, q);
	free(q);
	return EX_USAGE_;
}

static int set_format(const char *cmd, enum format *fmt, bool *set,
		      enum format f)
{
	if (*set && *fmt != f)
		return usage_error(cmd, "--json, --raw and --format are "
				   "mutually exclusive");
	*fmt = f;
	*set = true;
	return 0;
}

static int format_opt(const struct cmd_opts *o, const char *arg,
		      enum format *fmt, bool *set)
{
	static const char *const names[] = { "table", "raw", "json",
					     "prometheus" };
	size_t i;
	char *q;
	int rc;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(arg, names[i]) &&
		    (i != FMT_PROM || (o->common & OPT_PROM)))
			return set_format(o->cmd, fmt, set, (enum format)i);
	q = quote_str(arg);
	rc = usage_error(o->cmd, "unknown format '%s': use table, raw or "
			 "json%s", q, o->common & OPT_PROM ?
			 " or prometheus" : "");
	free(q);
	return rc;
}

static const struct option common_long[] = {
	{ "json",         no_argument,       NULL, 'J' },
	{ "raw",          no_argument,       NULL, 'r' },
	{ "format",       required_argument, NULL, OPT_FORMAT },
	{ "sysroot",      required_argument, NULL, OPT_SYSROOT },
	{ "help",         no_argument,       NULL, 'h' },
	{ "version",      no_argument,       NULL, 'V' },
	{ "output",       required_argument, NULL, 'o' },
	{ "output-all",   no_argument,       NULL, OPT_OUTPUT_ALL },
	{ "list-columns", no_argument,       NULL, 'H' },
	{ "bytes",        no_argument,       NULL, 'b' },
	{ "noheadings",   no_argument,       NULL, 'n' },
};

/* whether the common option @c is one command @o takes */
static bool takes(const struct cmd_opts *o, int c)
{
	switch (c) {
	case 'o':
	case OPT_OUTPUT_ALL:
	case 'H':
		return o->common & OPT_COLUMNS;
	case 'b':
		return o->common & OPT_BYTES;
	case 'n':
		return o->common & OPT_NOHEAD;
	default:
		return true;
	}
}

static void build_opts(const struct cmd_opts *o, struct option *lo,
		       char *so)
{
	size_t n = 0, i;

	for (i = 0; o->longopts && o->longopts[i].name; i++)
		lo[n++] = o->longopts[i];
	for (i = 0; i < ARRAY_SIZE(common_long); i++)
		if (takes(o, common_long[i].val))
			lo[n++] = common_long[i];
	memset(&lo[n], 0, sizeof(*lo));
	sprintf(so, ":JrhV%s%s%s%s", o->optstring,
		o->common & OPT_COLUMNS ? "o:H" : "",
		o->common & OPT_BYTES ? "b" : "",
		o->common & OPT_NOHEAD ? "n" : "");
}

static int bad_option(const struct cmd_opts *o, char **argv, int c)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return usage_error(o->cmd, "option '%s' requires an argument",
				   arg);
	if (optopt && strncmp(arg, "--", 2))
		return usage_error(o->cmd, "invalid option -- '%c'", optopt);
	return usage_error(o->cmd, "unrecognized option '%s'", arg);
}

/* 0, -1 after --help or --version (printed), else an exit status */
int parse_opts(struct pgtfree *pf, struct cmd_args *a,
	       const struct cmd_opts *o)
{
	struct option lo[32];
	bool fmt_set = false;
	char so[64];
	int c, rc;

	build_opts(o, lo, so);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(a->argc, a->argv, so, lo, NULL)) != -1) {
		rc = 0;
		/* the command's own -n is not --noheadings */
		switch (c == 'n' && !takes(o, c) ? 0 : c) {
		case 'J':
			rc = set_format(o->cmd, &pf->format, &fmt_set,
					FMT_JSON);
			break;
		case 'r':
			rc = set_format(o->cmd, &pf->format, &fmt_set,
					FMT_RAW);
			break;
		case OPT_FORMAT:
			rc = format_opt(o, optarg, &pf->format, &fmt_set);
			break;
		case OPT_SYSROOT:
			/* "/" and "" are the real root */
			for (rc = (int)strlen(optarg); rc > 0 &&
			     optarg[rc - 1] == '/'; rc--)
				optarg[rc - 1] = '\0';
			rc = 0;
			pf->root = optarg;
			break;
		case 'o':
			a->output = optarg;
			break;
		case OPT_OUTPUT_ALL:
		case 'H':
		case 'b':
		case 'n':
			*(c == 'H' ? &a->list : c == 'b' ? &pf->bytes :
			  c == 'n' ? &pf->noheadings : &a->all) = true;
			break;
		case 'h':
			help_exit(a->named ? o->help : print_help);
			return -1;
		case 'V':
			printf("pgtfree %s\n", PGTFREE_VERSION);
			close_stdout();
			return -1;
		case ':':
		case '?':
			return bad_option(o, a->argv, c);
		default:
			rc = o->handle(o->ctx, c, optarg);
			break;
		}
		if (rc)
			return rc;
	}
	if (a->output && a->all)
		return usage_error(o->cmd, "--output and --output-all are "
				   "mutually exclusive");
	if (a->argc - optind > o->operands)
		return extra_operand(o->cmd, a->argv[optind + o->operands]);
	return 0;
}

static bool takes_value(const char *arg)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(value_opts); i++)
		if (!strcmp(arg, value_opts[i]))
			return true;
	return false;
}

/* the index of the command's name in argv, or 0 */
static int find_command(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return i + 1 < argc ? i + 1 : 0;
		if (argv[i][0] != '-' || !argv[i][1])
			return i;
		if (takes_value(argv[i]))
			i++;
	}
	return 0;
}

static const struct cmd *cmd_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(name, cmds[i].name))
			return &cmds[i];
	return NULL;
}

static int unknown_command(const char *name)
{
	char *q = quote_str(name);
	int rc = usage_error(NULL, "unknown command '%s': use status, "
			     "watch, mode, drain, top or help", q);

	free(q);
	return rc;
}

int main(int argc, char **argv)
{
	struct pgtfree pf = { .root = "", .rootfd = -1, .dirfd = -1 };
	struct cmd_args a = { 0 };
	const struct cmd *cmd = &cmds[0];
	char *help_argv[3];
	int i, at, rc;

	/* -J anywhere: even a usage error is reported as JSON */
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-J") || !strcmp(argv[i], "--json") ||
		    !strcmp(argv[i], "--format=json") ||
		    (!strcmp(argv[i], "--format") && i + 1 < argc &&
		     !strcmp(argv[i + 1], "json")))
			json_errors = true;

	a.argv = xcalloc(argc + 2, sizeof(char *));
	at = find_command(argc, argv);
	if (at && !strcmp(argv[at], "help")) {
		/* "help [CMD]" is "[CMD] --help" */
		if (at + 2 < argc)
			rc = extra_operand("help", argv[at + 2]);
		else if (at + 1 < argc && !cmd_by_name(argv[at + 1]))
			rc = unknown_command(argv[at + 1]);
		else
			goto help;
		free(a.argv);
		return rc;
	}
	if (at) {
		cmd = cmd_by_name(argv[at]);
		if (!cmd) {
			free(a.argv);
			return unknown_command(argv[at]);
		}
		a.named = true;
	}
	a.argv[a.argc++] = (char *)cmd->name;
	for (i = 1; i < argc; i++)
		if (i != at)
			a.argv[a.argc++] = argv[i];

	pf.pagesize = sysconf(_SC_PAGESIZE);
	if (pf.pagesize <= 0)
		pf.pagesize = 4096;
	rc = cmd->fn(&pf, &a);
	if (rc < 0)
		rc = exit_status();
	else if (!exit_status())
		set_exit_status(rc);
	rc = close_stdout();
	if (pf.dirfd >= 0)
		close(pf.dirfd);
	if (pf.rootfd >= 0)
		close(pf.rootfd);
	free(a.argv);
	return rc;
help:
	help_argv[0] = at + 1 < argc ? argv[at + 1] : (char *)"status";
	help_argv[1] = (char *)"--help";
	help_argv[2] = NULL;
	a.argc = 2;
	a.argv[0] = help_argv[0];
	a.argv[1] = help_argv[1];
	a.named = at + 1 < argc;
	rc = cmd_by_name(help_argv[0])->fn(&pf, &a);
	free(a.argv);
	return rc < 0 ? exit_status() : rc;
}
