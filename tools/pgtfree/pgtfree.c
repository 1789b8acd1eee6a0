// SPDX-License-Identifier: GPL-2.0-only
/*
 * pgtfree(8) - show and control asynchronous freeing of kernel page tables
 *
 * Talks to /sys/kernel/mm/pgtable_free/ (CONFIG_ASYNC_KERNEL_PGTABLE_FREE):
 *
 *   mode     "[async] sync\n" or "async [sync]\n"; write "async" or "sync"
 *   drain    write "1": free everything pending before write(2) returns
 *   stats/   one decimal u64 followed by "\n" per file
 *
 * Tables, raw and JSON output go through libsmartcols; the only text this
 * file formats by hand is the Prometheus exposition format and the aligned
 * lines of "watch".
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <libsmartcols.h>

#define PGTFREE_VERSION	"0.1"
#define PGTFREE_SYSFS	"/sys/kernel/mm/pgtable_free"
#define PGTFREE_KCONFIG	"CONFIG_ASYNC_KERNEL_PGTABLE_FREE"

#define ATTR_MAX	4096	/* largest value accepted (sysfs: a page) */
#define QUOTE_MAX	40	/* bytes of a bad value quoted */
#define MAX_COLS	64	/* -o entries */
#define INTERVAL_MIN	0.01
#define INTERVAL_MAX	86400.0

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* read_attr()/write_attr() results besides -errno */
#define E_NOTREG	(-10001)	/* exists but is not a regular file */
#define E_TOOLONG	(-10002)	/* more than ATTR_MAX bytes */

enum {
	FMT_TABLE,
	FMT_RAW,
	FMT_JSON,
	FMT_PROM,
};

static const char *const format_name[] = {
	[FMT_TABLE] = "table",
	[FMT_RAW] = "raw",
	[FMT_JSON] = "json",
	[FMT_PROM] = "prometheus",
};

/*
 * The counters, in the order they are read.  They are read one file at a
 * time while the kernel keeps updating them.  A counter the kernel bumps
 * after another is read before it (batches before freed, oom_events before
 * oom_freed before freed, freed before queued, pending before pending_max)
 * so that the usual skew errs on the side of the invariants
 * freed >= batches, freed >= oom_freed >= oom_events,
 * queued >= freed + pending and pending_max >= pending.
 * Derived figures are guarded anyway.
 */
enum {
	CT_FREED_SYNC,
	CT_OOM_EVENTS,
	CT_OOM_FREED,
	CT_BATCHES,
	CT_FREED,
	CT_PENDING,
	CT_PENDING_MAX,
	CT_QUEUED,
	NR_COUNTERS
};

static const char *const counter_file[NR_COUNTERS] = {
	[CT_FREED_SYNC] = "freed_sync",
	[CT_OOM_EVENTS] = "oom_events",
	[CT_OOM_FREED] = "oom_freed",
	[CT_FREED] = "freed",
	[CT_BATCHES] = "batches",
	[CT_PENDING] = "pending",
	[CT_PENDING_MAX] = "pending_max",
	[CT_QUEUED] = "queued",
};

enum pgt_mode {
	MODE_ABSENT = 0,
	MODE_ASYNC,
	MODE_SYNC,
};

static const char *const mode_word[] = {
	[MODE_ABSENT] = NULL,
	[MODE_ASYNC] = "async",
	[MODE_SYNC] = "sync",
};

/* bit in pgtfree.reported for the mode file; counters use 1 << index */
#define REPORTED_MODE	(1U << NR_COUNTERS)

/* one reading of the files; the clocks are taken after the reads */
struct sample {
	uint64_t	val[NR_COUNTERS];
	bool		have[NR_COUNTERS];
	enum pgt_mode	mode;
	struct timespec	mono;
	struct timespec	real;
};

/* output columns of "status" */
enum {
	COL_MODE,
	COL_PENDING,
	COL_PENDING_SIZE,
	COL_PENDING_MAX,
	COL_QUEUED,
	COL_FREED,
	COL_BATCHES,
	COL_AVG_BATCH,
	COL_FREED_SYNC,
	COL_OOM_FREED,
	COL_OOM_EVENTS,
	/* not shown by default */
	COL_FLUSHES,
	COL_SYNC_PCT,
	COL_PENDING_MAX_SIZE,
	COL_FREED_SIZE,
	NR_COLUMNS
};

#define NR_DEFAULT_COLUMNS	(COL_OOM_EVENTS + 1)

struct colinfo {
	const char	*name;
	double		whint;
	int		flags;
	int		json_type;
	const char	*help;
};

static const struct colinfo coldescs[NR_COLUMNS] = {
	[COL_MODE] = { "MODE", 5,
		0, SCOLS_JSON_STRING,
		"free mode: async or sync" },
	[COL_PENDING] = { "PENDING", 7,
		SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
		"pages on the deferred free list now" },
	[COL_PENDING_SIZE] = { "PENDING_SIZE", 6,
		SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
		"size of the pending pages" },
	[COL_PENDING_MAX] = { "PENDING_MAX", 7,
		SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
		"high-water mark of PENDING, in pages" },
	[COL_QUEUED] = { "QUEUED", 7,
		SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
		"pages ever put on the deferred list" },
	[COL_FREED] = { "FREED", 7,
		SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
		"pages freed from the list (worker, drain, OOM)" },
	[COL_BATCHES] = { "BATCHES", 7,
		SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
		"list drains that freed pages (one flush each)" },
	[COL_AVG_BATCH] = { "AVG_BATCH", 6,
		SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
		"average pages per list drain" },
	[COL_FREED_SYNC] = { "FREED_SYNC", 7,
		SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
		"pages freed at once because mode was sync" },
	[COL_OOM_FREED] = { "OOM_FREED", 7,
		SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
		"pages freed by the OOM notifier" },
	[COL_OOM_EVENTS] = { "OOM_EVENTS", 7,
		SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
		"times the OOM notifier freed pending pages" },
	[COL_FLUSHES] = { "FLUSHES", 7,
		SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
		"expensive flush operations: list drains plus sync frees" },
	[COL_SYNC_PCT] = { "SYNC_PCT", 5,
		SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
		"percentage of pages freed synchronously" },
	[COL_PENDING_MAX_SIZE] = { "PENDING_MAX_SIZE", 6,
		SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
		"size of PENDING_MAX pages" },
	[COL_FREED_SIZE] = { "FREED_SIZE", 6,
		SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
		"size of FREED pages" },
};

/* commands and the options each accepts */
enum {
	CMD_STATUS,
	CMD_WATCH,
	CMD_MODE,
	CMD_DRAIN,
};

static const char *const command_name[] = {
	[CMD_STATUS] = "status",
	[CMD_WATCH] = "watch",
	[CMD_MODE] = "mode",
	[CMD_DRAIN] = "drain",
};

enum {
	OPT_FORMAT = CHAR_MAX + 1,
	OPT_SYSROOT,
};

/* option bits, to check which options a command accepts */
#define O_JSON		(1U << 0)
#define O_RAW		(1U << 1)
#define O_NOHEAD	(1U << 2)
#define O_OUTPUT	(1U << 3)
#define O_BYTES		(1U << 4)
#define O_FORMAT	(1U << 5)
#define O_INTERVAL	(1U << 6)
#define O_COUNT		(1U << 7)

