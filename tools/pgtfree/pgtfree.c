// SPDX-License-Identifier: GPL-2.0-only
/*
 * pgtfree(8) - show and control asynchronous freeing of kernel page tables
 *
 * Talks to /sys/kernel/mm/pgtable_free/ (CONFIG_ASYNC_KERNEL_PGTABLE_FREE):
 *
 *   mode     words, the active one in brackets: "[async] sync\n"; write
 *            one of the words
 *   drain    write "1": free everything pending before write(2) returns
 *   stats/   one decimal u64 followed by "\n" per file
 *
 * counters[] below is the one list of the counters: the status columns,
 * the watch fields, the JSON keys and the Prometheus metrics all come
 * from it, and "pgtfree -l" prints it for the bash completion and the
 * tests that compare it with the man page.
 *
 * "top" reads the pgtable_free trace events instead, from a private
 * ftrace instance in tracefs or from a recorded trace (see "top" below).
 *
 * Tables, raw and JSON output go through libsmartcols; the only text this
 * file formats by hand is the Prometheus exposition format and the lines
 * of "watch", which are printed one at a time as they are read.
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
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <libsmartcols.h>

#define PGTFREE_VERSION	"0.1"
#define PGTFREE_SYSFS	"/sys/kernel/mm/pgtable_free"
#define PGTFREE_KCONFIG	"CONFIG_ASYNC_KERNEL_PGTABLE_FREE"
/* a fake tree that pgtfree may write plain files in has this at its top */
#define TEST_TREE_MARK	".pgtfree-test-tree"
#define SYSFS_MAGIC	0x62656572	/* <linux/magic.h> */
#define TRACEFS_MAGIC	0x74726163

#define ATTR_MAX	4096	/* largest value accepted (sysfs: a page) */
#define QUOTE_MAX	40	/* bytes of a bad value quoted */
#define MAX_COLS	64	/* -o entries */
#define INTERVAL_MIN	0.01
#define INTERVAL_MAX	86400.0
#define WATCH_WIDTH	10	/* narrowest column of watch */

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* file access results besides -errno */
#define E_NOTREG	(-10001)	/* exists but is not a regular file */
#define E_TOOLONG	(-10002)	/* more than ATTR_MAX bytes */
#define E_SYMLINK	(-10003)	/* a symbolic link in the path */
#define E_NOTSYSFS	(-10004)	/* not on sysfs (tracefs), no test tree */
#define E_HARDLINK	(-10005)	/* a plain file with other hard links */
#define E_CHANGED	(-10006)	/* replaced while it was opened */

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
 * The counters, one file each in stats/.  Their name is the file, the
 * JSON key and the watch field; the status column is the name in upper
 * case; the Prometheus metric is pgtable_free_<name>, then _pages for a
 * count of pages, then _total for a counter (not a gauge).
 *
 * They are read one file at a time while the kernel keeps updating them,
 * in the order of .read: a counter the kernel bumps after another is read
 * before it (batches before freed, oom_events before oom_freed before
 * freed, freed before queued, pending before pending_max, invalidations
 * before invalidated_mms) so that the usual skew errs on the side of the
 * invariants freed >= batches, freed >= oom_freed >= oom_events,
 * queued >= freed + pending, pending_max >= pending and
 * invalidated_mms >= invalidations.  Derived figures are guarded anyway.
 */
enum {
	CT_QUEUED,
	CT_FREED,
	CT_PENDING,
	CT_PENDING_MAX,
	CT_BATCHES,
	CT_FREED_SYNC,
	CT_OOM_FREED,
	CT_OOM_EVENTS,
	CT_INVALIDATIONS,
	CT_INVALIDATED_MMS,
	NR_COUNTERS
};

enum watch_kind {
	W_NONE,		/* not in watch */
	W_VALUE,	/* the value on every line */
	W_RATE,		/* the change over the interval and its rate */
};

struct counter {
	const char	*name;
	const char	*help;
	bool		pages;		/* counts pages */
	bool		gauge;		/* goes down too */
	bool		dflt;		/* a default column of status */
	enum watch_kind	watch;
	unsigned char	read;		/* read order, 0 first */
};

static const struct counter counters[NR_COUNTERS] = {
	[CT_QUEUED] = { "queued",
		"pages ever put on the deferred list",
		true, false, true, W_RATE, 9 },
	[CT_FREED] = { "freed",
		"pages freed from the list (worker, drain, OOM)",
		true, false, true, W_RATE, 6 },
	[CT_PENDING] = { "pending",
		"pages on the deferred list now",
		true, true, true, W_VALUE, 7 },
	[CT_PENDING_MAX] = { "pending_max",
		"high-water mark of pending",
		true, true, true, W_NONE, 8 },
	[CT_BATCHES] = { "batches",
		"list drains that freed pages (one flush each)",
		false, false, true, W_RATE, 5 },
	[CT_FREED_SYNC] = { "freed_sync",
		"pages freed at once because the mode was sync",
		true, false, true, W_RATE, 2 },
	[CT_OOM_FREED] = { "oom_freed",
		"pages freed by the OOM notifier",
		true, false, false, W_NONE, 4 },
	[CT_OOM_EVENTS] = { "oom_events",
		"times the OOM notifier freed pending pages",
		false, false, false, W_NONE, 3 },
	[CT_INVALIDATIONS] = { "invalidations",
		"batches that issued an IOMMU invalidation for SVA mms",
		false, false, false, W_NONE, 0 },
	[CT_INVALIDATED_MMS] = { "invalidated_mms",
		"SVA-bound mms covered by those invalidations, summed",
		false, false, false, W_NONE, 1 },
};

/* bits in pgtfree.reported and in a "needs" mask: counters use 1 << index */
#define NEED_MODE	(1U << NR_COUNTERS)
#define REPORTED_STATS	(1U << (NR_COUNTERS + 1))
#define NEED_COUNTERS	((1U << NR_COUNTERS) - 1)
#define BIT(ct)		(1U << (ct))

/* the mode file: its words, the active one */
#define MODE_WORDS	8
#define MODE_WORD_LEN	16	/* with the NUL */

struct mode {
	char	word[MODE_WORDS][MODE_WORD_LEN];
	int	nwords;
	int	active;		/* index in word[], -1: absent */
};

/* one reading of the files; the clocks are taken after the reads */
struct sample {
	uint64_t	val[NR_COUNTERS];
	bool		have[NR_COUNTERS];
	struct mode	mode;
	struct timespec	mono;
	struct timespec	real;
};

/*
 * Columns of "status": MODE, one per counter, then the derived figures.
 */
enum {
	D_PENDING_SIZE,
	D_PENDING_MAX_SIZE,
	D_FREED_SIZE,
	D_AVG_BATCH,
	D_FLUSHES,
	D_SYNC_PCT,
	NR_DERIVED
};

struct derived {
	const char	*name;
	const char	*help;
	unsigned int	needs;		/* counters it is computed from */
	int		after;		/* its column follows this counter's */
	bool		dflt;
	bool		prom;		/* also a Prometheus gauge */
};

static const struct derived derived[NR_DERIVED] = {
	[D_PENDING_SIZE] = { "PENDING_SIZE",
		"size of the pending pages",
		BIT(CT_PENDING), CT_PENDING, false, true },
	[D_PENDING_MAX_SIZE] = { "PENDING_MAX_SIZE",
		"size of PENDING_MAX pages",
		BIT(CT_PENDING_MAX), CT_PENDING_MAX, false, false },
	[D_FREED_SIZE] = { "FREED_SIZE",
		"size of FREED pages",
		BIT(CT_FREED), CT_FREED, false, false },
	[D_AVG_BATCH] = { "AVG_BATCH",
		"average pages per list drain",
		BIT(CT_FREED) | BIT(CT_BATCHES), CT_BATCHES, true, false },
	[D_FLUSHES] = { "FLUSHES",
		"expensive flush operations: list drains plus sync frees",
		BIT(CT_BATCHES) | BIT(CT_FREED_SYNC), CT_FREED_SYNC, false, false },
	[D_SYNC_PCT] = { "SYNC_PCT",
		"percentage of pages freed synchronously",
		BIT(CT_FREED) | BIT(CT_FREED_SYNC), CT_FREED_SYNC, false, false },
};

/* MODE, then each counter followed by the figures derived after it */
#define COL_MODE	0
#define NR_COLUMNS	(1 + NR_COUNTERS + NR_DERIVED)
#define NAME_LEN	32

struct column {
	char		name[NAME_LEN];	/* upper case */
	char		key[NAME_LEN];	/* JSON: lower case */
	const char	*help;
	char		file[NAME_LEN];	/* what it reads, "" if derived */
	unsigned int	needs;
	bool		dflt;
	int		flags;
	int		json_type;
	int		ct;		/* counter shown, or -1 */
	int		d;		/* derived figure shown, or -1 */
};

static struct column columns[NR_COLUMNS];
static int counter_col[NR_COUNTERS], derived_col[NR_DERIVED];

/* commands and the options each accepts */
enum {
	CMD_STATUS,
	CMD_WATCH,
	CMD_MODE,
	CMD_DRAIN,
	CMD_TOP,
};

static const char *const command_name[] = {
	[CMD_STATUS] = "status",
	[CMD_WATCH] = "watch",
	[CMD_MODE] = "mode",
	[CMD_DRAIN] = "drain",
	[CMD_TOP] = "top",
};

