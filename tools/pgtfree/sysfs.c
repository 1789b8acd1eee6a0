// SPDX-License-Identifier: GPL-2.0-only
/*
 * The files of the kernel, beneath the root (/ or --sysroot):
 *
 *   sys/kernel/mm/pgtable_free/mode    "[async] sync\n"; write a word
 *   sys/kernel/mm/pgtable_free/drain   write "1"
 *   sys/kernel/mm/pgtable_free/stats/  one decimal and "\n" per file
 *
 * Every path is opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS):
 * whatever a tree saved from another system holds, nothing outside of it
 * is read or written.  Only files on sysfs (tracefs for "top") are
 * written.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/openat2.h>

#include <zlib.h>

#include "pgtfree.h"

/*
 * The counters.  They are read one file at a time while the kernel keeps
 * updating them, in the order of .read: a counter bumped after another is
 * read first, so that the usual skew errs on the side of the invariants
 * freed >= batches >= invalidations, queued >= freed + pending and
 * pending_max >= pending.
 */
const struct counter counters[NR_COUNTERS] = {
	[CT_QUEUED] = { "queued", "pages put on the deferred list", true, false, 9 },
	[CT_FREED] = { "freed", "pages freed from the list: work item, drain or OOM notifier", true,
		       false, 6 },
	[CT_PENDING] = { "pending", "pages queued and not yet freed", true, true, 7 },
	[CT_PENDING_MAX] = { "pending_max", "highest pending since boot", true, true, 8 },
	[CT_BATCHES] = { "batches", "times the list was emptied and a page freed", false, false,
			 5 },
	[CT_INVALIDATIONS] = { "invalidations",
			       "IOMMU invalidations issued for SVA, one per batch at most: "
			       "the costly operation", false, false, 0 },
	[CT_INVALIDATED_MMS] = { "invalidated_mms",
				 "SVA address spaces those invalidations covered, summed",
				 false, false, 1 },
	[CT_FREED_SYNC] = { "freed_sync",
			    "pages freed at once: mode sync, no SVA address space bound",
			    true, false, 2 },
	[CT_OOM_FREED] = { "oom_freed", "pages freed by the OOM notifier", true, false, 4 },
	[CT_OOM_EVENTS] = { "oom_events", "times the OOM notifier freed pages", false, false, 3 },
};

/* a component that is a symbolic link gives -ELOOP */
static int link_check(int dirfd, const char *comp, int err)
{
	struct stat st;

	if ((err == -ENOTDIR || err == -ELOOP) &&
	    fstatat(dirfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISLNK(st.st_mode))
		return -ELOOP;
	return err;
}

/*
 * Without openat2 (before Linux 5.6, some seccomp filters, valgrind 3.19):
 * one component at a time, none followed, ".." refused.
 */
static int walk_beneath(int dirfd, const char *rel, int flags)
{
	char comp[NAME_MAX + 1];
	const char *p = rel, *end;
	int fd = dirfd, nfd = -1, err;
	struct stat st;
	bool last;

	if (*rel == '/')
		return -EXDEV;
	for (;;) {
		end = strchrnul(p, '/');
		last = !*end;
		if (end - p > NAME_MAX)
			err = -ENAMETOOLONG;
		else if (end - p == 2 && !strncmp(p, "..", 2))
			err = -EXDEV;
		else
			err = 0;
		if (!err) {
			snprintf(comp, sizeof(comp), "%.*s", (int)(end - p), p);
			nfd = openat(fd, comp, (last ? flags : O_PATH |
				     O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC);
			err = link_check(fd, comp, nfd < 0 ? -errno : 0);
		}
		/* O_PATH | O_NOFOLLOW opens a symbolic link itself */
		if (!err && fstat(nfd, &st) == 0 && S_ISLNK(st.st_mode)) {
			close(nfd);
			err = -ELOOP;
		}
		if (fd != dirfd)
			close(fd);
		if (err || last)
			return err ? err : nfd;
		fd = nfd;
		p = end + 1;
	}
}

/* @rel beneath @dirfd: a descriptor, or -errno (-ELOOP: a symlink) */
int open_beneath(int dirfd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));

	if (fd < 0 && errno == ENOSYS)
		return walk_beneath(dirfd, rel, flags);
	return fd < 0 ? -errno : (int)fd;
}

/*
 * Read the whole file @rel, less than @size bytes, into @buf.  Returns 0,
 * -errno, E_NOTREG or E_TOOLONG.  Never blocks on a FIFO or a device.
 */