static const unsigned int command_opts[] = {
	[CMD_STATUS] = O_JSON | O_RAW | O_NOHEAD | O_OUTPUT | O_BYTES |
		       O_FORMAT,
	[CMD_WATCH] = O_JSON | O_RAW | O_NOHEAD | O_FORMAT | O_INTERVAL |
		      O_COUNT,
	[CMD_MODE] = O_JSON | O_RAW | O_FORMAT,
	[CMD_DRAIN] = O_JSON | O_RAW | O_NOHEAD | O_FORMAT,
};

struct pgtfree {
	char		*dir;		/* <root>/sys/kernel/mm/pgtable_free */
	int		format;
	bool		noheadings;
	bool		bytes;
	long		pagesize;
	int		status;		/* exit status: the first error */
	unsigned int	reported;	/* files with an error reported */
	int		cols[MAX_COLS];
	size_t		ncols;
};

/* set before anything can fail: errors go to stderr as JSON too */
static bool json_errors;

static volatile sig_atomic_t got_signal;

/*
 * Memory
 */
static void __attribute__((noreturn)) oom(void)
{
	/* no allocation here: a fixed message in either format */
	if (json_errors)
		fputs("{\"error\":{\"message\":\"out of memory\","
		      "\"code\":1}}\n", stderr);
	else
		fputs("pgtfree: out of memory\n", stderr);
	exit(EXIT_FAILURE);
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		oom();
	return p;
}

static __attribute__((format(printf, 1, 2))) char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (rc < 0)
		oom();
	return s;
}

/*
 * JSON through libsmartcols
 */

/*
 * Print @tb (JSON enabled, named @name, exactly one line) to a string and
 * return its only object compacted to a single line: the
 * {"name": [ {...} ]} wrapper libsmartcols prints is removed.  Whitespace
 * is dropped outside of strings only; libsmartcols escapes control
 * characters inside strings, so no newline survives.
 */
static char *json_object(struct libscols_table *tb, const char *name)
{
	char *s = NULL, *p, *q, *prefix;
	bool in_str = false, esc = false;
	size_t len, plen;

	if (scols_print_table_to_string(tb, &s) != 0 || !s) {
		free(s);
		return NULL;
	}
	for (p = q = s; *p; p++) {
		if (in_str) {
			if (esc)
				esc = false;
			else if (*p == '\\')
				esc = true;
			else if (*p == '"')
				in_str = false;
		} else if (*p == '"') {
			in_str = true;
		} else if (isspace((unsigned char)*p)) {
			continue;
		}
		*q++ = *p;
	}
	*q = '\0';

	prefix = xasprintf("{\"%s\":[", name);
	plen = strlen(prefix);
	len = strlen(s);
	if (len < plen + 4 || strncmp(s, prefix, plen) != 0 ||
	    strcmp(s + len - 2, "]}") != 0 || s[plen] != '{') {
		free(prefix);
		free(s);
		return NULL;
	}
	free(prefix);
	memmove(s, s + plen, len - plen - 2);
	s[len - plen - 2] = '\0';
	return s;
}

/* {"error":{"message":"...","code":N}} on one line of stderr */
static int print_json_error(int code, const char *msg)
{
	struct libscols_table *tb;
	struct libscols_column *cl;
	struct libscols_line *ln;
	char num[16], *obj = NULL;

	tb = scols_new_table();
	if (!tb)
		return -1;
	scols_table_enable_json(tb, 1);
	scols_table_set_name(tb, "error");
	if (!scols_table_new_column(tb, "message", 0, 0))
		goto out;
	cl = scols_table_new_column(tb, "code", 0, 0);
	if (!cl)
		goto out;
	scols_column_set_json_type(cl, SCOLS_JSON_NUMBER);
	ln = scols_table_new_line(tb, NULL);
	if (!ln)
		goto out;
	snprintf(num, sizeof(num), "%d", code);
	if (scols_line_set_data(ln, 0, msg) || scols_line_set_data(ln, 1, num))
		goto out;
	obj = json_object(tb, "error");
	if (obj)
		fprintf(stderr, "{\"error\":%s}\n", obj);
out:
	scols_unref_table(tb);
	if (!obj)
		return -1;
	free(obj);
	return 0;
}

/*
 * Messages
 */
static void emit_error(int code, const char *msg)
{
	if (json_errors && print_json_error(code, msg) == 0)
		return;
	fprintf(stderr, "pgtfree: %s\n", msg);
}

/* Report an error; the first one reported decides the exit status. */
static void __attribute__((format(printf, 3, 4)))
fail(struct pgtfree *pf, int code, const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (rc < 0)
		oom();
	emit_error(code, msg);
	free(msg);
	if (pf && !pf->status)
		pf->status = code;
}

static const char short_usage[] =
	"Usage: pgtfree [options] "
	"[status | watch | mode [async|sync] | drain]\n";