enum {
	OPT_FORMAT = CHAR_MAX + 1,
	OPT_SYSROOT,
	OPT_OUTPUT_ALL,
	OPT_INPUT,
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
#define O_TIMESTAMP	(1U << 8)
#define O_OUTPUT_ALL	(1U << 9)
#define O_DURATION	(1U << 10)
#define O_INPUT		(1U << 11)

static const char *const option_bitname[] = {
	"--json", "--raw", "--noheadings", "--output", "--bytes", "--format",
	"--interval", "--count", "--timestamp", "--output-all", "--duration",
	"--input",
};

static const unsigned int command_opts[] = {
	[CMD_STATUS] = O_JSON | O_RAW | O_NOHEAD | O_OUTPUT | O_BYTES |
		       O_FORMAT | O_OUTPUT_ALL,
	[CMD_WATCH] = O_JSON | O_RAW | O_NOHEAD | O_FORMAT | O_INTERVAL |
		      O_COUNT | O_TIMESTAMP,
	[CMD_MODE] = O_JSON | O_RAW | O_FORMAT,
	[CMD_DRAIN] = O_JSON | O_RAW | O_NOHEAD | O_FORMAT,
	[CMD_TOP] = O_JSON | O_RAW | O_NOHEAD | O_FORMAT | O_DURATION |
		    O_INPUT,
};

struct pgtfree {
	char		*root;		/* --sysroot, no trailing "/"; "" */
	char		*dir;		/* <root>/sys/kernel/mm/pgtable_free */
	int		rootfd;		/* <root>, O_PATH */
	int		dirfd;		/* dir, O_PATH, after check_feature() */
	bool		test_tree;	/* <root>/TEST_TREE_MARK exists */
	int		format;
	bool		noheadings;
	bool		bytes;
	bool		timestamp;
	long		pagesize;
	int		status;		/* exit status: the first error */
	unsigned int	reported;	/* files with an error reported */
	int		cols[MAX_COLS];
	size_t		ncols;
};

/* set before anything can fail: errors go to stderr as JSON too */
static bool json_errors;
/* a probe whose failure is reported otherwise */
static bool quiet_errors;

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
	if (quiet_errors)
		return;
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
	"[status | watch | mode [async|sync] | drain | top]\n";

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
 * File access.  Every path below the root is walked one component at a
 * time without following a symbolic link (O_NOFOLLOW): whatever a tree
 * from a guest or a container holds, pgtfree neither reads nor writes
 * outside of it.
 */

/*
 * Open @rel (components separated by "/") below the directory @dirfd with
 * @flags.  Returns a file descriptor, or -errno or E_SYMLINK.
 */
static int open_below(int dirfd, const char *rel, int flags)
{
	char comp[NAME_MAX + 1];
	const char *p = rel, *end;
	int fd = dirfd, nfd, err;
	bool last;
	size_t len;

	for (;;) {
		end = strchr(p, '/');
		last = !end;
		if (last)
			end = p + strlen(p);
		len = end - p;
		if (len == 0 || len > NAME_MAX) {
			err = -EINVAL;
			break;
		}
		memcpy(comp, p, len);
		comp[len] = '\0';
		nfd = openat(fd, comp, (last ? flags :
				       O_PATH | O_DIRECTORY) |
			     O_NOFOLLOW | O_CLOEXEC);
		err = nfd < 0 ? -errno : 0;
		if (err == -ELOOP || err == -ENOTDIR) {
			struct stat st;

			if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				err = E_SYMLINK;
		}
		if (fd != dirfd)
			close(fd);
		if (err || last)
			break;
		fd = nfd;
		p = end + 1;
	}
	return err ? err : nfd;
}

/*
 * Read the whole file @rel below @dirfd, less than @size bytes, into
 * @buf.  Returns 0, or -errno, E_NOTREG, E_SYMLINK or E_TOOLONG.  Never
 * blocks on a FIFO or a device.
 */
static int read_attr(int dirfd, const char *rel, char *buf, size_t size,
		     size_t *len)
{
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd, rc = 0;

	*len = 0;
	fd = open_below(dirfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fd;
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
 * Write @val to the file @rel below @dirfd with one write(2), so that the
 * errno the kernel returns is the one reported.  Only regular files are
 * written.  A file not on the kernel's file system (@magic: sysfs, or
 * tracefs for "top") is a fake tree's: it is written (and truncated
 * first) only in a tree made for tests (TEST_TREE_MARK at the top of
 * --sysroot) and only when no other hard link to it exists.  Returns 0,
 * -errno or an E_ code.
 */
static int write_file(const struct pgtfree *pf, int dirfd, const char *rel,
		      const char *val, long magic)
{
	size_t len = strlen(val);
	struct stat st, fst;
	struct statfs sfs;
	bool sysfs;
	ssize_t n;
	int fd, rc = 0;

	fd = open_below(dirfd, rel, O_PATH);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	close(fd);
	if (S_ISLNK(st.st_mode))
		return E_SYMLINK;	/* O_PATH | O_NOFOLLOW opens the link */
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return E_NOTREG;
	sysfs = (long)sfs.f_type == magic;
	if (!sysfs && !pf->test_tree)
		return E_NOTSYSFS;
	if (!sysfs && st.st_nlink > 1)
		return E_HARDLINK;

	fd = open_below(dirfd, rel, O_WRONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fd;
	if (fstat(fd, &fst) < 0) {
		rc = -errno;
		goto out;
	}
	if (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
		rc = E_CHANGED;
		goto out;
	}
	/* a plain file of a test tree holds the last value written */
	if (!sysfs && fst.st_size > 0 && ftruncate(fd, 0) < 0) {
		rc = -errno;
		goto out;
	}
	do
		n = write(fd, val, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		rc = -errno;
	else if ((size_t)n != len)
		rc = -EIO;
out:
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* write_file() to the feature's directory in sysfs */
static int write_attr(const struct pgtfree *pf, const char *rel,
		      const char *val)
{
	return write_file(pf, pf->dirfd, rel, val, SYSFS_MAGIC);
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
	case E_SYMLINK:
		fail(pf, EX_NOPERM,
		     "%s: refusing to write through a symbolic link in %s",
		     rel, pf->dir);
		break;
	case E_NOTSYSFS:
		if (*pf->root)
			fail(pf, EX_NOPERM,
			     "%s: refusing to write: %s/%s is not on sysfs; "
			     "to write to a tree made for tests, create "
			     "%s/%s", rel, pf->dir, rel, pf->root,
			     TEST_TREE_MARK);
		else
			fail(pf, EX_NOPERM,
			     "%s: refusing to write: %s/%s is not on sysfs "
			     "(is sysfs mounted on /sys?)", rel, pf->dir, rel);
		break;
	case E_HARDLINK:
		fail(pf, EX_NOPERM,
		     "%s: refusing to write: the file has other hard links",
		     rel);
		break;
	case E_CHANGED:
		fail(pf, EXIT_FAILURE, "%s: replaced while being opened", rel);
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

/* a word of the mode file: [a-z][a-z0-9_]*, less than MODE_WORD_LEN */
static bool mode_word_ok(const char *w, size_t len)
{
	size_t i;

	if (len == 0 || len >= MODE_WORD_LEN || !islower((unsigned char)w[0]))
		return false;
	for (i = 0; i < len; i++)
		if (!islower((unsigned char)w[i]) &&
		    !isdigit((unsigned char)w[i]) && w[i] != '_')
			return false;
	return true;
}

static int mode_find(const struct mode *m, const char *w)
{
	int i;

	for (i = 0; i < m->nwords; i++)
		if (strcmp(m->word[i], w) == 0)
			return i;
	return -1;
}

static bool mode_add(struct mode *m, const char *w, size_t len)
{
	if (m->nwords >= MODE_WORDS)
		return false;
	memcpy(m->word[m->nwords], w, len);
	m->word[m->nwords][len] = '\0';
	if (mode_find(m, m->word[m->nwords]) >= 0)
		return false;	/* a word twice */
	m->nwords++;
	return true;
}

/*
 * Parse the mode file: words separated by spaces, the active one in
 * brackets ("[async] sync\n"), as THP's "enabled".  The list must hold
 * async and sync; other words (a newer kernel's modes) are kept.  A lone
 * word ("sync\n") is accepted too: it is what a plain file holds after
 * "pgtfree mode sync" in a test tree.
 */
static const char *parse_mode(const char *buf, size_t len, struct mode *m)
{
	const char *p, *end, *w;
	int ntok = 0, nsel = 0;
	size_t wlen;

	memset(m, 0, sizeof(*m));
	m->active = -1;
	if (len == 0)
		return "empty file";
	if (memchr(buf, '\0', len))
		return "unrecognised mode";
	if (buf[len - 1] != '\n')
		return "truncated value (no newline)";
	end = buf + len - 1;
	for (p = buf; p < end; p = w + wlen) {
		bool sel = false;

		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		w = p;
		while (p < end && *p != ' ')
			p++;
		wlen = p - w;
		if (wlen >= 2 && w[0] == '[' && w[wlen - 1] == ']') {
			sel = true;
			w++;
			wlen -= 2;
		}
		if (!mode_word_ok(w, wlen) || !mode_add(m, w, wlen))
			return "unrecognised mode";
		ntok++;
		if (sel) {
			nsel++;
			m->active = m->nwords - 1;
		}
		if (sel)
			wlen++;	/* the closing bracket */
	}
	if (ntok == 1 && nsel == 0) {
		m->active = 0;
		/* a test tree's lone word: the two modes still exist */
		if (mode_find(m, "async") < 0)
			mode_add(m, "async", 5);
		if (mode_find(m, "sync") < 0)
			mode_add(m, "sync", 4);
		return NULL;
	}
	if (nsel != 1 || mode_find(m, "async") < 0 ||
	    mode_find(m, "sync") < 0) {
		m->active = -1;
		return "unrecognised mode";
	}
	return NULL;
}

static const char *mode_active(const struct mode *m)
{
	return m->active >= 0 ? m->word[m->active] : NULL;
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
 * Read the file @name below @dirfd (@rel in messages) into @buf.  Returns 1 when there is a
 * value to parse, 0 when the file is absent or unusable (reported).
 */
static int load_attr(struct pgtfree *pf, int dirfd, const char *name,
		     const char *rel, unsigned int bit, char *buf, size_t *len)
{
	int rc = read_attr(dirfd, name, buf, ATTR_MAX + 1, len);

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
	case E_SYMLINK:
		file_error(pf, bit, EX_DATAERR,
			   "%s: a symbolic link, not followed", rel);
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

static void read_counter(struct pgtfree *pf, int statsfd, struct sample *s,
			 int i)
{
	char buf[ATTR_MAX + 1];
	const char *rel = columns[counter_col[i]].file, *why;
	unsigned int bit = BIT(i);
	size_t len;

	s->have[i] = false;
	if (!load_attr(pf, statsfd, counters[i].name, rel, bit, buf, &len))
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

/* Read the mode into s->mode (active -1 if missing or bad). */
static void read_mode(struct pgtfree *pf, struct sample *s)
{
	char buf[ATTR_MAX + 1];
	const char *why;
	size_t len;

	memset(&s->mode, 0, sizeof(s->mode));
	s->mode.active = -1;
	if (!load_attr(pf, pf->dirfd, "mode", "mode", NEED_MODE, buf, &len))
		return;
	why = parse_mode(buf, len, &s->mode);
	if (why) {
		char *q = quote_value(buf, len);

		if (len)
			file_error(pf, NEED_MODE, EX_DATAERR,
				   "mode: %s: '%s'", why, q);
		else
			file_error(pf, NEED_MODE, EX_DATAERR,
				   "mode: %s", why);
		free(q);
		return;
	}
	pf->reported &= ~NEED_MODE;
}

/*
 * Read what @need names (NEED_MODE, counter bits) and nothing else: a
 * file a command does not use cannot decide its exit status.
 */
static void read_sample(struct pgtfree *pf, struct sample *s,
			unsigned int need)
{
	int i, r, fd = -1;

	memset(s, 0, sizeof(*s));
	s->mode.active = -1;
	if (need & NEED_MODE)
		read_mode(pf, s);
	if (need & NEED_COUNTERS) {
		fd = open_below(pf->dirfd, "stats", O_PATH | O_DIRECTORY);
		if (fd >= 0)
			pf->reported &= ~REPORTED_STATS;
		else if (fd == -ENOENT)
			file_error(pf, REPORTED_STATS, EX_DATAERR,
				   "stats: not found in %s: no counters "
				   "(an incomplete tree?)", pf->dir);
		else if (fd == -ENOTDIR)
			file_error(pf, REPORTED_STATS, EX_DATAERR,
				   "stats: not a directory");
		else if (fd == E_SYMLINK)
			file_error(pf, REPORTED_STATS, EX_DATAERR,
				   "stats: a symbolic link, not followed");
		else
			file_error(pf, REPORTED_STATS, EXIT_FAILURE,
				   "stats: cannot open: %s", strerror(-fd));
	}
	for (r = 0; fd >= 0 && r < NR_COUNTERS; r++)
		for (i = 0; i < NR_COUNTERS; i++)
			if (counters[i].read == r && (need & BIT(i)))
				read_counter(pf, fd, s, i);
	if (fd >= 0)
		close(fd);
	clock_gettime(CLOCK_MONOTONIC, &s->mono);
	clock_gettime(CLOCK_REALTIME, &s->real);
}

/* pf->test_tree: --sysroot is a tree made for tests */
static void probe_test_tree(struct pgtfree *pf)
{
	struct stat st;

	pf->test_tree = *pf->root &&
			fstatat(pf->rootfd, TEST_TREE_MARK, &st,
				AT_SYMLINK_NOFOLLOW) == 0 &&
			S_ISREG(st.st_mode);
}

/*
 * 0 when <root>/sys/kernel/mm/pgtable_free is a directory (then open in
 * pf->dirfd); else reported: 66 for a root that is not one (a mistyped
 * --sysroot, no sysfs), 69 for a kernel without the feature.
 */
static int check_feature(struct pgtfree *pf)
{
	const char *root = *pf->root ? pf->root : "/";
	const char *rel = "sys/kernel/mm";
	int fd;

	pf->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pf->rootfd < 0) {
		fail(pf, EX_NOINPUT, "--sysroot %s: %s", root,
		     strerror(errno));
		return pf->status;
	}
	probe_test_tree(pf);
	fd = open_below(pf->rootfd, rel, O_PATH | O_DIRECTORY);
	if (fd == -ENOENT || fd == -ENOTDIR) {
		if (*pf->root)
			fail(pf, EX_NOINPUT,
			     "%s/%s not found: --sysroot %s is not the root "
			     "of a system with sysfs", pf->root, rel,
			     pf->root);
		else
			fail(pf, EX_NOINPUT,
			     "/%s not found: is sysfs mounted on /sys?", rel);
		return pf->status;
	}
	if (fd >= 0) {
		pf->dirfd = open_below(fd, "pgtable_free",
				       O_PATH | O_DIRECTORY);
		close(fd);
		fd = pf->dirfd;
	}
	if (fd >= 0)
		return 0;
	pf->dirfd = -1;
	if (fd == -ENOENT || fd == -ENOTDIR)
		fail(pf, EX_UNAVAILABLE,
		     "%s not found: this kernel was built without %s "
		     "(asynchronous kernel page-table freeing)",
		     pf->dir, PGTFREE_KCONFIG);
	else if (fd == E_SYMLINK)
		fail(pf, EX_DATAERR,
		     "%s: a symbolic link in the path, not followed",
		     pf->dir);
	else
		fail(pf, EXIT_FAILURE, "%s: %s", pf->dir, strerror(-fd));
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

/*
 * A derived figure as text: @decimals for people, for JSON the shortest
 * form that reads back as the same double (full precision).
 */
static char *double_cell_prec(const struct pgtfree *pf, double v,
			      int decimals)
{
	char *s;
	int prec;

	if (pf->format != FMT_JSON)
		return xasprintf("%.*f", decimals, v);
	for (prec = 15; prec < 17; prec++) {
		s = xasprintf("%.*g", prec, v);
		if (strtod(s, NULL) == v)
			return s;
		free(s);
	}
	return xasprintf("%.17g", v);
}

/* one decimal for people */
static char *double_cell(const struct pgtfree *pf, double v)
{
	return double_cell_prec(pf, v, 1);
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

/* pages times the page size: false when it would overflow */
static bool pages_bytes(const struct pgtfree *pf, const struct sample *s,
			int ct, uint64_t *out)
{
	uint64_t ps = (uint64_t)pf->pagesize;

	if (!s->have[ct] || (ps && s->val[ct] > UINT64_MAX / ps))
		return false;
	*out = s->val[ct] * ps;
	return true;
}

/* the counter that a size column multiplies */
static int size_counter(int d)
{
	switch (d) {
	case D_PENDING_SIZE:
		return CT_PENDING;
	case D_PENDING_MAX_SIZE:
		return CT_PENDING_MAX;
	default:
		return CT_FREED;
	}
}

static char *counter_cell(const struct sample *s, int i)
{
	if (!s->have[i])
		return NULL;
	return xasprintf("%" PRIu64, s->val[i]);
}

/* Cell text for column @col, or NULL when the value is absent. */
static char *status_cell(const struct pgtfree *pf, const struct sample *s,
			 int col)
{
	uint64_t u;
	double d;

	if (col == COL_MODE)
		return mode_active(&s->mode) ?
			xstrdup(mode_active(&s->mode)) : NULL;
	if (columns[col].ct >= 0)
		return counter_cell(s, columns[col].ct);
	switch (columns[col].d) {
	case D_PENDING_SIZE:
	case D_PENDING_MAX_SIZE:
	case D_FREED_SIZE:
		if (!pages_bytes(pf, s, size_counter(columns[col].d), &u))
			return NULL;
		if (pf->bytes || pf->format == FMT_JSON)
			return xasprintf("%" PRIu64, u);
		return human_size(u);
	case D_FLUSHES:
		return flushes(s, &u) ? xasprintf("%" PRIu64, u) : NULL;
	case D_AVG_BATCH:
		return avg_batch(s, &d) ? double_cell(pf, d) : NULL;
	case D_SYNC_PCT:
		return sync_pct(s, &d) ? double_cell(pf, d) : NULL;
	}
	return NULL;
}

static void str_lower(char *dst, const char *src, size_t size)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < size; i++)
		dst[i] = tolower((unsigned char)src[i]);
	dst[i] = '\0';
}

static void str_upper(char *dst, const char *src, size_t size)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < size; i++)
		dst[i] = toupper((unsigned char)src[i]);
	dst[i] = '\0';
}

/* columns[] from counters[] and derived[] */
static void init_columns(void)
{
	struct column *c = &columns[COL_MODE];
	int i, j, n = 1;

	c->ct = -1;
	c->d = -1;
	snprintf(c->name, NAME_LEN, "MODE");
	snprintf(c->key, NAME_LEN, "mode");
	snprintf(c->file, NAME_LEN, "mode");
	c->help = "free mode: async or sync";
	c->needs = NEED_MODE;
	c->dflt = true;
	c->json_type = SCOLS_JSON_STRING;
	for (i = 0; i < NR_COUNTERS; i++) {
		counter_col[i] = n;
		c = &columns[n++];
		str_upper(c->name, counters[i].name, NAME_LEN);
		snprintf(c->key, NAME_LEN, "%s", counters[i].name);
		snprintf(c->file, NAME_LEN, "stats/%s", counters[i].name);
		c->help = counters[i].help;
		c->needs = BIT(i);
		c->dflt = counters[i].dflt;
		c->flags = SCOLS_FL_RIGHT;
		c->json_type = SCOLS_JSON_NUMBER;
		c->ct = i;
		c->d = -1;
		for (j = 0; j < NR_DERIVED; j++) {
			if (derived[j].after != i)
				continue;
			derived_col[j] = n;
			c = &columns[n++];
			snprintf(c->name, NAME_LEN, "%s", derived[j].name);
			str_lower(c->key, derived[j].name, NAME_LEN);
			c->help = derived[j].help;
			c->needs = derived[j].needs;
			c->dflt = derived[j].dflt;
			c->flags = SCOLS_FL_RIGHT;
			c->json_type = SCOLS_JSON_NUMBER;
			c->ct = -1;
			c->d = j;
		}
	}
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
		const struct column *c = &columns[pf->cols[i]];

		add_column(tb, c->name, 0, c->flags, c->json_type);
	}
	ln = scols_table_new_line(tb, NULL);
	if (!ln)
		oom();
	for (i = 0; i < pf->ncols; i++)
		set_cell(pf, ln, i, status_cell(pf, s, pf->cols[i]));
	print_table(pf, tb);
}

/*
 * Prometheus text exposition format (node_exporter textfile collector):
 * pgtable_free_<key>, "_size" becoming "_bytes", "_pages" for a count of
 * pages, "_total" for a counter.  Absent values are omitted, HELP and
 * TYPE lines included.
 */
static char *prom_name(int col)
{
	const struct column *c = &columns[col];
	size_t len = strlen(c->key);
	const struct counter *ct;

	if (c->ct < 0) {
		if (len > 5 && strcmp(c->key + len - 5, "_size") == 0)
			return xasprintf("pgtable_free_%.*s_bytes",
					 (int)(len - 5), c->key);
		return xasprintf("pgtable_free_%s", c->key);
	}
	ct = &counters[c->ct];
	return xasprintf("pgtable_free_%s%s%s", c->key,
			 ct->pages ? "_pages" : "", ct->gauge ? "" : "_total");
}

static void prom_metric(int col, bool gauge, uint64_t v)
{
	char *name = prom_name(col);
	const char *help = columns[col].help;

	printf("# HELP %s %c%s.\n# TYPE %s %s\n%s %" PRIu64 "\n", name,
	       toupper((unsigned char)help[0]), help + 1, name,
	       gauge ? "gauge" : "counter", name, v);
	free(name);
}

static void print_prometheus(struct pgtfree *pf, const struct sample *s)
{
	const struct mode *m = &s->mode;
	uint64_t v;
	int i;

	if (m->active >= 0) {
		printf("# HELP pgtable_free_mode Page-table free mode: 1 for "
		       "the active mode.\n"
		       "# TYPE pgtable_free_mode gauge\n");
		for (i = 0; i < m->nwords; i++)
			printf("pgtable_free_mode{mode=\"%s\"} %d\n",
			       m->word[i], i == m->active);
	}
	for (i = 0; i < NR_COUNTERS; i++)
		if (s->have[i])
			prom_metric(counter_col[i], counters[i].gauge,
				    s->val[i]);
	for (i = 0; i < NR_DERIVED; i++)
		if (derived[i].prom && pages_bytes(pf, s, size_counter(i), &v))
			prom_metric(derived_col[i], true, v);
}

static int cmd_status(struct pgtfree *pf)
{
	unsigned int need = 0;
	struct sample s;
	size_t i;

	if (check_feature(pf))
		return pf->status;
	if (pf->format == FMT_PROM)
		need = NEED_MODE | NEED_COUNTERS;
	for (i = 0; i < pf->ncols; i++)
		need |= columns[pf->cols[i]].needs;
	read_sample(pf, &s, need);
	if (pf->format == FMT_PROM)
		print_prometheus(pf, &s);
	else
		print_status_table(pf, &s);
	return pf->status;
}

/*
 * mode
 */
static void print_mode(struct pgtfree *pf, const char *mode)
{
	struct libscols_table *tb;
	struct libscols_line *ln;

	if (pf->format != FMT_JSON) {
		printf("%s\n", mode);
		return;
	}
	tb = new_table(pf, "pgtfree");
	add_column(tb, columns[COL_MODE].key, 0, 0, SCOLS_JSON_STRING);
	ln = scols_table_new_line(tb, NULL);
	if (!ln)
		oom();
	set_cell(pf, ln, 0, xstrdup(mode));
	print_table(pf, tb);
}

static int bad_mode_word(const char *want, const struct mode *m)
{
	char *q = quote_value(want, strlen(want)), *list = NULL, *p;
	int i, rc;

	if (!m || m->nwords == 0) {
		rc = usage_error("invalid mode '%s': use async or sync", q);
		free(q);
		return rc;
	}
	for (i = 0; i < m->nwords; i++) {
		p = xasprintf("%s%s%s", list ? list : "", list ? ", " : "",
			      m->word[i]);
		free(list);
		list = p;
	}
	rc = usage_error("invalid mode '%s': this kernel offers %s", q, list);
	free(list);
	free(q);
	return rc;
}

/*
 * "mode": print the active word.  "mode WORD": async, sync or another
 * word the kernel lists in the file; written, then read back.
 */
static int cmd_mode(struct pgtfree *pf, const char *want)
{
	bool known = want && (!strcmp(want, "async") || !strcmp(want, "sync"));
	struct sample s;
	char *val;
	int rc;

	if (want && !known && !mode_word_ok(want, strlen(want)))
		return bad_mode_word(want, NULL);
	quiet_errors = want && !known;
	rc = check_feature(pf);
	quiet_errors = false;
	if (rc) {
		if (want && !known) {
			/* no kernel to offer the word: a usage error */
			pf->status = 0;
			return bad_mode_word(want, NULL);
		}
		return pf->status;
	}
	memset(&s, 0, sizeof(s));
	if (want && !known) {
		/* a newer kernel's mode: only a word the file lists */
		read_mode(pf, &s);
		if (pf->status)
			return pf->status;
		if (mode_find(&s.mode, want) < 0)
			return bad_mode_word(want, &s.mode);
	}

	if (want) {
		val = xasprintf("%s\n", want);
		rc = write_attr(pf, "mode", val);
		if (rc) {
			write_error(pf, "mode", val, rc);
			free(val);
			return pf->status;
		}
		free(val);
	}

	read_mode(pf, &s);
	if (pf->status)
		return pf->status;
	if (!mode_active(&s.mode)) {
		fail(pf, EX_UNAVAILABLE, "mode: not provided by this kernel");
		return pf->status;
	}
	if (want && strcmp(mode_active(&s.mode), want) != 0) {
		fail(pf, EXIT_FAILURE,
		     "mode: wrote '%s' but the kernel reports '%s'",
		     want, mode_active(&s.mode));
		return pf->status;
	}
	print_mode(pf, mode_active(&s.mode));
	return pf->status;
}

/*
 * drain: reads only the two counters it shows
 */
static int cmd_drain(struct pgtfree *pf)
{
	const unsigned int need = BIT(CT_PENDING) | BIT(CT_FREED);
	struct sample before, after;
	struct libscols_table *tb;
	struct libscols_line *ln;
	int rc;

	if (check_feature(pf))
		return pf->status;

	read_sample(pf, &before, need);
	rc = write_attr(pf, "drain", "1");
	if (rc) {
		write_error(pf, "drain", "1", rc);
		return pf->status;
	}
	read_sample(pf, &after, need);

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
 * watch: a field for each counter of watch kind W_VALUE (its value) and
 * W_RATE (the change and the change per second), in counters[] order,
 * after an optional time field.  Names: the counter's, with "/s" for its
 * rate in the header and "_per_sec" in JSON.
 */
#define MAX_WATCH_FIELDS	(1 + 2 * NR_COUNTERS)

struct watch {
	int	nfields;
	char	*header[MAX_WATCH_FIELDS];
	char	*key[MAX_WATCH_FIELDS];
	size_t	width[MAX_WATCH_FIELDS];
	int	ctr[MAX_WATCH_FIELDS];	/* counter, -1 for the time */
	bool	rate[MAX_WATCH_FIELDS];
	unsigned int need;
	size_t	lines;			/* since the last header */
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
static double read_uptime(const struct pgtfree *pf)
{
	char buf[128], *end;
	size_t len;
	double up;

	if (read_attr(pf->rootfd, "proc/uptime", buf, sizeof(buf) - 1,
		      &len) != 0)
		return -1;
	buf[len] = '\0';
	errno = 0;
	up = strtod(buf, &end);
	if (errno || end == buf || !isfinite(up) || up <= 0)
		return -1;
	return up;
}

static void watch_add(struct watch *w, int ctr, bool rate, char *header,
		      char *key)
{
	int n = w->nfields++;

	w->ctr[n] = ctr;
	w->rate[n] = rate;
	w->header[n] = header;
	w->key[n] = key;
	w->width[n] = strlen(header) > WATCH_WIDTH ?
		strlen(header) : WATCH_WIDTH;
	if (ctr >= 0)
		w->need |= BIT(ctr);
}

static void watch_init(struct watch *w, const struct pgtfree *pf)
{
	int i;

	memset(w, 0, sizeof(*w));
	if (pf->timestamp)
		watch_add(w, -1, false, xstrdup("time"), xstrdup("time"));
	for (i = 0; i < NR_COUNTERS; i++) {
		const char *name = counters[i].name;

		if (counters[i].watch == W_NONE)
			continue;
		watch_add(w, i, false, xstrdup(name), xstrdup(name));
		if (counters[i].watch == W_RATE)
			watch_add(w, i, true, xasprintf("%s/s", name),
				  xasprintf("%s_per_sec", name));
	}
}

static void watch_free(struct watch *w)
{
	int i;

	for (i = 0; i < w->nfields; i++) {
		free(w->header[i]);
		free(w->key[i]);
	}
}

/* data lines per header: a screen of a terminal, else unlimited */
static size_t watch_screen(void)
{
	struct winsize ws;

	if (!isatty(STDOUT_FILENO) ||
	    ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0)
		return 0;
	/* the header, the lines and the cursor's line fit on the screen */
	return ws.ws_row > 3 ? ws.ws_row - 2 : 1;
}

static void watch_print_fields(const struct pgtfree *pf,
			       const struct watch *w, char *const *f)
{
	int i;

	for (i = 0; i < w->nfields; i++) {
		const char *v = f[i] ? f[i] : "-";

		if (pf->format == FMT_RAW)
			printf("%s%s", i ? " " : "", v);
		else if (w->ctr[i] < 0)
			printf("%s%-*s", i ? " " : "", (int)w->width[i], v);
		else
			printf("%s%*s", i ? " " : "", (int)w->width[i], v);
	}
	putchar('\n');
}

/* local time, as ISO 8601 without the zone */
static char *watch_time(const struct timespec *ts)
{
	char buf[64];
	struct tm tm;

	if (!localtime_r(&ts->tv_sec, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm))
		return NULL;
	return xstrdup(buf);
}

static int watch_print_json(struct pgtfree *pf, const struct watch *w,
			    const struct sample *cur, bool first,
			    double elapsed, char **f)
{
	struct libscols_table *tb = new_table(pf, "watch");
	struct libscols_line *ln;
	char *obj;
	int i, n = 0;

	add_column(tb, "time", 0, 0, SCOLS_JSON_NUMBER);
	add_column(tb, "since_boot", 0, 0, SCOLS_JSON_BOOLEAN);
	add_column(tb, "interval", 0, 0, SCOLS_JSON_NUMBER);
	for (i = 0; i < w->nfields; i++)
		if (w->ctr[i] >= 0)
			add_column(tb, w->key[i], 0, 0, SCOLS_JSON_NUMBER);
	ln = scols_table_new_line(tb, NULL);
	if (!ln)
		oom();
	set_cell(pf, ln, n++, xasprintf("%.3f", ts_sec(&cur->real)));
	set_cell(pf, ln, n++, xstrdup(first ? "1" : "0"));
	set_cell(pf, ln, n++, elapsed > 0 ? double_cell(pf, elapsed) : NULL);
	for (i = 0; i < w->nfields; i++) {
		if (w->ctr[i] < 0)
			continue;
		set_cell(pf, ln, n++, f[i]);
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
	return 0;
}

/*
 * One line: @prev is NULL for the first one, which shows totals since
 * boot and rates over @uptime seconds (< 0: unknown).  A value wider than
 * its column widens the column and, with headings, the header is printed
 * again above the line, so that each line stays aligned under its
 * header.  On a terminal the header comes again every screen.
 */
static int watch_print_line(struct pgtfree *pf, struct watch *w,
			    const struct sample *cur,
			    const struct sample *prev, double uptime)
{
	char *f[MAX_WATCH_FIELDS] = { NULL };
	double elapsed = uptime;
	bool header = false;
	size_t screen;
	int i, rc = 0;

	if (prev)
		elapsed = ts_sec(&cur->mono) - ts_sec(&prev->mono);

	for (i = 0; i < w->nfields; i++) {
		int c = w->ctr[i];
		uint64_t d;

		if (c < 0) {
			f[i] = watch_time(&cur->real);
			continue;
		}
		if (!cur->have[c])
			continue;
		if (counters[c].watch == W_VALUE) {
			f[i] = counter_cell(cur, c);
			continue;
		}
		if (prev) {
			/* a counter that went backwards: unknown */
			if (!prev->have[c] || cur->val[c] < prev->val[c])
				continue;
			d = cur->val[c] - prev->val[c];
		} else {
			d = cur->val[c];
		}
		if (!w->rate[i])
			f[i] = xasprintf("%" PRIu64, d);
		else if (elapsed > 0)
			f[i] = double_cell(pf, (double)d / elapsed);
	}

	if (pf->format == FMT_JSON) {
		rc = watch_print_json(pf, w, cur, !prev, elapsed, f);
	} else {
		for (i = 0; i < w->nfields; i++) {
			if (f[i] && strlen(f[i]) > w->width[i]) {
				w->width[i] = strlen(f[i]);
				header = prev;
			}
		}
		screen = watch_screen();
		if (!prev || (screen && w->lines >= screen))
			header = true;
		if (header && !pf->noheadings) {
			watch_print_fields(pf, w, w->header);
			w->lines = 0;
		}
		watch_print_fields(pf, w, f);
		w->lines++;
	}
	for (i = 0; i < w->nfields; i++)
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

static int cmd_watch(struct pgtfree *pf, double interval, uint64_t count)
{
	struct sample a, b, *cur = &a, *prev = NULL;
	struct timespec deadline;
	sigset_t block, wait_mask;
	struct watch w;
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

	watch_init(&w, pf);
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
		read_sample(pf, cur, w.need);
		if (watch_print_line(pf, &w, cur, prev,
				     prev ? 0 : read_uptime(pf)) < 0)
			break;
		prev = cur;
		cur = cur == &a ? &b : &a;
	}
	watch_free(&w);
	return pf->status;
}

/*
 * top: who frees kernel page tables and how the batches look, from the
 * trace events of group pgtable_free.  Their text output, one line each
 * in trace_pipe, trace or "trace-cmd report":
 *
 *   <task>-<pid> [<cpu>] <flags> <secs>.<usecs>: <event>: <fields>
 *
 *   pgtable_free_queue: caller=%pS nr_pages=%u pending=%lu
 *   pgtable_free_sync: caller=%pS nr_pages=%u
 *   pgtable_free_batch: nr_pages=%lu reason=%s mms=%u invalidate_ns=%llu
 *
 * %pS is "symbol+0xoff/0xsize", with " [module]" for a module, or a bare
 * "0x..." address when the kernel knows no symbol.  "CPU:<n> [LOST <m>
 * EVENTS]" ("[LOST EVENTS]" when the number is unknown) says the ring
 * buffer overflowed; lines starting with '#' are headers.
 *
 * Live, top reads trace_pipe of an ftrace instance of its own
 * (instances/pgtfree-<pid>) with only events/pgtable_free enabled, so the
 * top-level tracing files are never touched; the instance is disabled and
 * removed on every way out but SIGKILL.
 */
#define TRACE_GROUP	"pgtable_free"
#define TRACE_PREFIX	"pgtable_free_"
#define TOP_LINE_MAX	4096	/* a longer line is malformed */
#define TOP_POLL_MS	250	/* longest wait before reading trace_pipe */
#define TOP_EOF_MS	100	/* wait after an end of file on trace_pipe */
#define TOP_DRAIN_SEC	2	/* reading what is left after disabling */
#define TOP_HASH	1024	/* buckets of the caller and reason tables */
#define TOP_FIELDS	16	/* key=value fields of an event */

enum {
	TT_SUMMARY,
	TT_CALLERS,
	TT_BATCHES,
	NR_TOP_TABLES
};

static const char *const top_table_name[NR_TOP_TABLES] = {
	[TT_SUMMARY] = "summary",
	[TT_CALLERS] = "callers",
	[TT_BATCHES] = "batches",
};

/*
 * The columns of top, in the order shown, table by table: the one list
 * of them ("pgtfree top -l" prints it for the tests that compare it with
 * the man page).  The JSON key is the name in lower case.
 */
enum {
	TC_SECONDS,
	TC_EVENTS,
	TC_LOST,
	TC_MALFORMED,
	TC_PENDING_MAX,
	TC_CALLER,
	TC_MODULE,
	TC_FREES,
	TC_QUEUED,
	TC_FREED_SYNC,
	TC_REASON,
	TC_BATCHES,
	TC_PAGES,
	TC_AVG,
	TC_MIN,
	TC_MAX,
	TC_INVALIDATIONS,
	TC_INV_AVG_US,
	TC_INV_MAX_US,
	TC_MMS,
	NR_TOP_COLS
};

struct top_column {
	int		table;
	const char	*name;
	const char	*help;
	bool		string;		/* else a number */
};

static const struct top_column top_columns[NR_TOP_COLS] = {
	[TC_SECONDS] = { TT_SUMMARY, "SECONDS",
		"time covered: how long top traced, or from the first event "
		"of --input to the last", false },
	[TC_EVENTS] = { TT_SUMMARY, "EVENTS",
		"pgtable_free events read", false },
	[TC_LOST] = { TT_SUMMARY, "LOST",
		"events the kernel reported lost (a full trace buffer)",
		false },
	[TC_MALFORMED] = { TT_SUMMARY, "MALFORMED",
		"lines skipped because they could not be parsed", false },
	[TC_PENDING_MAX] = { TT_SUMMARY, "PENDING_MAX",
		"highest pending seen in a queue event", false },
	[TC_CALLER] = { TT_CALLERS, "CALLER",
		"function that freed the page tables, or its address", true },
	[TC_MODULE] = { TT_CALLERS, "MODULE",
		"module of the caller", true },
	[TC_FREES] = { TT_CALLERS, "FREES",
		"page tables freed: queue and sync events", false },
	[TC_QUEUED] = { TT_CALLERS, "QUEUED",
		"pages put on the deferred list", false },
	[TC_FREED_SYNC] = { TT_CALLERS, "FREED_SYNC",
		"pages freed at once because the mode was sync", false },
	[TC_REASON] = { TT_BATCHES, "REASON",
		"what freed the batches: work, drain or oom", true },
	[TC_BATCHES] = { TT_BATCHES, "BATCHES",
		"batches freed (one flush each)", false },
	[TC_PAGES] = { TT_BATCHES, "PAGES",
		"pages those batches freed", false },
	[TC_AVG] = { TT_BATCHES, "AVG",
		"average pages per batch", false },
	[TC_MIN] = { TT_BATCHES, "MIN",
		"fewest pages in a batch", false },
	[TC_MAX] = { TT_BATCHES, "MAX",
		"most pages in a batch", false },
	[TC_INVALIDATIONS] = { TT_BATCHES, "INVALIDATIONS",
		"batches that issued an IOMMU invalidation for SVA mms",
		false },
	[TC_INV_AVG_US] = { TT_BATCHES, "INV_AVG_US",
		"average time of those invalidations, microseconds", false },
	[TC_INV_MAX_US] = { TT_BATCHES, "INV_MAX_US",
		"longest invalidation, microseconds", false },
	[TC_MMS] = { TT_BATCHES, "MMS",
		"SVA-bound mms those invalidations covered, summed", false },
};

/* a sum that is unknown once it no longer fits in 64 bits */
struct acc {
	uint64_t	v;
	bool		ovf;
};

static void acc_add(struct acc *a, uint64_t x)
{
	if (a->v > UINT64_MAX - x)
		a->ovf = true;
	else
		a->v += x;
}

/* a caller (name, module) or a reason (name) and what it did */
struct top_entry {
	struct top_entry *next;		/* in its hash bucket */
	char		*name;
	char		*module;	/* NULL: built in, or no symbol */
	/* callers */
	uint64_t	frees;
	struct acc	queued;
	struct acc	freed_sync;
	/* reasons */
	uint64_t	batches;
	struct acc	pages;
	uint64_t	min;
	uint64_t	max;
	uint64_t	invalidations;
	struct acc	inv_ns;
	uint64_t	inv_max_ns;
	struct acc	mms;
};

struct top_map {
	struct top_entry *bucket[TOP_HASH];
	size_t		n;
};

struct top {
	char		*src;		/* where the lines come from */
	char		line[TOP_LINE_MAX + 1];
	size_t		len;
	bool		skipping;	/* the rest of a line too long */
	uint64_t	lineno;

	uint64_t	events;
	uint64_t	lost;
	bool		lost_unknown;	/* a loss of unknown size */
	uint64_t	malformed;
	uint64_t	bad_lineno;	/* the first malformed line */
	char		*bad_text;	/* and its text, quoted */
	bool		have_pending;
	uint64_t	pending_max;
	bool		have_ts;	/* timestamps, in nanoseconds */
	uint64_t	ts_min;
	uint64_t	ts_max;
	bool		have_seconds;	/* live: how long it traced */
	double		seconds;

	struct top_map	callers;
	struct top_map	reasons;
};

/* one key=value of an event; the value is [val, vend) */
struct field {
	const char	*key;
	size_t		klen;
	const char	*val;
	const char	*vend;
};

static void top_init(struct top *t)
{
	memset(t, 0, sizeof(*t));
}

static void top_map_free(struct top_map *m)
{
	struct top_entry *e, *next;
	size_t i;

	for (i = 0; i < TOP_HASH; i++) {
		for (e = m->bucket[i]; e; e = next) {
			next = e->next;
			free(e->name);
			free(e->module);
			free(e);
		}
	}
}

static void top_free(struct top *t)
{
	top_map_free(&t->callers);
	top_map_free(&t->reasons);
	free(t->bad_text);
	free(t->src);
}

/* The entry for (@name, @module), created empty the first time. */
static struct top_entry *top_get(struct top_map *m, const char *name,
				 size_t nlen, const char *module, size_t mlen)
{
	uint32_t h = 2166136261u;
	struct top_entry *e;
	size_t i;

	for (i = 0; i < nlen; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (i = 0; module && i < mlen; i++)
		h = (h ^ (unsigned char)module[i]) * 16777619u;
	h %= TOP_HASH;

	for (e = m->bucket[h]; e; e = e->next) {
		if (strlen(e->name) != nlen || memcmp(e->name, name, nlen))
			continue;
		if (!module && !e->module)
			return e;
		if (module && e->module && strlen(e->module) == mlen &&
		    !memcmp(e->module, module, mlen))
			return e;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		oom();
	e->name = xasprintf("%.*s", (int)nlen, name);
	e->module = module ? xasprintf("%.*s", (int)mlen, module) : NULL;
	e->min = UINT64_MAX;
	e->next = m->bucket[h];
	m->bucket[h] = e;
	m->n++;
	return e;
}

/* the entries of @m in an array (freed by the caller), sorted by @cmp */
static struct top_entry **top_sorted(const struct top_map *m,
				     int (*cmp)(const void *, const void *))
{
	struct top_entry **v, *e;
	size_t i, n = 0;

	v = calloc(m->n + 1, sizeof(*v));
	if (!v)
		oom();
	for (i = 0; i < TOP_HASH; i++)
		for (e = m->bucket[i]; e; e = e->next)
			v[n++] = e;
	qsort(v, n, sizeof(*v), cmp);
	return v;
}

static int strcmp_null(const char *a, const char *b)
{
	if (!a || !b)
		return !!a - !!b;	/* NULL (built in) first */
	return strcmp(a, b);
}

/* callers: most frees first, then most pages, then by name */
static int cmp_callers(const void *pa, const void *pb)
{
	const struct top_entry *a = *(struct top_entry *const *)pa;
	const struct top_entry *b = *(struct top_entry *const *)pb;
	uint64_t pga = a->queued.v + a->freed_sync.v;
	uint64_t pgb = b->queued.v + b->freed_sync.v;

	if (a->frees != b->frees)
		return a->frees > b->frees ? -1 : 1;
	if (pga != pgb)
		return pga > pgb ? -1 : 1;
	if (strcmp(a->name, b->name))
		return strcmp(a->name, b->name);
	return strcmp_null(a->module, b->module);
}

/* the reasons the kernel gives, in this order; others after, by name */
static const char *const known_reasons[] = { "work", "drain", "oom" };

static size_t reason_rank(const char *r)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(known_reasons); i++)
		if (!strcmp(r, known_reasons[i]))
			break;
	return i;
}

static int cmp_reasons(const void *pa, const void *pb)
{
	const struct top_entry *a = *(struct top_entry *const *)pa;
	const struct top_entry *b = *(struct top_entry *const *)pb;
	size_t ra = reason_rank(a->name), rb = reason_rank(b->name);

	if (ra != rb)
		return ra < rb ? -1 : 1;
	return strcmp(a->name, b->name);
}

/*
 * Parsing
 */

/* decimal digits [s, e), at most @max */
static bool dec_u64(const char *s, const char *e, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (s == e)
		return false;
	for (; s < e; s++) {
		unsigned int d;

		if (*s < '0' || *s > '9')
			return false;
		d = *s - '0';
		if (x > (max - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return true;
}

/* "0x" and hex digits at *pp (before @e); *pp moves past them */
static bool hex0x(const char **pp, const char *e)
{
	const char *p = *pp;

	if (e - p < 3 || p[0] != '0' || p[1] != 'x')
		return false;
	for (p += 2; p < e && isxdigit((unsigned char)*p); p++)
		;
	if (p == *pp + 2)
		return false;
	*pp = p;
	return true;
}

/* [a-z0-9_]: keys, event names, reasons */
static bool word_char(char c)
{
	return islower((unsigned char)c) || isdigit((unsigned char)c) ||
	       c == '_';
}

static bool sym_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$';
}

/*
 * A %pS value [s, e): "symbol+0xoff/0xsize", then " [module]" for a
 * module's; or "0x..." when the kernel knows no symbol; a bare "symbol"
 * (as %ps prints) is taken too.  The caller is the symbol or the
 * address, exactly as printed, the offset and size dropped.
 */
static bool parse_caller(const char *s, const char *e, const char **sym,
			 size_t *slen, const char **mod, size_t *mlen)
{
	const char *p, *se = e;

	*mod = NULL;
	*mlen = 0;
	if (e - s > 4 && e[-1] == ']') {
		for (p = e - 1; p > s && p[-1] != '['; p--)
			if (!isalnum((unsigned char)p[-1]) && p[-1] != '_' &&
			    p[-1] != '-')
				return false;
		if (p - s < 3 || p[-2] != ' ' || p == e - 1)
			return false;
		*mod = p;
		*mlen = (size_t)(e - 1 - p);
		se = p - 2;
	}
	p = s;
	if (se - s > 2 && s[0] == '0' && s[1] == 'x') {
		/* no symbol: the address, at most 64 bits of it */
		if (!hex0x(&p, se) || p != se || se - s > 18)
			return false;
		*sym = s;
		*slen = (size_t)(se - s);
		return true;
	}
	while (p < se && sym_char(*p))
		p++;
	if (p == s)
		return false;
	*sym = s;
	*slen = (size_t)(p - s);
	if (p == se)
		return true;
	if (*p++ != '+' || !hex0x(&p, se) || p == se || *p++ != '/' ||
	    !hex0x(&p, se) || p != se)
		return false;
	return true;
}

/*
 * The fields after the event name: "key=value" separated by blanks; a
 * word that is not key=value continues the value before it, as
 * " [module]" does after a caller.  Returns how many, or -1.
 */
static int split_fields(const char *p, struct field *f, int max)
{
	int n = 0;

	for (;;) {
		const char *tok, *q;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return n;
		tok = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		for (q = tok; q < p && word_char(*q); q++)
			;
		if (q > tok && q < p && *q == '=' &&
		    !isdigit((unsigned char)*tok)) {
			if (n == max)
				return -1;
			f[n].key = tok;
			f[n].klen = (size_t)(q - tok);
			f[n].val = q + 1;
			f[n].vend = p;
			n++;
		} else {
			if (n == 0)
				return -1;
			f[n - 1].vend = p;
		}
	}
}

/* the value of @key, NULL if absent or empty */
static const struct field *get_field(const struct field *f, int n,
				     const char *key)
{
	size_t len = strlen(key);
	int i;

	for (i = 0; i < n; i++)
		if (f[i].klen == len && !memcmp(f[i].key, key, len))
			return f[i].val < f[i].vend ? &f[i] : NULL;
	return NULL;
}

static bool field_u64(const struct field *f, int n, const char *key,
		      uint64_t max, uint64_t *v)
{
	const struct field *x = get_field(f, n, key);

	return x && dec_u64(x->val, x->vend, max, v);
}

/*
 * "<secs>[.<fraction>]" [s, e) in nanoseconds (digits after the ninth of
 * the fraction dropped), UINT64_MAX when out of range: integers, so that
 * the time between two events is exact.
 */
static uint64_t parse_ts(const char *s, const char *e)
{
	const char *dot = memchr(s, '.', (size_t)(e - s));
	uint64_t sec, frac = 0;
	int i;

	if (!dec_u64(s, dot ? dot : e, UINT64_MAX / 1000000000u, &sec))
		return UINT64_MAX;
	for (i = 0, s = dot ? dot + 1 : e; i < 9; i++)
		frac = frac * 10 + (s < e ? (uint64_t)(*s++ - '0') : 0);
	return sec * 1000000000u + frac;
}

/*
 * The first "<timestamp>: pgtable_free_<name>: " in @s: the fields
 * follow.  *@trace is set when @s is a trace line at all (of another
 * event if this returns NULL).  A task name (15 characters at most) can
 * hold a colon but not a whole "<timestamp>: pgtable_free_<name>: ".
 */
static const char *find_event(const char *s, uint64_t *ts,
			      const char **name, size_t *nlen, bool *trace)
{
	const size_t plen = strlen(TRACE_PREFIX);
	const char *c, *b, *n, *ne;

	*trace = false;
	for (c = strstr(s, ": "); c; c = strstr(c + 1, ": ")) {
		int dots = 0;

		for (b = c; b > s && (isdigit((unsigned char)b[-1]) ||
				      b[-1] == '.'); b--)
			dots += b[-1] == '.';
		if (b == c || !isdigit((unsigned char)*b) || c[-1] == '.' ||
		    dots > 1 || (b > s && b[-1] != ' ' && b[-1] != '\t'))
			continue;
		for (n = ne = c + 2; word_char(*ne); ne++)
			;
		if (ne == n || *ne != ':' || (ne[1] && ne[1] != ' ' &&
					      ne[1] != '\t'))
			continue;
		*trace = true;
		if ((size_t)(ne - n) <= plen || strncmp(n, TRACE_PREFIX, plen))
			continue;
		*ts = parse_ts(b, c);
		*name = n + plen;
		*nlen = (size_t)(ne - n) - plen;
		return ne + 1;
	}
	return NULL;
}

/*
 * "CPU:<n> [LOST <m> EVENTS]", "CPU:<n> [LOST EVENTS]" (trace_pipe,
 * trace), "CPU:<n> [<m> EVENTS DROPPED]" or "CPU:<n> [EVENTS DROPPED]"
 * (trace-cmd report): 1 with *@m, 2 for a loss of unknown size, 0 for
 * another line.
 */
static int parse_lost(const char *s, uint64_t *m)
{
	const char *p, *q;
	uint64_t cpu;

	if (strncmp(s, "CPU:", 4))
		return 0;
	for (p = q = s + 4; isdigit((unsigned char)*q); q++)
		;
	if (!dec_u64(p, q, UINT64_MAX, &cpu) || strncmp(q, " [", 2))
		return 0;
	p = q + 2;
	if (!strcmp(p, "LOST EVENTS]") || !strcmp(p, "EVENTS DROPPED]"))
		return 2;
	if (!strncmp(p, "LOST ", 5)) {
		for (p += 5, q = p; isdigit((unsigned char)*q); q++)
			;
		return dec_u64(p, q, UINT64_MAX, m) &&
		       !strcmp(q, " EVENTS]");
	}
	for (q = p; isdigit((unsigned char)*q); q++)
		;
	return dec_u64(p, q, UINT64_MAX, m) && !strcmp(q, " EVENTS DROPPED]");
}

/* "version = <n>", "cpus=<n>" and "CPU <n> is empty" of trace-cmd */
static bool tracecmd_header(const char *s)
{
	const char *p, *q;
	uint64_t v;

	if (!strncmp(s, "cpus=", 5) || !strncmp(s, "version = ", 10)) {
		p = s + (s[0] == 'c' ? 5 : 10);
		return dec_u64(p, p + strlen(p), UINT64_MAX, &v);
	}
	if (strncmp(s, "CPU ", 4))
		return false;
	for (p = q = s + 4; isdigit((unsigned char)*q); q++)
		;
	return dec_u64(p, q, UINT64_MAX, &v) && !strcmp(q, " is empty");
}

static void top_malformed(struct top *t, const char *line, size_t len)
{
	/* quoted from its first word: trace lines start with blanks */
	while (line && len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (!t->malformed++) {
		t->bad_lineno = t->lineno;
		t->bad_text = line ? quote_value(line, len) :
			xstrdup("(longer than 4096 bytes)");
	}
}

enum { EV_OTHER, EV_QUEUE, EV_SYNC, EV_BATCH };

/* pgtable_free_<@ev>: the events top knows */
static int event_kind(const char *ev, size_t len)
{
	if (len == 5 && !memcmp(ev, "queue", 5))
		return EV_QUEUE;
	if (len == 4 && !memcmp(ev, "sync", 4))
		return EV_SYNC;
	if (len == 5 && !memcmp(ev, "batch", 5))
		return EV_BATCH;
	return EV_OTHER;
}

/* one event: false when its fields are not what the kernel prints */
static bool top_event(struct top *t, int kind, const char *fields)
{
	struct field f[TOP_FIELDS];
	const struct field *c, *r;
	const char *sym, *mod;
	size_t slen, mlen;
	uint64_t pages, pending, mms, ns;
	struct top_entry *e;
	const char *p;
	int n = split_fields(fields, f, TOP_FIELDS);

	if (n < 0)
		return false;
	if (kind == EV_QUEUE || kind == EV_SYNC) {
		bool queue = kind == EV_QUEUE;

		c = get_field(f, n, "caller");
		if (!c || !parse_caller(c->val, c->vend, &sym, &slen, &mod,
					&mlen) ||
		    !field_u64(f, n, "nr_pages", UINT32_MAX, &pages))
			return false;
		if (queue && !field_u64(f, n, "pending", UINT64_MAX, &pending))
			return false;
		e = top_get(&t->callers, sym, slen, mod, mlen);
		e->frees++;
		acc_add(queue ? &e->queued : &e->freed_sync, pages);
		if (queue && (!t->have_pending || pending > t->pending_max)) {
			t->pending_max = pending;
			t->have_pending = true;
		}
		return true;
	}
	r = get_field(f, n, "reason");
	if (!r || !field_u64(f, n, "nr_pages", UINT64_MAX, &pages) ||
	    !field_u64(f, n, "mms", UINT32_MAX, &mms) ||
	    !field_u64(f, n, "invalidate_ns", UINT64_MAX, &ns))
		return false;
	for (p = r->val; p < r->vend && word_char(*p); p++)
		;
	if (p != r->vend)
		return false;
	e = top_get(&t->reasons, r->val, (size_t)(r->vend - r->val), NULL, 0);
	e->batches++;
	acc_add(&e->pages, pages);
	if (pages < e->min)
		e->min = pages;
	if (pages > e->max)
		e->max = pages;
	if (mms > 0) {
		e->invalidations++;
		acc_add(&e->mms, mms);
		acc_add(&e->inv_ns, ns);
		if (ns > e->inv_max_ns)
			e->inv_max_ns = ns;
	}
	return true;
}

/* Take one line (without its newline, NUL-terminated) into @t. */
static void top_line(struct top *t, char *line, size_t len)
{
	const char *p = line, *fields, *ev;
	size_t evlen, n = len;
	uint64_t m, ts;
	int lost, kind;
	bool trace;

	if (memchr(line, '\0', len)) {
		top_malformed(t, line, len);
		return;
	}
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' ||
			 line[n - 1] == '\r'))
		line[--n] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || *p == '#' || tracecmd_header(p))
		return;
	lost = parse_lost(p, &m);
	if (lost == 2) {
		t->lost_unknown = true;
		return;
	}
	if (lost == 1) {
		if (t->lost > UINT64_MAX - m)
			t->lost_unknown = true;
		else
			t->lost += m;
		return;
	}
	fields = find_event(p, &ts, &ev, &evlen, &trace);
	if (!fields) {
		if (!trace)
			top_malformed(t, line, len);
		return;		/* another event's line */
	}
	kind = event_kind(ev, evlen);
	if (kind == EV_OTHER)
		return;		/* a newer kernel's event: not ours to count */
	if (!top_event(t, kind, fields)) {
		top_malformed(t, line, len);
		return;
	}
	t->events++;
	if (ts == UINT64_MAX)
		return;		/* more than 584 years: not a time */
	if (!t->have_ts || ts < t->ts_min)
		t->ts_min = ts;
	if (!t->have_ts || ts > t->ts_max)
		t->ts_max = ts;
	t->have_ts = true;
}

/* Take @n bytes of input: whole lines go to top_line(). */
static void top_feed(struct top *t, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;

		if (!t->skipping) {
			if (t->len + k > TOP_LINE_MAX) {
				t->skipping = true;
			} else {
				memcpy(t->line + t->len, p, k);
				t->len += k;
			}
		}
		if (!nl)
			return;
		t->lineno++;
		if (t->skipping) {
			top_malformed(t, NULL, 0);
		} else {
			t->line[t->len] = '\0';
			top_line(t, t->line, t->len);
		}
		t->len = 0;
		t->skipping = false;
		p = nl + 1;
		n -= k + 1;
	}
}

/* the last line of the input, if it has no newline */
static void top_flush(struct top *t)
{
	if (t->len || t->skipping)
		top_feed(t, "\n", 1);
}

/*
 * Reading
 */

static void ts_sub(struct timespec *d, const struct timespec *a,
		   const struct timespec *b)
{
	d->tv_sec = a->tv_sec - b->tv_sec;
	d->tv_nsec = a->tv_nsec - b->tv_nsec;
	if (d->tv_nsec < 0) {
		d->tv_nsec += 1000000000L;
		d->tv_sec--;
	}
}

/* the signals that end top: SIGINT, SIGTERM, SIGHUP */
static const int top_sigs[] = { SIGINT, SIGTERM, SIGHUP };

/*
 * One of them arrived, or is pending: ppoll() that finds a descriptor
 * ready returns with the signal mask restored and the signal still
 * pending, so a trace_pipe that is never empty would keep it from being
 * delivered.  (A signal ignored on entry is never pending.)
 */
static bool top_stopped(void)
{
	sigset_t set;
	size_t i;

	if (got_signal)
		return true;
	if (sigpending(&set) != 0)
		return false;
	for (i = 0; i < ARRAY_SIZE(top_sigs); i++)
		if (sigismember(&set, top_sigs[i]))
			return true;
	return false;
}

/*
 * Read @fd into @t until its end (an input file; trace_pipe has none),
 * @deadline (CLOCK_MONOTONIC, or NULL) or a signal, which is delivered
 * only inside ppoll() (or seen pending, see top_stopped()).  trace_pipe
 * (@live) is non-blocking and read after every poll, which waits
 * TOP_POLL_MS at most; an end of file there (a file standing in for it)
 * is retried after TOP_EOF_MS.  An input file is read when poll says it
 * can be.  Returns 0, or -1 after a read error (reported).
 */
static int top_pump(struct pgtfree *pf, struct top *t, int fd, bool live,
		    const struct timespec *deadline, const sigset_t *mask)
{
	static char chunk[65536];
	bool eof = false;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct timespec now, wait, *wp = NULL;
		ssize_t r;
		int n;

		if (top_stopped())
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (deadline) {
			if (ts_cmp(&now, deadline) >= 0)
				return 0;
			ts_sub(&wait, deadline, &now);
			wp = &wait;
		}
		if (live) {
			long ms = eof ? TOP_EOF_MS : TOP_POLL_MS;

			if (!wp || wait.tv_sec > 0 ||
			    wait.tv_nsec > ms * 1000000L) {
				wait.tv_sec = 0;
				wait.tv_nsec = ms * 1000000L;
				wp = &wait;
			}
		}
		if (eof) {
			ppoll(NULL, 0, wp, mask);
			eof = false;
			continue;
		}
		n = ppoll(&pfd, 1, wp, mask);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail(pf, EXIT_FAILURE, "%s: cannot poll: %s", t->src,
			     strerror(errno));
			return -1;
		}
		if (n == 0 && !live)
			continue;
		r = read(fd, chunk, sizeof(chunk));
		if (r > 0) {
			top_feed(t, chunk, (size_t)r);
			continue;
		}
		if (r == 0) {
			if (!live)
				return 0;
			eof = true;
			continue;
		}
		if (errno == EAGAIN || errno == EINTR)
			continue;
		fail(pf, EXIT_FAILURE, "%s: cannot read: %s", t->src,
		     strerror(errno));
		return -1;
	}
}

/* What is left in trace_pipe after the events were disabled. */
static void top_drain(struct top *t, int fd)
{
	static char chunk[65536];
	struct timespec now, end;
	ssize_t r;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += TOP_DRAIN_SEC;
	do {
		r = read(fd, chunk, sizeof(chunk));
		if (r > 0)
			top_feed(t, chunk, (size_t)r);
		else if (r < 0 && errno != EINTR)
			break;
		else if (r == 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (ts_cmp(&now, &end) < 0);
}

/* top_sigs[] end top; blocked but inside ppoll() */
static void top_signals(sigset_t *wait_mask)
{
	sigset_t block;
	size_t i;

	sigemptyset(&block);
	for (i = 0; i < ARRAY_SIZE(top_sigs); i++)
		sigaddset(&block, top_sigs[i]);
	sigprocmask(SIG_BLOCK, &block, wait_mask);
	for (i = 0; i < ARRAY_SIZE(top_sigs); i++)
		if (catch_signal(top_sigs[i]))
			sigdelset(wait_mask, top_sigs[i]);
}

/*
 * Live: tracefs and the instance
 */

/* where tracefs is looked for, below the root, in this order */
static const char *const tracefs_dirs[] = {
	"sys/kernel/tracing",
	"sys/kernel/debug/tracing",
};

struct top_trace {
	int	tfd;		/* tracefs, O_PATH */
	int	ifd;		/* its instances/, O_PATH */
	int	instfd;		/* our instance, O_PATH */
	int	pipefd;		/* its trace_pipe */
	char	*path;		/* tracefs, as shown */
	char	*inst;		/* our instance, as shown */
	char	name[32];	/* pgtfree-<pid> */
	bool	created;
	bool	enabled;
};

/* an error opening @path in tracefs (or the way to it) */
static void trace_error(struct pgtfree *pf, const char *path, int rc)
{
	switch (rc) {
	case -EACCES:
	case -EPERM:
		if (geteuid() == 0)
			fail(pf, EX_NOPERM,
			     "%s: permission denied although running as root: "
			     "kernel lockdown or a security module (LSM) "
			     "refused access", path);
		else
			fail(pf, EX_NOPERM,
			     "%s: permission denied: tracing needs root "
			     "(try sudo)", path);
		break;
	case E_SYMLINK:
		fail(pf, EX_NOPERM,
		     "%s: a symbolic link in the path, not followed", path);
		break;
	case E_NOTSYSFS:
		if (*pf->root)
			fail(pf, EX_NOPERM,
			     "%s: refusing to write: not on tracefs; to write "
			     "to a tree made for tests, create %s/%s", path,
			     pf->root, TEST_TREE_MARK);
		else
			fail(pf, EX_NOPERM,
			     "%s: refusing to write: not on tracefs", path);
		break;
	case E_HARDLINK:
		fail(pf, EX_NOPERM,
		     "%s: refusing to write: the file has other hard links",
		     path);
		break;
	case E_NOTREG:
		fail(pf, EXIT_FAILURE, "%s: not a regular file", path);
		break;
	case E_CHANGED:
		fail(pf, EXIT_FAILURE, "%s: replaced while being opened",
		     path);
		break;
	default:
		fail(pf, EXIT_FAILURE, "%s: %s", path, strerror(-rc));
		break;
	}
}

/*
 * <root> and its sys/kernel: 66 for a --sysroot that is not the root of
 * a system with sysfs, as for the other commands.
 */
static int top_open_root(struct pgtfree *pf)
{
	const char *root = *pf->root ? pf->root : "/";
	int fd;

	pf->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pf->rootfd < 0) {
		fail(pf, EX_NOINPUT, "--sysroot %s: %s", root,
		     strerror(errno));
		return pf->status;
	}
	probe_test_tree(pf);
	fd = open_below(pf->rootfd, "sys/kernel", O_PATH | O_DIRECTORY);
	if (fd == -ENOENT || fd == -ENOTDIR) {
		if (*pf->root)
			fail(pf, EX_NOINPUT,
			     "%s/sys/kernel not found: --sysroot %s is not "
			     "the root of a system with sysfs", pf->root,
			     pf->root);
		else
			fail(pf, EX_NOINPUT,
			     "/sys/kernel not found: is sysfs mounted on "
			     "/sys?");
		return pf->status;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

/*
 * tracefs: the first of tracefs_dirs[] with an instances/ directory (a
 * mounted tracefs; an empty directory is where it is not mounted).
 */
static int top_find_tracefs(struct pgtfree *pf, struct top_trace *tr)
{
	bool mountpoint = false;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tracefs_dirs); i++) {
		char *path = xasprintf("%s/%s", pf->root, tracefs_dirs[i]);
		int fd, ifd;

		fd = open_below(pf->rootfd, tracefs_dirs[i],
				O_PATH | O_DIRECTORY);
		if (fd == -ENOENT || fd == -ENOTDIR) {
			free(path);
			continue;
		}
		if (fd < 0) {
			trace_error(pf, path, fd);
			free(path);
			return pf->status;
		}
		ifd = open_below(fd, "instances", O_PATH | O_DIRECTORY);
		if (ifd >= 0) {
			tr->tfd = fd;
			tr->ifd = ifd;
			tr->path = path;
			return 0;
		}
		close(fd);
		if (ifd != -ENOENT && ifd != -ENOTDIR) {
			trace_error(pf, path, ifd);
			free(path);
			return pf->status;
		}
		if (i == 0)
			mountpoint = true;
		free(path);
	}
	if (mountpoint)
		fail(pf, EX_UNAVAILABLE,
		     "tracefs is not mounted on %s/sys/kernel/tracing: "
		     "mount it with 'mount -t tracefs nodev "
		     "/sys/kernel/tracing'", pf->root);
	else
		fail(pf, EX_UNAVAILABLE,
		     "no tracefs: %s/sys/kernel/tracing does not exist "
		     "(a kernel without CONFIG_TRACING?)", pf->root);
	return pf->status;
}

/* Disable and remove the instance, whatever was set up of it. */
static void top_teardown(struct pgtfree *pf, struct top *t,
			 struct top_trace *tr)
{
	int rc;

	if (tr->enabled) {
		rc = write_file(pf, tr->instfd,
				"events/" TRACE_GROUP "/enable", "0",
				TRACEFS_MAGIC);
		if (rc) {
			char *p = xasprintf("%s/events/%s/enable", tr->inst,
					    TRACE_GROUP);

			trace_error(pf, p, rc);
			free(p);
		}
		tr->enabled = false;
	}
	if (tr->pipefd >= 0) {
		top_drain(t, tr->pipefd);
		top_flush(t);
		close(tr->pipefd);
		tr->pipefd = -1;
	}
	if (tr->instfd >= 0) {
		close(tr->instfd);
		tr->instfd = -1;
	}
	/* tracefs refuses (EBUSY) while a file of the instance is open */
	if (tr->created && unlinkat(tr->ifd, tr->name, AT_REMOVEDIR) < 0)
		fail(pf, EXIT_FAILURE,
		     "cannot remove the ftrace instance %s: %s; remove it "
		     "with 'rmdir %s'", tr->inst, strerror(errno), tr->inst);
	tr->created = false;
	if (tr->ifd >= 0)
		close(tr->ifd);
	if (tr->tfd >= 0)
		close(tr->tfd);
	free(tr->path);
	free(tr->inst);
}

/*
 * Trace live for @duration seconds (0: until a signal).  Returns 0 when
 * events were read (even if a problem came up later, reported), else the
 * exit status of the problem that stopped it.
 */
static int top_live(struct pgtfree *pf, struct top *t, double duration)
{
	struct top_trace tr = { .tfd = -1, .ifd = -1, .instfd = -1,
				.pipefd = -1 };
	struct timespec start, end, deadline;
	sigset_t wait_mask;
	struct statfs sfs;
	char *path;
	int fd, rc;

	if (top_open_root(pf) || top_find_tracefs(pf, &tr))
		return pf->status;

	fd = open_below(tr.tfd, "events/" TRACE_GROUP, O_PATH | O_DIRECTORY);
	if (fd == -ENOENT || fd == -ENOTDIR) {
		fail(pf, EX_UNAVAILABLE,
		     "this kernel has no pgtable_free trace events "
		     "(%s/events/%s not found)", tr.path, TRACE_GROUP);
		goto out;
	}
	if (fd < 0) {
		path = xasprintf("%s/events/%s", tr.path, TRACE_GROUP);
		trace_error(pf, path, fd);
		free(path);
		goto out;
	}
	close(fd);

	/* mkdir only on tracefs, or in a tree made for tests */
	if (fstatfs(tr.ifd, &sfs) < 0) {
		fail(pf, EXIT_FAILURE, "%s/instances: %s", tr.path,
		     strerror(errno));
		goto out;
	}
	if ((long)sfs.f_type != TRACEFS_MAGIC && !pf->test_tree) {
		if (*pf->root)
			fail(pf, EX_NOPERM,
			     "refusing to create an ftrace instance: "
			     "%s/instances is not on tracefs; to write to a "
			     "tree made for tests, create %s/%s", tr.path,
			     pf->root, TEST_TREE_MARK);
		else
			fail(pf, EX_NOPERM,
			     "refusing to create an ftrace instance: "
			     "%s/instances is not on tracefs", tr.path);
		goto out;
	}

	/* from here a signal must not end pgtfree before the teardown */
	top_signals(&wait_mask);
	snprintf(tr.name, sizeof(tr.name), "pgtfree-%ld", (long)getpid());
	tr.inst = xasprintf("%s/instances/%s", tr.path, tr.name);
	if (mkdirat(tr.ifd, tr.name, 0700) < 0) {
		if (errno == EEXIST)
			fail(pf, EX_CANTCREAT,
			     "cannot create the ftrace instance %s: it "
			     "already exists (a pgtfree top with the same "
			     "process ID in another PID namespace, or one "
			     "killed by SIGKILL: then remove it with "
			     "'rmdir %s')", tr.inst, tr.inst);
		else if (errno == EACCES || errno == EPERM)
			trace_error(pf, tr.inst, -errno);
		else
			fail(pf, EX_CANTCREAT,
			     "cannot create the ftrace instance %s: %s",
			     tr.inst, strerror(errno));
		goto out;
	}
	tr.created = true;

	tr.instfd = open_below(tr.ifd, tr.name, O_PATH | O_DIRECTORY);
	if (tr.instfd < 0) {
		trace_error(pf, tr.inst, tr.instfd);
		goto out;
	}
	rc = write_file(pf, tr.instfd, "events/" TRACE_GROUP "/enable", "1",
			TRACEFS_MAGIC);
	path = xasprintf("%s/events/%s/enable", tr.inst, TRACE_GROUP);
	if (rc == -ENOENT)
		fail(pf, EX_UNAVAILABLE,
		     "this kernel has no pgtable_free trace events "
		     "(%s not found)", path);
	else if (rc)
		trace_error(pf, path, rc);
	free(path);
	if (rc)
		goto out;
	tr.enabled = true;

	tr.pipefd = open_below(tr.instfd, "trace_pipe",
			       O_RDONLY | O_NONBLOCK | O_NOCTTY);
	free(t->src);
	t->src = xasprintf("%s/trace_pipe", tr.inst);
	if (tr.pipefd < 0) {
		trace_error(pf, t->src, tr.pipefd);
		tr.pipefd = -1;
		goto out;
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	deadline = start;
	if (duration > 0)
		ts_add(&deadline, duration);
	top_pump(pf, t, tr.pipefd, true, duration > 0 ? &deadline : NULL,
		 &wait_mask);
	clock_gettime(CLOCK_MONOTONIC, &end);
	/* to the microsecond, as the events' timestamps */
	t->seconds = round((ts_sec(&end) - ts_sec(&start)) * 1e6) / 1e6;
	t->have_seconds = true;
	top_teardown(pf, t, &tr);
	return 0;
out:
	top_teardown(pf, t, &tr);
	return pf->status ? pf->status : EXIT_FAILURE;
}

/* --input FILE, "-" for standard input */
static int top_input(struct pgtfree *pf, struct top *t, const char *input,
		     double duration)
{
	struct timespec deadline;
	sigset_t wait_mask;
	struct stat st;
	int fd = STDIN_FILENO;

	if (strcmp(input, "-") != 0) {
		fd = open(input, O_RDONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;

			fail(pf, e == EACCES || e == EPERM ? EX_NOPERM :
			     e == ENOENT || e == ENOTDIR ? EX_NOINPUT :
			     EXIT_FAILURE, "--input %s: %s", input,
			     strerror(e));
			return pf->status;
		}
		t->src = xstrdup(input);
	} else {
		t->src = xstrdup("standard input");
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		fail(pf, EX_NOINPUT, "--input %s: is a directory", input);
		if (fd != STDIN_FILENO)
			close(fd);
		return pf->status;
	}
	/* after open(): a FIFO without a writer blocks it */
	top_signals(&wait_mask);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	ts_add(&deadline, duration);
	top_pump(pf, t, fd, false, duration > 0 ? &deadline : NULL,
		 &wait_mask);
	top_flush(t);
	if (fd != STDIN_FILENO)
		close(fd);
	return 0;
}

/*
 * Output
 */

static char *u64_cell(uint64_t v)
{
	return xasprintf("%" PRIu64, v);
}

static char *acc_cell(const struct acc *a)
{
	return a->ovf ? NULL : u64_cell(a->v);
}

static struct libscols_table *top_table(const struct pgtfree *pf, int table)
{
	struct libscols_table *tb = new_table(pf, top_table_name[table]);
	int i;

	for (i = 0; i < NR_TOP_COLS; i++)
		if (top_columns[i].table == table)
			add_column(tb, top_columns[i].name, 0,
				   top_columns[i].string ? 0 : SCOLS_FL_RIGHT,
				   top_columns[i].string ? SCOLS_JSON_STRING :
				   SCOLS_JSON_NUMBER);
	return tb;
}

static struct libscols_line *new_line(struct libscols_table *tb)
{
	struct libscols_line *ln = scols_table_new_line(tb, NULL);

	if (!ln)
		oom();
	return ln;
}

static void top_summary_row(const struct pgtfree *pf, const struct top *t,
			    struct libscols_table *tb)
{
	struct libscols_line *ln = new_line(tb);
	double secs = t->seconds;
	bool have = t->have_seconds;

	if (!have && t->have_ts) {
		secs = (double)(t->ts_max - t->ts_min) / 1e9;
		have = true;
	}
	set_cell(pf, ln, TC_SECONDS, have ? double_cell_prec(pf, secs, 3) :
		 NULL);
	set_cell(pf, ln, TC_EVENTS, u64_cell(t->events));
	set_cell(pf, ln, TC_LOST, t->lost_unknown ? NULL : u64_cell(t->lost));
	set_cell(pf, ln, TC_MALFORMED, u64_cell(t->malformed));
	set_cell(pf, ln, TC_PENDING_MAX, t->have_pending ?
		 u64_cell(t->pending_max) : NULL);
}

static void top_caller_row(const struct pgtfree *pf,
			   const struct top_entry *e,
			   struct libscols_table *tb)
{
	struct libscols_line *ln = new_line(tb);
	const int c = TC_CALLER;

	set_cell(pf, ln, TC_CALLER - c, xstrdup(e->name));
	set_cell(pf, ln, TC_MODULE - c, e->module ? xstrdup(e->module) : NULL);
	set_cell(pf, ln, TC_FREES - c, u64_cell(e->frees));
	set_cell(pf, ln, TC_QUEUED - c, acc_cell(&e->queued));
	set_cell(pf, ln, TC_FREED_SYNC - c, acc_cell(&e->freed_sync));
}

static void top_reason_row(const struct pgtfree *pf,
			   const struct top_entry *e,
			   struct libscols_table *tb)
{
	struct libscols_line *ln = new_line(tb);
	const int c = TC_REASON;
	bool inv = e->invalidations > 0;

	set_cell(pf, ln, TC_REASON - c, xstrdup(e->name));
	set_cell(pf, ln, TC_BATCHES - c, u64_cell(e->batches));
	set_cell(pf, ln, TC_PAGES - c, acc_cell(&e->pages));
	set_cell(pf, ln, TC_AVG - c, e->pages.ovf ? NULL :
		 double_cell(pf, (double)e->pages.v / (double)e->batches));
	set_cell(pf, ln, TC_MIN - c, u64_cell(e->min));
	set_cell(pf, ln, TC_MAX - c, u64_cell(e->max));
	set_cell(pf, ln, TC_INVALIDATIONS - c, u64_cell(e->invalidations));
	set_cell(pf, ln, TC_INV_AVG_US - c, inv && !e->inv_ns.ovf ?
		 double_cell(pf, (double)e->inv_ns.v /
			     (double)e->invalidations / 1000.0) : NULL);
	set_cell(pf, ln, TC_INV_MAX_US - c, inv ?
		 double_cell(pf, (double)e->inv_max_ns / 1000.0) : NULL);
	set_cell(pf, ln, TC_MMS - c, acc_cell(&e->mms));
}

/*
 * The JSON of @tb without its outer braces: '   "name": [...]', or
 * '   "name": []' for a table without rows.  NULL if libsmartcols printed
 * something else.
 */
static char *json_member(struct libscols_table *tb, const char *name,
			 size_t rows)
{
	char *s = NULL, *body;
	size_t len;

	if (!rows)
		return xasprintf("   \"%s\": []", name);
	if (scols_print_table_to_string(tb, &s) != 0 || !s) {
		free(s);
		return NULL;
	}
	len = strlen(s);
	while (len && s[len - 1] == '\n')
		len--;
	if (len < 4 || strncmp(s, "{\n", 2) || s[len - 1] != '}') {
		free(s);
		return NULL;
	}
	len--;
	while (len > 2 && s[len - 1] == '\n')
		len--;
	body = xasprintf("%.*s", (int)(len - 2), s + 2);
	free(s);
	return body;
}

/*
 * Three tables: the summary, the callers, the batches by reason; a table
 * without rows is left out (after a blank line each).  JSON: one object
 * with the three arrays.
 */
static void top_print(struct pgtfree *pf, const struct top *t)
{
	struct libscols_table *tb[NR_TOP_TABLES];
	struct top_entry **callers, **reasons;
	size_t rows[NR_TOP_TABLES], i;
	int k;

	for (k = 0; k < NR_TOP_TABLES; k++)
		tb[k] = top_table(pf, k);
	top_summary_row(pf, t, tb[TT_SUMMARY]);
	rows[TT_SUMMARY] = 1;
	callers = top_sorted(&t->callers, cmp_callers);
	for (i = 0; i < t->callers.n; i++)
		top_caller_row(pf, callers[i], tb[TT_CALLERS]);
	rows[TT_CALLERS] = t->callers.n;
	reasons = top_sorted(&t->reasons, cmp_reasons);
	for (i = 0; i < t->reasons.n; i++)
		top_reason_row(pf, reasons[i], tb[TT_BATCHES]);
	rows[TT_BATCHES] = t->reasons.n;
	free(callers);
	free(reasons);

	if (pf->format == FMT_JSON) {
		char *m[NR_TOP_TABLES];
		bool ok = true;

		for (k = 0; k < NR_TOP_TABLES; k++) {
			m[k] = json_member(tb[k], top_table_name[k], rows[k]);
			ok = ok && m[k];
		}
		if (ok)
			printf("{\n%s,\n%s,\n%s\n}\n", m[TT_SUMMARY],
			       m[TT_CALLERS], m[TT_BATCHES]);
		else
			fail(pf, EXIT_FAILURE, "cannot format JSON");
		for (k = 0; k < NR_TOP_TABLES; k++)
			free(m[k]);
	} else {
		for (k = 0; k < NR_TOP_TABLES; k++) {
			if (!rows[k])
				continue;
			if (k > 0)
				putchar('\n');
			if (scols_print_table(tb[k]) != 0 && !pf->status)
				fail(pf, EXIT_FAILURE,
				     "cannot print the table");
		}
	}
	for (k = 0; k < NR_TOP_TABLES; k++)
		scols_unref_table(tb[k]);
}

/* "top -l": the columns of top and the table of each */
static int list_top_columns(struct pgtfree *pf)
{
	struct libscols_table *tb = new_table(pf, "columns");
	struct libscols_line *ln;
	size_t i;

	add_column(tb, "NAME", 0, 0, SCOLS_JSON_STRING);
	add_column(tb, "TABLE", 0, 0, SCOLS_JSON_STRING);
	add_column(tb, "DESCRIPTION", 0, 0, SCOLS_JSON_STRING);
	for (i = 0; i < NR_TOP_COLS; i++) {
		ln = new_line(tb);
		set_cell(pf, ln, 0, xstrdup(top_columns[i].name));
		set_cell(pf, ln, 1,
			 xstrdup(top_table_name[top_columns[i].table]));
		set_cell(pf, ln, 2, xstrdup(top_columns[i].help));
	}
	return print_table(pf, tb);
}

static int cmd_top(struct pgtfree *pf, double duration, const char *input)
{
	struct top t;
	int rc;

	top_init(&t);
	if (input)
		rc = top_input(pf, &t, input, duration);
	else
		rc = top_live(pf, &t, duration);
	if (rc) {
		top_free(&t);
		return pf->status;
	}
	if (t.malformed && !t.events)
		fail(pf, EX_DATAERR,
		     "%s: no pgtable_free event in it could be parsed: %"
		     PRIu64 " malformed line%s, the first (line %" PRIu64
		     "): '%s'", t.src, t.malformed, t.malformed == 1 ? "" :
		     "s", t.bad_lineno, t.bad_text);
	top_print(pf, &t);
	top_free(&t);
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
	{ "output-all",   no_argument,       NULL, OPT_OUTPUT_ALL },
	{ "bytes",        no_argument,       NULL, 'b' },
	{ "format",       required_argument, NULL, OPT_FORMAT },
	{ "interval",     required_argument, NULL, 'i' },
	{ "count",        required_argument, NULL, 'c' },
	{ "timestamp",    no_argument,       NULL, 't' },
	{ "duration",     required_argument, NULL, 'd' },
	{ "input",        required_argument, NULL, OPT_INPUT },
	{ "list-columns", no_argument,       NULL, 'l' },
	{ "sysroot",      required_argument, NULL, OPT_SYSROOT },
	{ "help",         no_argument,       NULL, 'h' },
	{ "version",      no_argument,       NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

/* '-': non-options come back in order as option 1; ':': missing arg */
static const char optstring[] = "-:Jrno:bi:c:td:lhV";

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

/* --help: 0, or 1 after a write error (a full disk) */
static int print_help(struct pgtfree *pf)
{
	size_t i;

	fputs("Usage:\n"
	      " pgtfree [options] [status]\n"
	      " pgtfree [options] watch [-i <seconds>] [-c <count>] [-t]\n"
	      " pgtfree [options] mode [async|sync]\n"
	      " pgtfree [options] drain\n"
	      " pgtfree [options] top [-d <seconds>] [--input <file>]\n"
	      "\n"
	      "Show and control asynchronous freeing of kernel page tables.\n"
	      "\n"
	      "Commands:\n"
	      " status    show the mode and the counters (default)\n"
	      " watch     print deltas and rates every interval\n"
	      " mode      print the mode, or set it to async or sync\n"
	      " drain     free all pending page tables now\n"
	      " top       who frees kernel page tables, and the batches, "
	      "from trace events\n"
	      "\n"
	      "Options:\n"
	      " -J, --json             use JSON output format\n"
	      " -r, --raw              use raw output format\n"
	      " -n, --noheadings       don't print headings\n"
	      " -o, --output <list>    output columns (+<list> adds to "
	      "the default)\n"
	      "     --output-all       output all columns\n"
	      " -b, --bytes            print sizes in bytes, not in "
	      "human-readable form\n"
	      "     --format <format>  table, raw, json or prometheus\n"
	      " -i, --interval <secs>  watch: seconds between lines "
	      "(default 1, fractions ok)\n"
	      " -c, --count <count>    watch: stop after <count> lines\n"
	      " -t, --timestamp        watch: a time column first\n"
	      " -d, --duration <secs>  top: trace this long (default: until "
	      "interrupted)\n"
	      "     --input <file>     top: read a recorded trace (- for "
	      "stdin)\n"
	      " -l, --list-columns     list the status columns (top's after "
	      "'top') and exit\n"
	      "     --sysroot <dir>    use <dir> instead of / to find "
	      "/sys\n"
	      " -h, --help             display this help\n"
	      " -V, --version          display version\n"
	      "\n"
	      "Available output columns (* = default):\n", stdout);
	for (i = 0; i < NR_COLUMNS; i++)
		printf(" %c%16s  %s\n", columns[i].dflt ? '*' : ' ',
		       columns[i].name, columns[i].help);
	fputs("\nExit status: 0 ok, 1 failure, 64 usage, 65 bad data, "
	      "66 not a root with sysfs\nor no input file, 69 no kernel "
	      "support or no tracefs, 73 cannot create the\nftrace instance, "
	      "77 permission denied or write refused.  See pgtfree(8).\n",
	      stdout);
	return close_stdout(pf);
}

static int column_by_name(const char *name, size_t len)
{
	int i;

	for (i = 0; i < NR_COLUMNS; i++) {
		if (strlen(columns[i].name) == len &&
		    strncasecmp(columns[i].name, name, len) == 0)
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
		for (i = 0; i < NR_COLUMNS; i++)
			if (columns[i].dflt)
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
	add_column(tb, "FILE", 0, 0, SCOLS_JSON_STRING);
	add_column(tb, "DESCRIPTION", 0, 0, SCOLS_JSON_STRING);
	for (i = 0; i < NR_COLUMNS; i++) {
		ln = scols_table_new_line(tb, NULL);
		if (!ln)
			oom();
		set_cell(pf, ln, 0, xstrdup(columns[i].name));
		set_cell(pf, ln, 1, xstrdup(columns[i].dflt ? "yes" : "no"));
		set_cell(pf, ln, 2, *columns[i].file ?
			 xstrdup(columns[i].file) : NULL);
		set_cell(pf, ln, 3, xstrdup(columns[i].help));
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
	struct pgtfree pf = { .format = FMT_TABLE, .rootfd = -1, .dirfd = -1 };
	const char *sysroot = "", *outarg = NULL, *intarg = NULL;
	const char *cntarg = NULL, *want_mode = NULL, *durarg = NULL;
	const char *input = NULL;
	unsigned int used = 0, bad;
	char **args;
	int c, nargs = 0, cmd = CMD_STATUS, rc, fmt = -1;
	bool listcols = false, allcols = false, rootarg = false;
	double interval = 1.0, duration = 0;
	uint64_t count = 0;
	size_t i, len;

	init_columns();

	/*
	 * pre-scan: with -J (or --format json) anywhere on the line, even a
	 * usage error is reported as JSON
	 */
	opterr = 0;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1)
		if (c == 'J' ||
		    (c == OPT_FORMAT && strcmp(optarg, "json") == 0))
			json_errors = true;
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
		case OPT_OUTPUT_ALL:
			allcols = true;
			used |= O_OUTPUT_ALL;
			break;
		case 't':
			pf.timestamp = true;
			used |= O_TIMESTAMP;
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
		case 'd':
			durarg = optarg;
			used |= O_DURATION;
			break;
		case OPT_INPUT:
			input = optarg;
			used |= O_INPUT;
			break;
		case 'l':
			listcols = true;
			break;
		case OPT_SYSROOT:
			sysroot = optarg;
			rootarg = true;
			break;
		case 'h':
			free(args);
			return print_help(&pf);	/* 0 or 1 */
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
		if (nargs > 0 && strcmp(args[0], command_name[CMD_TOP]) == 0)
			rc = list_top_columns(&pf);
		else
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
		for (i = 0; !(bad & (1U << i)); i++)
			;
		rc = usage_error("option %s cannot be used with '%s'",
				 option_bitname[i], command_name[cmd]);
		goto out;
	}
	if (pf.format == FMT_PROM) {
		if (cmd != CMD_STATUS) {
			rc = usage_error("--format prometheus is only for "
					 "'status'");
			goto out;
		}
		if (used & (O_OUTPUT | O_OUTPUT_ALL | O_NOHEAD | O_BYTES)) {
			rc = usage_error("--output, --output-all, --noheadings "
					 "and --bytes cannot be used with "
					 "--format prometheus");
			goto out;
		}
	}
	if (outarg && allcols) {
		rc = usage_error("--output and --output-all are mutually "
				 "exclusive");
		goto out;
	}

	if (intarg && !parse_interval(intarg, &interval)) {
		char *q = quote_value(intarg, strlen(intarg));

		rc = usage_error("invalid interval '%s': use seconds from "
				 "0.01 to 86400", q);
		free(q);
		goto out;
	}
	if (durarg && !parse_interval(durarg, &duration)) {
		char *q = quote_value(durarg, strlen(durarg));

		rc = usage_error("invalid duration '%s': use seconds from "
				 "0.01 to 86400", q);
		free(q);
		goto out;
	}
	if (input && rootarg) {
		rc = usage_error("--input and --sysroot are mutually "
				 "exclusive: --input reads a recorded trace");
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
		for (i = 0; i < NR_COLUMNS; i++)
			if (allcols || columns[i].dflt)
				pf.cols[pf.ncols++] = (int)i;
	}

	/* "/" and "" mean the real root; drop trailing slashes */
	len = strlen(sysroot);
	while (len > 0 && sysroot[len - 1] == '/')
		len--;
	pf.root = xasprintf("%.*s", (int)len, sysroot);
	pf.dir = xasprintf("%s%s", pf.root, PGTFREE_SYSFS);

	pf.pagesize = sysconf(_SC_PAGESIZE);
	if (pf.pagesize <= 0)
		pf.pagesize = 4096;

	switch (cmd) {
	case CMD_STATUS:
		rc = cmd_status(&pf);
		break;
	case CMD_WATCH:
		rc = cmd_watch(&pf, interval, count);
		break;
	case CMD_MODE:
		rc = cmd_mode(&pf, want_mode);
		break;
	case CMD_TOP:
		rc = cmd_top(&pf, duration, input);
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
	if (pf.dirfd >= 0)
		close(pf.dirfd);
	if (pf.rootfd >= 0)
		close(pf.rootfd);
	free(pf.root);
	free(pf.dir);
	free(args);
	return rc;
}
