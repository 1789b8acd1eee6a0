// SPDX-License-Identifier: GPL-2.0-only
/*
 * fake-tracefs.so: LD_PRELOAD for the host tests of "pgtfree top".
 *
 * Makes instances/ of a fake tracefs tree (plain directories) behave as
 * tracefs does for the calls pgtfree makes:
 *
 *   mkdirat(instances, NAME)   creates NAME with events/pgtable_free/enable
 *                              ("0") and trace_pipe, as tracefs populates
 *                              a new instance
 *   unlinkat(instances, NAME, AT_REMOVEDIR)
 *                              EBUSY while the process has a file below
 *                              NAME open (tracefs refuses to remove an
 *                              instance in use), else removes NAME with
 *                              what is in it
 *
 * Both are logged, one line each, with what enable held at the rmdir:
 * "mkdir NAME", "rmdir NAME enable=0", "rmdir NAME EBUSY".
 *
 * env: FAKE_TRACEFS        the fake tracefs directory (.../sys/kernel/tracing)
 *      FAKE_TRACEFS_LOG    the log
 *      FAKE_TRACEFS_PIPE   a file copied to the instance's trace_pipe (then
 *                          read to its end and again every 100 ms); "none":
 *                          no trace_pipe; "dir": a directory (read fails);
 *                          "zero": a /dev/zero node, never empty as a busy
 *                          trace_pipe (root only)
 *      FAKE_TRACEFS_NOEVENTS=1  the instance has no events/pgtable_free
 *      FAKE_TRACEFS_STOP=1  the process stops itself (SIGSTOP) after the
 *                          mkdir, for a test to send it a signal before it
 *                          reads anything
 *
 * Anything else is passed through untouched.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <signal.h>
#include <unistd.h>

typedef int mkdirat_fn(int dirfd, const char *name, mode_t mode);
typedef int unlinkat_fn(int dirfd, const char *name, int flags);

static void logf_(const char *fmt, ...)
{
	const char *path = getenv("FAKE_TRACEFS_LOG");
	va_list ap;
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "a");
	if (!f)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

/* @dirfd is the fake tree's instances/ directory; its path in @buf */
static int is_instances(int dirfd, char *buf, size_t size)
{
	char link[64], want[PATH_MAX], real[PATH_MAX];
	const char *root = getenv("FAKE_TRACEFS");
	ssize_t n;

	if (!root || !realpath(root, real))
		return 0;
	snprintf(want, sizeof(want), "%s/instances", real);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	n = readlink(link, buf, size - 1);
	if (n < 0)
		return 0;
	buf[n] = '\0';
	return strcmp(buf, want) == 0;
}

static int put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int copy(const char *from, const char *to)
{
	char buf[65536];
	int in, out, rc = 0;
	ssize_t n;

	in = open(from, O_RDONLY);
	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			rc = -1;
	close(in);
	close(out);
	return n < 0 ? -1 : rc;
}

static void populate(const char *inst)
{
	const char *pipe = getenv("FAKE_TRACEFS_PIPE");
	char p[PATH_MAX];

	if (!getenv("FAKE_TRACEFS_NOEVENTS")) {
		snprintf(p, sizeof(p), "%s/events", inst);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/events/pgtable_free", inst);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/events/pgtable_free/enable", inst);
		put(p, "0\n");
	}
	snprintf(p, sizeof(p), "%s/tracing_on", inst);
	put(p, "1\n");
	snprintf(p, sizeof(p), "%s/trace_pipe", inst);
	if (!pipe || !strcmp(pipe, "none"))
		return;
	if (!strcmp(pipe, "dir"))
		mkdir(p, 0755);
	else if (!strcmp(pipe, "zero"))
		mknod(p, S_IFCHR | 0600, makedev(1, 5));
	else
		copy(pipe, p);
}

int mkdirat(int dirfd, const char *name, mode_t mode)
{
	mkdirat_fn *real = (mkdirat_fn *)dlsym(RTLD_NEXT, "mkdirat");
	char dir[PATH_MAX], inst[PATH_MAX];
	int rc = real(dirfd, name, mode), e = errno;

	if (rc == 0 && is_instances(dirfd, dir, sizeof(dir))) {
		snprintf(inst, sizeof(inst), "%s/%s", dir, name);
		populate(inst);
		logf_("mkdir %s", name);
		if (getenv("FAKE_TRACEFS_STOP"))
			raise(SIGSTOP);
	}
	errno = e;
	return rc;
}

/* a file of this process open below @inst */
static int busy(const char *inst)
{
	char link[300], target[PATH_MAX];
	size_t len = strlen(inst);
	struct dirent *d;
	DIR *dir = opendir("/proc/self/fd");
	int found = 0;
	ssize_t n;

	if (!dir)
		return 0;
	while (!found && (d = readdir(dir))) {
		if (d->d_name[0] == '.' || atoi(d->d_name) == dirfd(dir))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", d->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		found = (size_t)n > len && !strncmp(target, inst, len) &&
			target[len] == '/';
	}
	closedir(dir);
	return found;
}

static int rm(const char *path, const struct stat *st, int flag,
	      struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int unlinkat(int dirfd, const char *name, int flags)
{
	unlinkat_fn *real = (unlinkat_fn *)dlsym(RTLD_NEXT, "unlinkat");
	char dir[PATH_MAX], inst[PATH_MAX], p[PATH_MAX], val[64] = "-";
	ssize_t n;
	int fd;

	if (!(flags & AT_REMOVEDIR) || !is_instances(dirfd, dir, sizeof(dir)))
		return real(dirfd, name, flags);
	snprintf(inst, sizeof(inst), "%s/%s", dir, name);
	if (busy(inst)) {
		logf_("rmdir %s EBUSY", name);
		errno = EBUSY;
		return -1;
	}
	snprintf(p, sizeof(p), "%s/events/pgtable_free/enable", inst);
	fd = open(p, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, val, sizeof(val) - 1);
		val[n > 0 ? n : 0] = '\0';
		if (n > 0 && val[n - 1] == '\n')
			val[n - 1] = '\0';
		close(fd);
	}
	logf_("rmdir %s enable=%s", name, val);
	/* a real tracefs instance goes with everything in it */
	nftw(inst, rm, 16, FTW_DEPTH | FTW_PHYS);
	return access(inst, F_OK) == 0 ? real(dirfd, name, flags) : 0;
}