/* Report a usage error and return EX_USAGE. */
static int __attribute__((format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int rc;

	va_start(ap, fmt);
	rc = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (rc < 0)
		oom();
	if (json_errors && print_json_error(EX_USAGE, msg) == 0) {
		free(msg);
		return EX_USAGE;
	}
	fprintf(stderr,
		"pgtfree: %s\n%sTry 'pgtfree --help' for more information.\n",
		msg, short_usage);
	free(msg);
	return EX_USAGE;
}

/*
 * A value read from the kernel, made safe to quote: one trailing newline
 * dropped, printable ASCII kept, other bytes as \xNN, at most QUOTE_MAX
 * input bytes followed by "...".
 */
static char *quote_value(const char *buf, size_t len)
{
	size_t i, n = len;
	char *out, *p;

	if (n && buf[n - 1] == '\n')
		n--;
	out = malloc(QUOTE_MAX * 4 + 4);
	if (!out)
		oom();
	p = out;
	for (i = 0; i < n && i < QUOTE_MAX; i++) {
		unsigned char c = buf[i];

		if (c >= 0x20 && c < 0x7f) {
			*p++ = c;
		} else {
			sprintf(p, "\\x%02x", c);
			p += 4;
		}
	}
	if (i < n)
		p = stpcpy(p, "...");
	*p = '\0';
	return out;
}

/*
 * sysfs access
 */
static char *attr_path(const struct pgtfree *pf, const char *rel)
{
	return xasprintf("%s/%s", pf->dir, rel);
}

/*
 * Read a whole file of less than @size bytes into @buf.  Returns 0, or
 * -errno, E_NOTREG or E_TOOLONG.  Never blocks on a FIFO or a device.
 */
static int read_attr(const char *path, char *buf, size_t size, size_t *len)
{
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = E_NOTREG;
		goto out;
	}
	while (n < size) {
		r = read(fd, buf + n, size - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += r;
	}
	if (n >= size)
		rc = E_TOOLONG;
out:
	close(fd);
	*len = n;
	return rc;
}

/*
 * Write @val with one write(2) so that the errno the kernel returns is the
 * one reported.  Returns 0, -errno or E_NOTREG.
 */
static int write_attr(const char *path, const char *val)
{
	size_t len = strlen(val);
	struct stat st;
	ssize_t n;
	int fd, rc = 0;

	if (stat(path, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return E_NOTREG;
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	do
		n = write(fd, val, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		rc = -errno;
	else if ((size_t)n != len)
		rc = -EIO;
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* Report a failed write of @val to @rel; sets the exit status. */
static void write_error(struct pgtfree *pf, const char *rel,
			const char *val, int rc)
{
	char *q = quote_value(val, strlen(val));

	switch (rc) {
	case -EACCES:
	case -EPERM:
		if (geteuid() == 0)
			fail(pf, EX_NOPERM,
			     "%s: permission denied although running as root: "
			     "kernel lockdown or a security module (LSM) "
			     "refused the write", rel);
		else
			fail(pf, EX_NOPERM,
			     "%s: permission denied: writing needs root "
			     "(try sudo)", rel);
		break;
	case -EINVAL:
		fail(pf, EX_DATAERR, "%s: the kernel rejected '%s' (EINVAL)",
		     rel, q);
		break;
	case -ENOENT:
		fail(pf, EX_UNAVAILABLE, "%s: not provided by this kernel",
		     rel);
		break;
	case E_NOTREG:
		fail(pf, EXIT_FAILURE, "%s: not a regular file", rel);
		break;
	default:
		fail(pf, EXIT_FAILURE, "%s: cannot write '%s': %s", rel, q,
		     strerror(-rc));
		break;
	}
	free(q);
}

/*
 * Parse "<decimal>\n".  Returns NULL or why the value is malformed.
 */
static const char *parse_u64(const char *buf, size_t len, uint64_t *val)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return "empty file";
	for (i = 0; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
		unsigned int d = buf[i] - '0';

		if (v > (UINT64_MAX - d) / 10)
			return "number out of range";
		v = v * 10 + d;
	}
	if (i == 0)
		return "not a number";
	if (i == len)
		return "truncated value (no newline)";
	if (buf[i] != '\n' || i + 1 != len)
		return "not a number";
	*val = v;
	return NULL;
}

/*
 * Parse the mode file: words separated by spaces, the active one in
 * brackets ("[async] sync\n").  A lone word ("sync\n") is accepted too: it
 * is what a plain file holds after "pgtfree mode sync" in a test tree.
 */
static const char *parse_mode(const char *buf, size_t len,
			      enum pgt_mode *mode)
{
	enum pgt_mode sel = MODE_ABSENT, bare = MODE_ABSENT;
	char tmp[ATTR_MAX + 1], *tok, *save = NULL;
	int nsel = 0, ntok = 0;

	if (len == 0)
		return "empty file";
	if (len > ATTR_MAX || memchr(buf, '\0', len))
		return "unrecognised mode";
	if (buf[len - 1] != '\n')
		return "truncated value (no newline)";
	memcpy(tmp, buf, len - 1);
	tmp[len - 1] = '\0';

	for (tok = strtok_r(tmp, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		ntok++;
		if (strcmp(tok, "[async]") == 0) {
			sel = MODE_ASYNC;
			nsel++;
		} else if (strcmp(tok, "[sync]") == 0) {
			sel = MODE_SYNC;
			nsel++;
		} else if (strcmp(tok, "async") == 0) {
			bare = MODE_ASYNC;
		} else if (strcmp(tok, "sync") == 0) {
			bare = MODE_SYNC;
		} else {
			return "unrecognised mode";
		}
	}
	if (nsel == 1)
		*mode = sel;
	else if (nsel == 0 && ntok == 1)
		*mode = bare;
	else
		return "unrecognised mode";
	return NULL;
}

/*
 * Report a problem with file @rel (bit @bit in pf->reported).  In "watch"
 * the same file is read again and again: each problem is reported when it
 * appears, not on every line.
 */
static void __attribute__((format(printf, 4, 5)))
file_error(struct pgtfree *pf, unsigned int bit, int code,
	   const char *fmt, ...)
{
	va_list ap;
	char *msg;
	int rc;

	if (!pf->status)
		pf->status = code;
	if (pf->reported & bit)
		return;
	pf->reported |= bit;

	va_start(ap, fmt);
	rc = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (rc < 0)
		oom();
	emit_error(code, msg);
	free(msg);
}

/*
 * Read the file @rel into @buf.  Returns 1 when there is a value to
 * parse, 0 when the file is absent or unusable (reported).
 */
static int load_attr(struct pgtfree *pf, const char *rel, unsigned int bit,
		     char *buf, size_t *len)
{
	char *path = attr_path(pf, rel);
	int rc = read_attr(path, buf, ATTR_MAX + 1, len);

	free(path);
	switch (rc) {
	case 0:
		return 1;
	case -ENOENT:
		/* an older kernel: absent, not an error */
		pf->reported &= ~bit;
		return 0;
	case -EISDIR:
		file_error(pf, bit, EX_DATAERR, "%s: is a directory", rel);
		return 0;
	case E_NOTREG:
		file_error(pf, bit, EX_DATAERR, "%s: not a regular file", rel);
		return 0;
	case E_TOOLONG:
		file_error(pf, bit, EX_DATAERR,
			   "%s: value too long (more than %d bytes)", rel,
			   ATTR_MAX);
		return 0;
	default:
		file_error(pf, bit, EXIT_FAILURE, "%s: cannot read: %s", rel,
			   strerror(-rc));
		return 0;
	}
}

static void read_counter(struct pgtfree *pf, struct sample *s, int i)
{
	char buf[ATTR_MAX + 1], rel[64];
	unsigned int bit = 1U << i;
	const char *why;
	size_t len;

	s->have[i] = false;
	snprintf(rel, sizeof(rel), "stats/%s", counter_file[i]);
	if (!load_attr(pf, rel, bit, buf, &len))
		return;
	why = parse_u64(buf, len, &s->val[i]);
	if (why) {
		char *q = quote_value(buf, len);

		if (len)
			file_error(pf, bit, EX_DATAERR, "%s: %s: '%s'", rel,
				   why, q);
		else
			file_error(pf, bit, EX_DATAERR, "%s: %s", rel, why);
		free(q);
		return;
	}
	pf->reported &= ~bit;
	s->have[i] = true;
}

/* Read the mode into s->mode (MODE_ABSENT if missing or bad). */
static void read_mode(struct pgtfree *pf, struct sample *s)
{
	char buf[ATTR_MAX + 1];
	const char *why;
	size_t len;

	s->mode = MODE_ABSENT;
	if (!load_attr(pf, "mode", REPORTED_MODE, buf, &len))
		return;
	why = parse_mode(buf, len, &s->mode);
	if (why) {
		char *q = quote_value(buf, len);

		s->mode = MODE_ABSENT;
		if (len)
			file_error(pf, REPORTED_MODE, EX_DATAERR,
				   "mode: %s: '%s'", why, q);
		else
			file_error(pf, REPORTED_MODE, EX_DATAERR,
				   "mode: %s", why);
		free(q);
		return;
	}
	pf->reported &= ~REPORTED_MODE;
}

static void read_sample(struct pgtfree *pf, struct sample *s, bool mode)
{
	int i;

	memset(s, 0, sizeof(*s));
	if (mode)
		read_mode(pf, s);
	for (i = 0; i < NR_COUNTERS; i++)
		read_counter(pf, s, i);
	clock_gettime(CLOCK_MONOTONIC, &s->mono);
	clock_gettime(CLOCK_REALTIME, &s->real);
}

/* 69 unless <sysroot>/sys/kernel/mm/pgtable_free is a directory */
static int check_feature(struct pgtfree *pf)
{
	struct stat st;
	int rc = stat(pf->dir, &st) == 0 ? 0 : errno;

	if (rc == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (rc == 0 || rc == ENOENT || rc == ENOTDIR)
		fail(pf, EX_UNAVAILABLE,
		     "%s not found: this kernel was built without %s "
		     "(asynchronous kernel page-table freeing)",
		     pf->dir, PGTFREE_KCONFIG);
	else
		fail(pf, EXIT_FAILURE, "%s: %s", pf->dir, strerror(rc));
	return pf->status;
}

/*
 * Derived figures: each returns false when it cannot be computed honestly.
 */

/*
 * Expensive flush operations.  The kernel counts a batch for each list
 * drain that freed pages (the work item, a drain, the OOM notifier), each
 * with one flush; a free in sync mode runs the flush for its page alone
 * and is counted in freed_sync only.  So the flushes are
 * BATCHES + FREED_SYNC; a sum that does not fit in 64 bits is "unknown",
 * never a wrapped-around number.
 */
static bool flushes(const struct sample *s, uint64_t *out)
{
	uint64_t b, fs;

	if (!s->have[CT_BATCHES] || !s->have[CT_FREED_SYNC])
		return false;
	b = s->val[CT_BATCHES];
	fs = s->val[CT_FREED_SYNC];
	if (b > UINT64_MAX - fs)
		return false;
	*out = b + fs;
	return true;
}

/*
 * FREED / BATCHES: pages per list drain.  Unknown before the first drain,
 * and when a read raced with the first one (BATCHES still 0, FREED not).
 */
static bool avg_batch(const struct sample *s, double *out)
{
	if (!s->have[CT_FREED] || !s->have[CT_BATCHES] ||
	    s->val[CT_BATCHES] == 0)
		return false;
	*out = (double)s->val[CT_FREED] / (double)s->val[CT_BATCHES];
	return true;
}

/* FREED_SYNC * 100 / (FREED + FREED_SYNC); unknown before any free */
static bool sync_pct(const struct sample *s, double *out)
{
	double fs, f;

	if (!s->have[CT_FREED] || !s->have[CT_FREED_SYNC])
		return false;
	f = (double)s->val[CT_FREED];
	fs = (double)s->val[CT_FREED_SYNC];
	if (f + fs <= 0)
		return false;
	*out = fs * 100.0 / (f + fs);
	return true;
}

/* "4K", "1.5M": base 2, one decimal when it matters (as util-linux) */
static char *human_size(uint64_t bytes)
{
	static const char units[] = "BKMGTPE";
	double v = (double)bytes;
	char num[32];
	size_t n;
	int i = 0;

	if (bytes < 1024)
		return xasprintf("%" PRIu64 "B", bytes);
	while (v >= 1024.0 && i < 6) {
		v /= 1024.0;
		i++;
	}
	if (v >= 1023.95 && i < 6) {
		v /= 1024.0;
		i++;
	}
	snprintf(num, sizeof(num), "%.1f", v);
	n = strlen(num);
	if (n > 2 && strcmp(num + n - 2, ".0") == 0)
		num[n - 2] = '\0';
	return xasprintf("%s%c", num, units[i]);
}

/* a size in bytes, NULL when it would overflow */
static char *size_cell(const struct pgtfree *pf, uint64_t pages)
{
	uint64_t ps = (uint64_t)pf->pagesize;

	if (ps && pages > UINT64_MAX / ps)
		return NULL;
	if (pf->bytes || pf->format == FMT_JSON)
		return xasprintf("%" PRIu64, pages * ps);
	return human_size(pages * ps);
}

static char *counter_cell(const struct sample *s, int i)
{
	if (!s->have[i])
		return NULL;
	return xasprintf("%" PRIu64, s->val[i]);
}

/* Cell text for @col, or NULL when the value is absent. */
static char *status_cell(const struct pgtfree *pf, const struct sample *s,
			 int col)
{
	uint64_t u;
	double d;

	switch (col) {
	case COL_MODE:
		return s->mode ? xstrdup(mode_word[s->mode]) : NULL;
	case COL_PENDING:
		return counter_cell(s, CT_PENDING);
	case COL_PENDING_SIZE:
		return s->have[CT_PENDING] ?
			size_cell(pf, s->val[CT_PENDING]) : NULL;
	case COL_PENDING_MAX:
		return counter_cell(s, CT_PENDING_MAX);
	case COL_PENDING_MAX_SIZE:
		return s->have[CT_PENDING_MAX] ?
			size_cell(pf, s->val[CT_PENDING_MAX]) : NULL;
	case COL_QUEUED:
		return counter_cell(s, CT_QUEUED);
	case COL_FREED:
		return counter_cell(s, CT_FREED);
	case COL_FREED_SIZE:
		return s->have[CT_FREED] ?
			size_cell(pf, s->val[CT_FREED]) : NULL;
	case COL_BATCHES:
		return counter_cell(s, CT_BATCHES);
	case COL_FREED_SYNC:
		return counter_cell(s, CT_FREED_SYNC);
	case COL_OOM_FREED:
		return counter_cell(s, CT_OOM_FREED);
	case COL_OOM_EVENTS:
		return counter_cell(s, CT_OOM_EVENTS);
	case COL_FLUSHES:
		return flushes(s, &u) ? xasprintf("%" PRIu64, u) : NULL;
	case COL_AVG_BATCH:
		return avg_batch(s, &d) ? xasprintf("%.1f", d) : NULL;
	case COL_SYNC_PCT:
		return sync_pct(s, &d) ? xasprintf("%.1f", d) : NULL;
	}
	return NULL;
}

static struct libscols_table *new_table(const struct pgtfree *pf,
					const char *name)
{
	struct libscols_table *tb = scols_new_table();

	if (!tb)
		oom();
	scols_table_set_name(tb, name);
	scols_table_enable_json(tb, pf->format == FMT_JSON);
	scols_table_enable_raw(tb, pf->format == FMT_RAW);
	scols_table_enable_noheadings(tb, pf->noheadings);
	return tb;
}

static void add_column(struct libscols_table *tb, const char *name,
		       double whint, int flags, int json_type)
{
	struct libscols_column *cl;

	cl = scols_table_new_column(tb, name, whint, flags);
	if (!cl)
		oom();
	scols_column_set_json_type(cl, json_type);
}

/* Hand @data (malloc'd, may be NULL = absent) to cell @n of @ln. */
static void set_cell(const struct pgtfree *pf, struct libscols_line *ln,
		     size_t n, char *data)
{
	if (!data) {
		/* an empty cell: JSON null; "-" in tables */
		if (pf->format == FMT_JSON)
			return;
		data = xstrdup("-");
	}
	if (scols_line_refer_data(ln, n, data) != 0) {
		free(data);
		oom();
	}
}

static int print_table(struct pgtfree *pf, struct libscols_table *tb)
{
	if (scols_print_table(tb) != 0 && !pf->status)
		fail(pf, EXIT_FAILURE, "cannot print the table");
	scols_unref_table(tb);
	return pf->status;
}

static void print_status_table(struct pgtfree *pf, const struct sample *s)
{
	struct libscols_table *tb = new_table(pf, "pgtfree");
	struct libscols_line *ln;
	size_t i;

	for (i = 0; i < pf->ncols; i++) {
		const struct colinfo *ci = &coldescs[pf->cols[i]];

		add_column(tb, ci->name, ci->whint, ci->flags, ci->json_type);
	}
	ln = scols_table_new_line(tb, NULL);
	if (!ln)
		oom();
	for (i = 0; i < pf->ncols; i++)
		set_cell(pf, ln, i, status_cell(pf, s, pf->cols[i]));
	print_table(pf, tb);
}

/*
 * Prometheus text exposition format (node_exporter textfile collector).
 * Absent values are omitted, HELP and TYPE lines included.
 */
struct prom_metric {
	int		counter;
	const char	*name;
	const char	*type;
	const char	*help;
};

static const struct prom_metric prom_metrics[] = {
	{ CT_PENDING, "pgtable_free_pending_pages", "gauge",
	  "Page-table pages on the deferred free list." },
	{ -1, "pgtable_free_pending_bytes", "gauge",
	  "Bytes of page-table pages on the deferred free list." },
	{ CT_PENDING_MAX, "pgtable_free_pending_max_pages", "gauge",
	  "High-water mark of pending page-table pages." },
	{ CT_QUEUED, "pgtable_free_queued_pages_total", "counter",
	  "Page-table pages put on the deferred free list." },
	{ CT_FREED, "pgtable_free_freed_pages_total", "counter",
	  "Page-table pages freed from the deferred list." },
	{ CT_BATCHES, "pgtable_free_batches_total", "counter",
	  "List drains that freed pages (one flush each)." },
	{ CT_FREED_SYNC, "pgtable_free_freed_sync_pages_total", "counter",
	  "Page-table pages freed at once because the mode was sync." },
	{ CT_OOM_FREED, "pgtable_free_oom_freed_pages_total", "counter",
	  "Page-table pages freed by the OOM notifier." },
	{ CT_OOM_EVENTS, "pgtable_free_oom_events_total", "counter",
	  "Times the OOM notifier found pending pages and freed them." },
};

static void print_prometheus(struct pgtfree *pf, const struct sample *s)
{
	size_t i;

	if (s->mode) {
		printf("# HELP pgtable_free_mode Page-table free mode: 1 for "
		       "the active mode.\n"
		       "# TYPE pgtable_free_mode gauge\n"
		       "pgtable_free_mode{mode=\"async\"} %d\n"
		       "pgtable_free_mode{mode=\"sync\"} %d\n",
		       s->mode == MODE_ASYNC, s->mode == MODE_SYNC);
	}
	for (i = 0; i < ARRAY_SIZE(prom_metrics); i++) {
		const struct prom_metric *m = &prom_metrics[i];
		uint64_t v, ps = (uint64_t)pf->pagesize;

		if (m->counter >= 0) {
			if (!s->have[m->counter])
				continue;
			v = s->val[m->counter];
		} else {
			/* pending bytes */
			if (!s->have[CT_PENDING] ||
			    (ps && s->val[CT_PENDING] > UINT64_MAX / ps))
				continue;
			v = s->val[CT_PENDING] * ps;
		}
		printf("# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n",
		       m->name, m->help, m->name, m->type, m->name, v);
	}
}

static int cmd_status(struct pgtfree *pf)
{
	struct sample s;

	if (check_feature(pf))
		return pf->status;
	read_sample(pf, &s, true);
	if (pf->format == FMT_PROM)
		print_prometheus(pf, &s);
	else
		print_status_table(pf, &s);
	return pf->status;
}

/*
 * mode
 */
static void print_mode(struct pgtfree *pf, enum pgt_mode mode)
{
	struct libscols_table *tb;
	struct libscols_line *ln;

	if (pf->format != FMT_JSON) {
		printf("%s\n", mode_word[mode]);
		return;
	}
	tb = new_table(pf, "pgtfree");
	add_column(tb, coldescs[COL_MODE].name, 0, 0, SCOLS_JSON_STRING);
	ln = scols_table_new_line(tb, NULL);
	if (!ln)
		oom();
	set_cell(pf, ln, 0, xstrdup(mode_word[mode]));
	print_table(pf, tb);
}

static int cmd_mode(struct pgtfree *pf, const char *want)
{
	enum pgt_mode mode = MODE_ABSENT;
	struct sample s;
	char *path;
	int rc;

	if (want) {
		if (strcmp(want, "async") == 0) {
			mode = MODE_ASYNC;
		} else if (strcmp(want, "sync") == 0) {
			mode = MODE_SYNC;
		} else {
			char *q = quote_value(want, strlen(want));

			rc = usage_error("invalid mode '%s': use async or sync",
					 q);
			free(q);
			return rc;
		}
	}
	if (check_feature(pf))
		return pf->status;

	if (want) {
		char *val = xasprintf("%s\n", want);

		path = attr_path(pf, "mode");
		rc = write_attr(path, val);
		free(path);
		if (rc) {
			write_error(pf, "mode", val, rc);
			free(val);
			return pf->status;
		}
		free(val);
	}

	memset(&s, 0, sizeof(s));
	read_mode(pf, &s);
	if (pf->status)
		return pf->status;
	if (!s.mode) {
		fail(pf, EX_UNAVAILABLE, "mode: not provided by this kernel");
		return pf->status;
	}
	if (want && s.mode != mode) {
		fail(pf, EXIT_FAILURE,
		     "mode: wrote '%s' but the kernel reports '%s'",
		     mode_word[mode], mode_word[s.mode]);
		return pf->status;
	}
	print_mode(pf, s.mode);
	return pf->status;
}

/*
 * drain
 */
static int cmd_drain(struct pgtfree *pf)
{
	struct sample before, after;
	struct libscols_table *tb;
	struct libscols_line *ln;
	char *path;
	int rc;

	if (check_feature(pf))
		return pf->status;

	read_sample(pf, &before, false);
	path = attr_path(pf, "drain");
	rc = write_attr(path, "1");
	free(path);
	if (rc) {
		write_error(pf, "drain", "1", rc);
		return pf->status;
	}
	read_sample(pf, &after, false);

	tb = new_table(pf, "drain");
	add_column(tb, "PENDING_BEFORE", 0, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER);
	add_column(tb, "PENDING_AFTER", 0, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER);
	add_column(tb, "FREED", 0, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER);
	ln = scols_table_new_line(tb, NULL);
	if (!ln)
		oom();
	set_cell(pf, ln, 0, counter_cell(&before, CT_PENDING));
	set_cell(pf, ln, 1, counter_cell(&after, CT_PENDING));
	/* the freed counter moved by this much: the drain and the worker */
	set_cell(pf, ln, 2, before.have[CT_FREED] && after.have[CT_FREED] &&
		 after.val[CT_FREED] >= before.val[CT_FREED] ?
		 xasprintf("%" PRIu64, after.val[CT_FREED] -
			   before.val[CT_FREED]) : NULL);
	print_table(pf, tb);
	return pf->status;
}

/*
 * watch
 */
static const int watch_ctr[] = { CT_QUEUED, CT_FREED, CT_BATCHES,
				 CT_FREED_SYNC };

/* fields of a watch line, in order */
enum {
	WF_PENDING,
	WF_QUEUED, WF_QUEUED_RATE,
	WF_FREED, WF_FREED_RATE,
	WF_BATCHES, WF_BATCHES_RATE,
	WF_SYNC, WF_SYNC_RATE,
	NR_WATCH_FIELDS
};

static const char *const watch_header[NR_WATCH_FIELDS] = {
	"pending", "queued", "queued/s", "freed", "freed/s",
	"batches", "batches/s", "freed_sync", "sync/s",
};

static const char *const watch_key[NR_WATCH_FIELDS] = {
	"pending", "queued", "queued_per_sec", "freed", "freed_per_sec",
	"batches", "batches_per_sec", "freed_sync", "freed_sync_per_sec",
};

static void on_signal(int sig)
{
	got_signal = sig;
}

static double ts_sec(const struct timespec *ts)
{
	return (double)ts->tv_sec + (double)ts->tv_nsec / 1e9;
}

/* seconds since boot from <sysroot>/proc/uptime, or -1 */
static double read_uptime(const char *sysroot)
{
	char buf[128], *path, *end;
	size_t len;
	double up;

	path = xasprintf("%s/proc/uptime", sysroot);
	if (read_attr(path, buf, sizeof(buf) - 1, &len) != 0) {
		free(path);
		return -1;
	}
	free(path);
	buf[len] = '\0';
	errno = 0;
	up = strtod(buf, &end);
	if (errno || end == buf || !isfinite(up) || up <= 0)
		return -1;
	return up;
}

static void watch_print_header(const struct pgtfree *pf)
{
	int i;

	if (pf->noheadings || pf->format == FMT_JSON)
		return;
	for (i = 0; i < NR_WATCH_FIELDS; i++) {
		if (pf->format == FMT_RAW)
			printf("%s%s", i ? " " : "", watch_header[i]);
		else
			printf("%s%10s", i ? " " : "", watch_header[i]);
	}
	putchar('\n');
}

/*
 * One line: @prev is NULL for the first one, which shows totals since
 * boot and rates over @uptime seconds (< 0: unknown).
 */
static int watch_print_line(struct pgtfree *pf, const struct sample *cur,
			    const struct sample *prev, double uptime)
{
	char *f[NR_WATCH_FIELDS] = { NULL };
	double elapsed = uptime;
	int i, rc = 0;

	if (prev)
		elapsed = ts_sec(&cur->mono) - ts_sec(&prev->mono);

	f[WF_PENDING] = counter_cell(cur, CT_PENDING);
	for (i = 0; i < (int)ARRAY_SIZE(watch_ctr); i++) {
		int c = watch_ctr[i], k = WF_QUEUED + 2 * i;
		uint64_t d;

		if (!cur->have[c])
			continue;
		if (prev) {
			/* a counter that went backwards: unknown */
			if (!prev->have[c] || cur->val[c] < prev->val[c])
				continue;
			d = cur->val[c] - prev->val[c];
		} else {
			d = cur->val[c];
		}
		f[k] = xasprintf("%" PRIu64, d);
		/* JSON is for programs: more digits than the columns */
		if (elapsed > 0)
			f[k + 1] = xasprintf(pf->format == FMT_JSON ?
					     "%.3f" : "%.1f",
					     (double)d / elapsed);
	}

	if (pf->format == FMT_JSON) {
		struct libscols_table *tb = new_table(pf, "watch");
		struct libscols_line *ln;
		char *obj;

		add_column(tb, "time", 0, 0, SCOLS_JSON_NUMBER);
		add_column(tb, "since_boot", 0, 0, SCOLS_JSON_BOOLEAN);
		add_column(tb, "interval", 0, 0, SCOLS_JSON_NUMBER);
		for (i = 0; i < NR_WATCH_FIELDS; i++)
			add_column(tb, watch_key[i], 0, 0, SCOLS_JSON_NUMBER);
		ln = scols_table_new_line(tb, NULL);
		if (!ln)
			oom();
		set_cell(pf, ln, 0, xasprintf("%.3f", ts_sec(&cur->real)));
		set_cell(pf, ln, 1, xstrdup(prev ? "0" : "1"));
		set_cell(pf, ln, 2, elapsed > 0 ?
			 xasprintf("%.3f", elapsed) : NULL);
		for (i = 0; i < NR_WATCH_FIELDS; i++) {
			set_cell(pf, ln, 3 + i, f[i]);
			f[i] = NULL;
		}
		obj = json_object(tb, "watch");
		scols_unref_table(tb);
		if (!obj) {
			fail(pf, EXIT_FAILURE, "cannot format JSON");
			return -1;
		}
		printf("%s\n", obj);
		free(obj);
	} else {
		for (i = 0; i < NR_WATCH_FIELDS; i++) {
			const char *v = f[i] ? f[i] : "-";

			if (pf->format == FMT_RAW)
				printf("%s%s", i ? " " : "", v);
			else
				printf("%s%10s", i ? " " : "", v);
		}
		putchar('\n');
	}
	for (i = 0; i < NR_WATCH_FIELDS; i++)
		free(f[i]);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		rc = -1;
		if (errno != EPIPE)
			fail(pf, EXIT_FAILURE, "write error: %s",
			     strerror(errno));
	}
	return rc;
}

static void ts_add(struct timespec *ts, double sec)
{
	double whole = floor(sec);

	ts->tv_sec += (time_t)whole;
	ts->tv_nsec += (long)((sec - whole) * 1e9);
	while (ts->tv_nsec >= 1000000000L) {
		ts->tv_nsec -= 1000000000L;
		ts->tv_sec++;
	}
}

/* <0, 0, >0 as a is before, at, after b */
static int ts_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	if (a->tv_nsec != b->tv_nsec)
		return a->tv_nsec < b->tv_nsec ? -1 : 1;
	return 0;
}

/*
 * Sleep until @deadline (CLOCK_MONOTONIC).  SIGINT and SIGTERM are blocked
 * except inside ppoll(), so a signal can neither be lost between the check
 * and the sleep nor interrupt a line being printed.  Returns 1 on signal.
 */
static int sleep_until(const struct timespec *deadline, const sigset_t *mask)
{
	struct timespec now, rem;

	for (;;) {
		if (got_signal)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ts_cmp(&now, deadline) >= 0)
			return 0;
		rem.tv_sec = deadline->tv_sec - now.tv_sec;
		rem.tv_nsec = deadline->tv_nsec - now.tv_nsec;
		if (rem.tv_nsec < 0) {
			rem.tv_nsec += 1000000000L;
			rem.tv_sec--;
		}
		ppoll(NULL, 0, &rem, mask);
	}
}

/* Install @handler for @sig unless the signal was ignored on entry. */
static bool catch_signal(int sig)
{
	struct sigaction sa, old;

	if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	return true;
}

static int cmd_watch(struct pgtfree *pf, double interval, uint64_t count,
		     const char *sysroot)
{
	struct sample a, b, *cur = &a, *prev = NULL;
	struct timespec deadline;
	sigset_t block, wait_mask;
	uint64_t n;

	if (check_feature(pf))
		return pf->status;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	if (catch_signal(SIGINT))
		sigdelset(&wait_mask, SIGINT);
	if (catch_signal(SIGTERM))
		sigdelset(&wait_mask, SIGTERM);

	watch_print_header(pf);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	for (n = 0; count == 0 || n < count; n++) {
		if (n > 0) {
			struct timespec now;

			ts_add(&deadline, interval);
			if (sleep_until(&deadline, &wait_mask))
				break;
			/* late by more than an interval (suspend): resync */
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (ts_sec(&now) - ts_sec(&deadline) > interval)
				deadline = now;
		}
		read_sample(pf, cur, false);
		if (watch_print_line(pf, cur, prev,
				     prev ? 0 : read_uptime(sysroot)) < 0)
			break;
		prev = cur;
		cur = cur == &a ? &b : &a;
	}
	return pf->status;
}

/*
 * Command line
 */
static const struct option longopts[] = {
	{ "json",         no_argument,       NULL, 'J' },
	{ "raw",          no_argument,       NULL, 'r' },
	{ "noheadings",   no_argument,       NULL, 'n' },
	{ "output",       required_argument, NULL, 'o' },
	{ "bytes",        no_argument,       NULL, 'b' },
	{ "format",       required_argument, NULL, OPT_FORMAT },
	{ "interval",     required_argument, NULL, 'i' },
	{ "count",        required_argument, NULL, 'c' },
	{ "list-columns", no_argument,       NULL, 'l' },
	{ "sysroot",      required_argument, NULL, OPT_SYSROOT },
	{ "help",         no_argument,       NULL, 'h' },
	{ "version",      no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/* '-': non-options come back in order as option 1; ':': missing arg */
static const char optstring[] = "-:Jrno:bi:c:lhV";

static void __attribute__((noreturn)) usage(void)
{
	size_t i;

	fputs("Usage:\n"
	      " pgtfree [options] [status]\n"
	      " pgtfree [options] watch [-i <seconds>] [-c <count>]\n"
	      " pgtfree [options] mode [async|sync]\n"
	      " pgtfree [options] drain\n"
	      "\n"
	      "Show and control asynchronous freeing of kernel page tables.\n"
	      "\n"
	      "Commands:\n"
	      " status    show the mode and the counters (default)\n"
	      " watch     print deltas and rates every interval\n"
	      " mode      print the mode, or set it to async or sync\n"
	      " drain     free all pending page tables now\n"
	      "\n"
	      "Options:\n"
	      " -J, --json             use JSON output format\n"
	      " -r, --raw              use raw output format\n"
	      " -n, --noheadings       don't print headings\n"
	      " -o, --output <list>    output columns (+<list> adds to "
	      "the default)\n"
	      " -b, --bytes            print sizes in bytes, not in "
	      "human-readable form\n"
	      "     --format <format>  table, raw, json or prometheus\n"
	      " -i, --interval <secs>  watch: seconds between lines "
	      "(default 1, fractions ok)\n"
	      " -c, --count <count>    watch: stop after <count> lines\n"
	      " -l, --list-columns     list the status columns and exit\n"
	      "     --sysroot <dir>    use <dir> instead of / to find "
	      "/sys\n"
	      " -h, --help             display this help\n"
	      " -V, --version          display version\n"
	      "\n"
	      "Available output columns (* = default):\n", stdout);
	for (i = 0; i < NR_COLUMNS; i++)
		printf(" %c%16s  %s\n", i < NR_DEFAULT_COLUMNS ? '*' : ' ',
		       coldescs[i].name, coldescs[i].help);
	fputs("\nExit status: 0 ok, 1 failure, 64 usage, 65 bad data, "
	      "69 no kernel support,\n77 permission denied.  "
	      "See pgtfree(8).\n", stdout);
	exit(EXIT_SUCCESS);
}

static int column_by_name(const char *name, size_t len)
{
	int i;

	for (i = 0; i < NR_COLUMNS; i++) {
		if (strlen(coldescs[i].name) == len &&
		    strncasecmp(coldescs[i].name, name, len) == 0)
			return i;
	}
	return -1;
}

/* Parse -o; returns 0 or EX_USAGE (reported). */
static int parse_columns(struct pgtfree *pf, const char *arg)
{
	const char *p = arg, *end;
	size_t i;

	pf->ncols = 0;
	if (*p == '+') {
		for (i = 0; i < NR_DEFAULT_COLUMNS; i++)
			pf->cols[pf->ncols++] = (int)i;
		p++;
	}
	if (!*p)
		return usage_error("no columns given to --output");
	for (;;) {
		int col;

		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		col = column_by_name(p, end - p);
		if (col < 0) {
			char *q = quote_value(p, end - p);
			int rc = usage_error("unknown column: '%s'", q);

			free(q);
			return rc;
		}
		if (pf->ncols >= MAX_COLS)
			return usage_error("too many columns");
		pf->cols[pf->ncols++] = col;
		if (!*end)
			break;
		p = end + 1;
	}
	return 0;
}

static int list_columns(struct pgtfree *pf)
{
	struct libscols_table *tb = new_table(pf, "columns");
	struct libscols_line *ln;
	size_t i;

	add_column(tb, "NAME", 0, 0, SCOLS_JSON_STRING);
	add_column(tb, "DEFAULT", 0, 0, SCOLS_JSON_BOOLEAN);
	add_column(tb, "DESCRIPTION", 0, 0, SCOLS_JSON_STRING);
	for (i = 0; i < NR_COLUMNS; i++) {
		ln = scols_table_new_line(tb, NULL);
		if (!ln)
			oom();
		set_cell(pf, ln, 0, xstrdup(coldescs[i].name));
		set_cell(pf, ln, 1, xstrdup(i < NR_DEFAULT_COLUMNS ?
					    "yes" : "no"));
		set_cell(pf, ln, 2, xstrdup(coldescs[i].help));
	}
	return print_table(pf, tb);
}

/* a decimal count, 1 or more */
static bool parse_count(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return v > 0;
}

static bool parse_interval(const char *s, double *out)
{
	char *end;
	double v;

	/* strtod would take "inf", "0x1p3" and leading blanks */
	if (!*s || strspn(s, "0123456789.") != strlen(s))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < INTERVAL_MIN ||
	    v > INTERVAL_MAX)
		return false;
	*out = v;
	return true;
}

/* "--name" as given, or "-c" for a short option (maybe in a cluster) */
static const char *option_name(const char *arg, int c)
{
	static char buf[3];

	if (strncmp(arg, "--", 2) == 0)
		return arg;
	snprintf(buf, sizeof(buf), "-%c", isprint(c) ? c : '?');
	return buf;
}

/*
 * Flush stdout: 0, or EXIT_FAILURE after reporting the error.  A closed
 * pipe is not reported (as util-linux's close_stdout()).
 */
static int close_stdout(struct pgtfree *pf)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	if (errno != EPIPE)
		fail(pf, EXIT_FAILURE, "write error: %s",
		     errno ? strerror(errno) : "unknown error");
	return EXIT_FAILURE;
}

/*
 * Record output format @f, given by option @bit (--json, --raw or
 * --format), in *@fmt and *@used: 0, or EX_USAGE after reporting that
 * a different format was already given.
 */
static int set_format(int *fmt, unsigned int *used, int f, unsigned int bit)
{
	if (*fmt >= 0 && *fmt != f)
		return usage_error("--json, --raw and --format "
				   "are mutually exclusive");
	*fmt = f;
	*used |= bit;
	return 0;
}

int main(int argc, char **argv)
{
	struct pgtfree pf = { .format = FMT_TABLE };
	const char *sysroot = "", *outarg = NULL, *intarg = NULL;
	char *root = NULL;
	const char *cntarg = NULL, *want_mode = NULL;
	unsigned int used = 0, bad;
	char **args;
	int c, nargs = 0, cmd = CMD_STATUS, rc, fmt = -1;
	bool listcols = false;
	double interval = 1.0;
	uint64_t count = 0;
	size_t i, len;

	/* pre-scan: with -J even a usage error is reported as JSON */
	opterr = 0;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		if (c == 'J' ||
		    (c == OPT_FORMAT && strcmp(optarg, "json") == 0))
			json_errors = true;
		else if (c == 'r' || c == OPT_FORMAT)
			json_errors = false;
	}
	optind = 0;

	args = calloc(argc + 1, sizeof(char *));
	if (!args)
		oom();

	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 1:
			args[nargs++] = optarg;
			break;
		case 'J':
			rc = set_format(&fmt, &used, FMT_JSON, O_JSON);
			if (rc)
				goto out;
			break;
		case 'r':
			rc = set_format(&fmt, &used, FMT_RAW, O_RAW);
			if (rc)
				goto out;
			break;
		case OPT_FORMAT:
			for (i = 0; i < ARRAY_SIZE(format_name); i++)
				if (strcmp(optarg, format_name[i]) == 0)
					break;
			if (i == ARRAY_SIZE(format_name)) {
				char *q = quote_value(optarg, strlen(optarg));

				rc = usage_error("unknown format '%s': use "
						 "table, raw, json or "
						 "prometheus", q);
				free(q);
				goto out;
			}
			rc = set_format(&fmt, &used, (int)i, O_FORMAT);
			if (rc)
				goto out;
			break;
		case 'n':
			pf.noheadings = true;
			used |= O_NOHEAD;
			break;
		case 'o':
			outarg = optarg;
			used |= O_OUTPUT;
			break;
		case 'b':
			pf.bytes = true;
			used |= O_BYTES;
			break;
		case 'i':
			intarg = optarg;
			used |= O_INTERVAL;
			break;
		case 'c':
			cntarg = optarg;
			used |= O_COUNT;
			break;
		case 'l':
			listcols = true;
			break;
		case OPT_SYSROOT:
			sysroot = optarg;
			break;
		case 'h':
			free(args);
			usage();
		case 'V':
			printf("pgtfree %s\n", PGTFREE_VERSION);
			free(args);
			return close_stdout(&pf);	/* 0 or 1 */
		case ':':
			rc = usage_error("option '%s' requires an argument",
					 option_name(argv[optind - 1], optopt));
			goto out;
		default:
			if (optopt)
				rc = usage_error("invalid option -- '%c'",
						 isprint(optopt) ? optopt :
						 '?');
			else
				rc = usage_error("unrecognized option '%s'",
						 argv[optind - 1]);
			goto out;
		}
	}
	while (optind < argc)
		args[nargs++] = argv[optind++];
	if (fmt >= 0)
		pf.format = fmt;

	if (listcols) {
		rc = list_columns(&pf);
		goto done;
	}

	if (nargs > 0) {
		for (cmd = 0; cmd < (int)ARRAY_SIZE(command_name); cmd++)
			if (strcmp(args[0], command_name[cmd]) == 0)
				break;
		if (cmd == (int)ARRAY_SIZE(command_name)) {
			char *q = quote_value(args[0], strlen(args[0]));

			rc = usage_error("unknown command '%s'", q);
			free(q);
			goto out;
		}
	}
	if (nargs > (cmd == CMD_MODE ? 2 : 1)) {
		char *q = quote_value(args[nargs - 1],
				      strlen(args[nargs - 1]));

		rc = usage_error("unexpected argument '%s'", q);
		free(q);
		goto out;
	}
	if (cmd == CMD_MODE && nargs == 2)
		want_mode = args[1];

	bad = used & ~command_opts[cmd];
	if (bad) {
		static const char *const bitname[] = {
			"--json", "--raw", "--noheadings", "--output",
			"--bytes", "--format", "--interval", "--count",
		};

		for (i = 0; !(bad & (1U << i)); i++)
			;
		rc = usage_error("option %s cannot be used with '%s'",
				 bitname[i], command_name[cmd]);
		goto out;
	}
	if (pf.format == FMT_PROM) {
		if (cmd != CMD_STATUS) {
			rc = usage_error("--format prometheus is only for "
					 "'status'");
			goto out;
		}
		if (used & (O_OUTPUT | O_NOHEAD | O_BYTES)) {
			rc = usage_error("--output, --noheadings and --bytes "
					 "cannot be used with --format "
					 "prometheus");
			goto out;
		}
	}

	if (intarg && !parse_interval(intarg, &interval)) {
		char *q = quote_value(intarg, strlen(intarg));

		rc = usage_error("invalid interval '%s': use seconds from "
				 "0.01 to 86400", q);
		free(q);
		goto out;
	}
	if (cntarg && !parse_count(cntarg, &count)) {
		char *q = quote_value(cntarg, strlen(cntarg));

		rc = usage_error("invalid count '%s': use a whole number, "
				 "1 or more", q);
		free(q);
		goto out;
	}

	if (outarg) {
		rc = parse_columns(&pf, outarg);
		if (rc)
			goto out;
	} else {
		for (i = 0; i < NR_DEFAULT_COLUMNS; i++)
			pf.cols[pf.ncols++] = (int)i;
	}

	/* "/" and "" mean the real root; drop trailing slashes */
	len = strlen(sysroot);
	while (len > 0 && sysroot[len - 1] == '/')
		len--;
	root = xasprintf("%.*s", (int)len, sysroot);
	pf.dir = xasprintf("%s%s", root, PGTFREE_SYSFS);

	pf.pagesize = sysconf(_SC_PAGESIZE);
	if (pf.pagesize <= 0)
		pf.pagesize = 4096;

	switch (cmd) {
	case CMD_STATUS:
		rc = cmd_status(&pf);
		break;
	case CMD_WATCH:
		rc = cmd_watch(&pf, interval, count, root);
		break;
	case CMD_MODE:
		rc = cmd_mode(&pf, want_mode);
		break;
	case CMD_DRAIN:
	default:
		rc = cmd_drain(&pf);
		break;
	}
done:
	/* the first error decides; a failed flush of stdout is one too */
	if (close_stdout(&pf) && !rc)
		rc = EXIT_FAILURE;
out:
	free(root);
	free(pf.dir);
	free(args);
	return rc;
}