int read_file(int dirfd, const char *rel, char *buf, size_t size,
	      size_t *len)
{
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd, rc = 0;

	*len = 0;
	fd = open_beneath(dirfd, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (S_ISDIR(st.st_mode))
		rc = -EISDIR;
	else if (!S_ISREG(st.st_mode))
		rc = E_NOTREG;
	while (!rc && n < size) {
		r = read(fd, buf + n, size - n);
		if (r < 0 && errno != EINTR)
			rc = -errno;
		if (r == 0)
			break;
		if (r > 0)
			n += r;
	}
	if (!rc && n >= size)
		rc = E_TOOLONG;
	close(fd);
	*len = n;
	return rc;
}

/*
 * Write @val to @rel with one write(2), so that the errno the kernel
 * returns is the one reported.  Only a regular file of the kernel's file
 * system @magic is written.  Returns 0, -errno or an E_ code.
 */
int write_file(int dirfd, const char *rel, const char *val, long magic)
{
	size_t len = strlen(val);
	struct stat st, fst;
	struct statfs sfs;
	ssize_t n;
	int fd, rc = 0;

	fd = open_beneath(dirfd, rel, O_PATH);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sfs) < 0)
		rc = -errno;
	else if (S_ISDIR(st.st_mode))
		rc = -EISDIR;
	else if (!S_ISREG(st.st_mode))
		rc = E_NOTREG;
	else if ((long)sfs.f_type != magic)
		rc = E_NOTKERNEL;
	close(fd);
	if (rc)
		return rc;

	fd = open_beneath(dirfd, rel, O_WRONLY | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fd;
	if (fstat(fd, &fst) < 0)
		rc = -errno;
	else if (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino)
		rc = E_CHANGED;
	while (!rc) {
		n = write(fd, val, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = -errno;
		else if ((size_t)n != len)
			rc = -EIO;
		break;
	}
	if (close(fd) < 0 && !rc)
		rc = -errno;
	return rc;
}

/*
 * The root and its @need (a directory): 0, or 66 for a --sysroot that is
 * not the root of a system with sysfs.
 */
int open_root(struct pgtfree *pf, const char *need)
{
	const char *root = *pf->root ? pf->root : "/";
	int fd;

	pf->rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pf->rootfd < 0) {
		report(EX_NOROOT, "--sysroot %s: %s", root, strerror(errno));
		return EX_NOROOT;
	}
	fd = open_beneath(pf->rootfd, need, O_PATH | O_DIRECTORY);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (*pf->root)
		report(EX_NOROOT, "%s/%s not found: --sysroot %s is not the "
		       "root of a system with sysfs", pf->root, need,
		       pf->root);
	else
		report(EX_NOROOT, "/%s not found: is sysfs mounted on /sys?",
		       need);
	return EX_NOROOT;
}

enum kconfig { KC_UNKNOWN, KC_N, KC_Y };

/* the line of PGTFREE_KCONFIG in an open kernel configuration */
static enum kconfig kconfig_scan(gzFile f)
{
	static const char want[] = PGTFREE_KCONFIG "=";
	char line[256];

	while (gzgets(f, line, sizeof(line)))
		if (!strncmp(line, want, sizeof(want) - 1))
			return line[sizeof(want) - 1] == 'y' ? KC_Y : KC_N;
	/* an option without a prompt that is off is not listed at all */
	return KC_N;
}

/*
 * Whether the running kernel (the root's) defers kernel page-table frees,
 * from its configuration: <root>/proc/config.gz, else
 * <root>/boot/config-<release>.  *@src names the file read.
 */
static enum kconfig kconfig_of(const struct pgtfree *pf, char **src)
{
	char rel[128], release[96];
	enum kconfig kc = KC_UNKNOWN;
	size_t len;
	gzFile f;
	int fd, i;

	for (i = 0; i < 2 && kc == KC_UNKNOWN; i++) {
		if (i == 0) {
			snprintf(rel, sizeof(rel), "proc/config.gz");
		} else {
			if (read_file(pf->rootfd, "proc/sys/kernel/osrelease",
				      release, sizeof(release) - 1, &len) ||
			    len < 2 || release[len - 1] != '\n' ||
			    memchr(release, '/', len))
				break;
			snprintf(rel, sizeof(rel), "boot/config-%.*s",
				 (int)len - 1, release);
		}
		fd = open_beneath(pf->rootfd, rel, O_RDONLY | O_NONBLOCK);
		if (fd < 0)
			continue;
		/* gzip or plain text: zlib reads both */
		f = gzdopen(fd, "rb");
		if (!f) {
			close(fd);
			continue;
		}
		kc = kconfig_scan(f);
		gzclose(f);
		*src = xasprintf("%s/%s", pf->root, rel);
	}
	return kc;
}

/* the directory is absent: why, in the words an administrator needs */
static void no_feature(const struct pgtfree *pf, const char *dir)
{
	char *src = NULL;

	switch (kconfig_of(pf, &src)) {
	case KC_Y:
		report(EX_UNAVAIL, "%s not found: this kernel defers freeing "
		       "its page tables (%s=y in %s) but has no pgtable_free "
		       "interface, which only a kernel with the pgtable_free "
		       "patches provides; there is nothing to show or set",
		       dir, PGTFREE_KCONFIG, src);
		break;
	case KC_N:
		report(EX_UNAVAIL, "%s not found: this kernel was built "
		       "without %s (%s): it frees its page tables at once, "
		       "nothing is deferred", dir, PGTFREE_KCONFIG, src);
		break;
	default:
		report(EX_UNAVAIL, "%s not found: this kernel either frees "
		       "its page tables at once (built without %s) or lacks "
		       "the pgtable_free interface; its configuration "
		       "(/proc/config.gz, /boot/config-RELEASE) is not there "
		       "to tell which", dir, PGTFREE_KCONFIG);
		break;
	}
	free(src);
}

/* the feature's directory in pf->dirfd: 0, or the exit status */
int open_feature(struct pgtfree *pf)
{
	char *dir;
	int rc;

	rc = open_root(pf, "sys/kernel/mm");
	if (rc)
		return rc;
	pf->dirfd = open_beneath(pf->rootfd, PGTFREE_SYSFS,
				 O_PATH | O_DIRECTORY);
	if (pf->dirfd >= 0)
		return 0;
	dir = xasprintf("%s/%s", pf->root, PGTFREE_SYSFS);
	if (pf->dirfd == -ENOENT || pf->dirfd == -ENOTDIR)
		no_feature(pf, dir);
	else
		file_fail(dir, pf->dirfd, ACC_READ);
	free(dir);
	pf->dirfd = -1;
	return exit_status();
}

/* "<decimal>\n": NULL, or why the value is malformed */
const char *parse_counter(const char *buf, size_t len, uint64_t *val)
{
	const char *nl = memchr(buf, '\n', len);

	if (len == 0)
		return "empty file";
	if (!nl && parse_uint(buf, buf + len, UINT64_MAX, val))
		return "truncated value (no newline)";
	if (!nl || nl + 1 != buf + len ||
	    !parse_uint(buf, nl, UINT64_MAX, val)) {
		const char *p = buf;

		while (p < buf + len && *p >= '0' && *p <= '9')
			p++;
		if (p > buf && (p == nl || p == buf + len))
			return "number out of range";
		return "not a number";
	}
	return NULL;
}

/* a word of the mode file: [a-z][a-z0-9_]*, less than MODE_WORD_LEN */
bool mode_word_ok(const char *w, size_t len)
{
	size_t i;

	if (len == 0 || len >= MODE_WORD_LEN || w[0] < 'a' || w[0] > 'z')
		return false;
	for (i = 0; i < len; i++)
		if (!(w[i] >= 'a' && w[i] <= 'z') &&
		    !(w[i] >= '0' && w[i] <= '9') && w[i] != '_')
			return false;
	return true;
}

int mode_find(const struct mode *m, const char *w)
{
	int i;

	for (i = 0; i < m->nwords; i++)
		if (strcmp(m->word[i], w) == 0)
			return i;
	return -1;
}

/*
 * The mode file: words separated by spaces, exactly one of them, the
 * active one, in brackets ("[async] sync\n"), as THP's "enabled".  The
 * list holds async and sync; other words (a newer kernel's) are kept.
 */
const char *parse_mode(const char *buf, size_t len, struct mode *m)
{
	const char *p, *end, *w;
	int nsel = 0;
	size_t wlen;

	memset(m, 0, sizeof(*m));
	m->active = -1;
	if (len == 0)
		return "empty file";
	if (buf[len - 1] != '\n' || memchr(buf, '\n', len) != buf + len - 1)
		return "truncated value (no newline)";
	end = buf + len - 1;
	for (p = buf; p < end; p = w + wlen) {
		bool sel;

		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		for (w = p; p < end && *p != ' '; p++)
			;
		wlen = p - w;
		sel = wlen >= 2 && w[0] == '[' && w[wlen - 1] == ']';
		if (sel) {
			w++;
			wlen -= 2;
		}
		if (!mode_word_ok(w, wlen) || m->nwords == MODE_WORDS)
			return "unrecognised mode";
		memcpy(m->word[m->nwords], w, wlen);
		if (mode_find(m, m->word[m->nwords]) >= 0)
			return "unrecognised mode";
		if (sel) {
			nsel++;
			m->active = m->nwords;
			wlen++;
		}
		m->nwords++;
	}
	if (nsel != 1 || mode_find(m, "async") < 0 ||
	    mode_find(m, "sync") < 0) {
		m->active = -1;
		return "unrecognised mode";
	}
	return NULL;
}

const char *mode_active(const struct mode *m)
{
	return m->active >= 0 ? m->word[m->active] : NULL;
}

/*
 * Read file @rel (bit @bit) below @dirfd: 1 when there is a value to
 * parse, 0 when it is absent (an older kernel) or unusable (reported).
 */
static int load(struct pgtfree *pf, int dirfd, const char *name,
		const char *rel, unsigned int bit, char *buf, size_t *len)
{
	int rc = read_file(dirfd, name, buf, ATTR_MAX + 1, len);
	char *text;

	if (rc == 0)
		return 1;
	if (rc == -ENOENT) {
		pf->reported &= ~bit;
		return 0;
	}
	text = file_error_text(rc, ACC_READ);
	report_once(pf, bit, file_error_code(rc, ACC_READ), "%s: %s", rel,
		    text);
	free(text);
	return 0;
}

/* a malformed value of @rel, quoted */
static void bad_value(struct pgtfree *pf, unsigned int bit, const char *rel,
		      const char *why, const char *buf, size_t len)
{
	char *q = quote_value(buf, len);

	if (len)
		report_once(pf, bit, EX_DATA, "%s: %s: '%s'", rel, why, q);
	else
		report_once(pf, bit, EX_DATA, "%s: %s", rel, why);
	free(q);
}

static void read_counter(struct pgtfree *pf, int statsfd, struct sample *s,
			 int i)
{
	char buf[ATTR_MAX + 1], rel[64];
	const char *why;
	size_t len;

	s->have[i] = false;
	snprintf(rel, sizeof(rel), "stats/%s", counters[i].name);
	if (!load(pf, statsfd, counters[i].name, rel, BIT(i), buf, &len)) {
		s->bad |= pf->reported & BIT(i);
		return;
	}
	why = parse_counter(buf, len, &s->val[i]);
	if (why) {
		bad_value(pf, BIT(i), rel, why, buf, len);
		s->bad |= BIT(i);
		return;
	}
	pf->reported &= ~BIT(i);
	s->have[i] = true;
}

/* the mode into s->mode (active -1 if absent or bad) */
void read_mode(struct pgtfree *pf, struct sample *s)
{
	char buf[ATTR_MAX + 1];
	const char *why;
	size_t len;

	memset(&s->mode, 0, sizeof(s->mode));
	s->mode.active = -1;
	if (!load(pf, pf->dirfd, "mode", "mode", NEED_MODE, buf, &len)) {
		s->bad |= pf->reported & NEED_MODE;
		return;
	}
	why = parse_mode(buf, len, &s->mode);
	if (why) {
		bad_value(pf, NEED_MODE, "mode", why, buf, len);
		s->bad |= NEED_MODE;
		return;
	}
	pf->reported &= ~NEED_MODE;
}

/*
 * Read what @need names (NEED_MODE, counter bits) and nothing else: a
 * file a command does not show cannot decide its exit status.
 */
void read_sample(struct pgtfree *pf, struct sample *s, unsigned int need)
{
	int i, r, fd = -1;
	char *text;

	memset(s, 0, sizeof(*s));
	s->mode.active = -1;
	if (need & NEED_MODE)
		read_mode(pf, s);
	if (need & NEED_COUNTERS) {
		fd = open_beneath(pf->dirfd, "stats", O_PATH | O_DIRECTORY);
		if (fd >= 0) {
			pf->reported &= ~REPORTED_STATS;
		} else {
			text = file_error_text(fd, ACC_READ);
			report_once(pf, REPORTED_STATS,
				    fd == -ENOENT ? EX_DATA :
				    file_error_code(fd, ACC_READ),
				    "stats: %s", fd == -ENOENT ?
				    "not found: no counters (an incomplete "
				    "tree?)" : text);
			free(text);
			s->bad |= need & NEED_COUNTERS;
		}
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

/* pages times the page size: false when absent or it would overflow */
bool pages_bytes(const struct pgtfree *pf, const struct sample *s, int ct,
		 uint64_t *out)
{
	uint64_t ps = (uint64_t)pf->pagesize;

	if (!s->have[ct] || s->val[ct] > UINT64_MAX / ps)
		return false;
	*out = s->val[ct] * ps;
	return true;
}

/* seconds since boot from <root>/proc/uptime, or -1 */
double read_uptime(const struct pgtfree *pf)
{
	char buf[128], *end;
	size_t len;
	double up;

	if (read_file(pf->rootfd, "proc/uptime", buf, sizeof(buf) - 1,
		      &len) != 0)
		return -1;
	buf[len] = '\0';
	errno = 0;
	up = strtod(buf, &end);
	if (errno || end == buf || !isfinite(up) || up <= 0)
		return -1;
	return up;
}
