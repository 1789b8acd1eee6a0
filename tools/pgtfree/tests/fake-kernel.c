// SPDX-License-Identifier: GPL-2.0-only
/*
 * fake-kernel.so: LD_PRELOAD for the host tests.  Makes a fake tree of
 * plain files behave as the kernel's sysfs and tracefs do for the calls
 * pgtfree makes, so that pgtfree needs no path of its own for tests.
 *
 * sysfs (FAKE_SYSFS, the tree's sys/):
 *   fstatfs            SYSFS_MAGIC below FAKE_SYSFS (TRACEFS_MAGIC below
 *                      FAKE_TRACEFS)
 *   write mode         a word the file lists, with or without one "\n":
 *                      the file becomes the list with that word in
 *                      brackets, as the kernel prints it; anything else
 *                      fails with EINVAL.  FAKE_SYSFS_MODE=sticky: the
 *                      write succeeds and changes nothing; =einval: every
 *                      write fails with EINVAL
 *   write drain        "1" or "1\n": pending goes to 0, freed grows by it
 *                      and batches by one if it was not 0; else EINVAL.
 *                      FAKE_SYSFS_DRAIN=noop: succeeds, changes nothing
 *   read stats/NAME    with FAKE_SYSFS_SCRIPT=DIR and a file DIR/NAME: the
 *                      n-th read from the start gets line n of it (the
 *                      last line once they are used up), so that counters
 *                      move between two readings
 *
 * tracefs (FAKE_TRACEFS, .../sys/kernel/tracing):
 *   mkdirat(instances, NAME)   creates NAME with events/pgtable_free/enable
 *                              ("0") and trace_pipe, as tracefs populates
 *                              a new instance
 *   unlinkat(instances, NAME, AT_REMOVEDIR)
 *                              EBUSY while the process has a file below
 *                              NAME open, else removes NAME with what is
 *                              in it
 *
 * Writes, mkdir and rmdir are logged to FAKE_LOG, one line each:
 * "write mode sync", "write drain 1", "mkdir NAME", "rmdir NAME enable=0",
 * "rmdir NAME EBUSY".
 *
 * env: FAKE_TRACEFS_PIPE   a file copied to the instance's trace_pipe (then
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
#include <sys/vfs.h>
#include <sys/sysmacros.h>
#include <signal.h>
#include <unistd.h>

typedef int mkdirat_fn(int dirfd, const char *name, mode_t mode);
typedef int unlinkat_fn(int dirfd, const char *name, int flags);

static void logf_(const char *fmt, ...)
{
	const char *path = getenv("FAKE_LOG");
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

/*
 * sysfs
 */
#define SYSFS_MAGIC	0x62656572
#define TRACEFS_MAGIC	0x74726163
#define FEATURE		"/kernel/mm/pgtable_free/"

typedef ssize_t write_fn(int fd, const void *buf, size_t n);
typedef ssize_t read_fn(int fd, void *buf, size_t n);
typedef int fstatfs_fn(int fd, struct statfs *buf);

/* the path of @fd below the env directory @var, or NULL */
static const char *below(int fd, const char *var, char *buf, size_t size)
{
	const char *root = getenv(var);
	char link[64], real[PATH_MAX];
	size_t len;
	ssize_t n;

	if (!root || !realpath(root, real))
		return NULL;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, size - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	len = strlen(real);
	if (strncmp(buf, real, len) || (buf[len] != '/' && buf[len]))
		return NULL;
	return buf + len;
}

static unsigned long long get_num(const char *dir, const char *name)
{
	char p[PATH_MAX];
	unsigned long long v = 0;
	FILE *f;

	snprintf(p, sizeof(p), "%s/stats/%s", dir, name);
	f = fopen(p, "r");
	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* stdio: its writes do not come back through write() below */
static void set_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void set_num(const char *dir, const char *name, unsigned long long v)
{
	char p[PATH_MAX], t[32];

	snprintf(p, sizeof(p), "%s/stats/%s", dir, name);
	snprintf(t, sizeof(t), "%llu\n", v);
	set_text(p, t);
}

/* @val to the mode file @path: 0 or -1 (EINVAL) */
static int write_mode(const char *path, const char *val, size_t n)
{
	char cur[256] = "", out[300] = "", word[64], *w, *save;
	const char *mode;
	int found = 0;
	FILE *f;

	if (n && val[n - 1] == '\n')
		n--;
	if (n == 0 || n >= sizeof(word) || memchr(val, '\n', n) ||
	    memchr(val, '\0', n))
		return -1;
	memcpy(word, val, n);
	word[n] = '\0';
	f = fopen(path, "r");
	if (!f || !fgets(cur, sizeof(cur), f)) {
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	cur[strcspn(cur, "\n")] = '\0';
	for (w = strtok_r(cur, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (w[0] == '[') {
			w++;
			w[strlen(w) - 1] = '\0';
		}
		found |= !strcmp(w, word);
		snprintf(out + strlen(out), sizeof(out) - strlen(out),
			 strcmp(w, word) ? "%s%s" : "%s[%s]", *out ? " " : "",
			 w);
	}
	mode = getenv("FAKE_SYSFS_MODE");
	if (!found || (mode && !strcmp(mode, "einval")))
		return -1;
	if (mode && !strcmp(mode, "sticky"))
		return 0;
	strcat(out, "\n");
	set_text(path, out);
	return 0;
}

static int write_drain(const char *path, const char *val, size_t n)
{
	char dir[PATH_MAX];
	unsigned long long p;

	if (!(n == 1 || (n == 2 && val[1] == '\n')) || val[0] != '1')
		return -1;
	if (getenv("FAKE_SYSFS_DRAIN") &&
	    !strcmp(getenv("FAKE_SYSFS_DRAIN"), "noop"))
		return 0;
	snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(path, '/') - path),
		 path);
	p = get_num(dir, "pending");
	set_num(dir, "freed", get_num(dir, "freed") + p);
	set_num(dir, "batches", get_num(dir, "batches") + (p > 0));
	set_num(dir, "pending", 0);
	return 0;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	write_fn *real = (write_fn *)dlsym(RTLD_NEXT, "write");
	char path[PATH_MAX];
	const char *rel = below(fd, "FAKE_SYSFS", path, sizeof(path));
	int rc;

	if (!rel || strncmp(rel, FEATURE, strlen(FEATURE)))
		return real(fd, buf, n);
	rel += strlen(FEATURE);
	if (!strcmp(rel, "mode"))
		rc = write_mode(path, buf, n);
	else if (!strcmp(rel, "drain"))
		rc = write_drain(path, buf, n);
	else
		return real(fd, buf, n);
	logf_("%s %s %.*s", "write", rel, (int)strcspn(buf, "\n"),
	      (const char *)buf);
	if (rc < 0) {
		errno = EINVAL;
		return -1;
	}
	return (ssize_t)n;
}

/* the next scripted value of stats/@name, into the file */
static void script_step(const char *path, const char *name)
{
	static char names[16][32];
	static unsigned int next[16];
	const char *dir = getenv("FAKE_SYSFS_SCRIPT");
	char p[PATH_MAX], line[64], last[64] = "";
	unsigned int i, k;
	FILE *f;

	if (!dir)
		return;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "r");
	if (!f)
		return;
	for (k = 0; k < 16 && names[k][0] && strcmp(names[k], name); k++)
		;
	if (k == 16) {
		fclose(f);
		return;
	}
	snprintf(names[k], sizeof(names[k]), "%s", name);
	for (i = 0; i <= next[k] && fgets(line, sizeof(line), f); i++)
		strcpy(last, line);
	fclose(f);
	next[k]++;
	if (*last)
		set_text(path, last);
}

static void before_read(int fd)
{
	char path[PATH_MAX];
	const char *rel = below(fd, "FAKE_SYSFS", path, sizeof(path));

	if (rel && !strncmp(rel, FEATURE "stats/", strlen(FEATURE) + 6) &&
	    lseek(fd, 0, SEEK_CUR) == 0)
		script_step(path, rel + strlen(FEATURE) + 6);
}

ssize_t read(int fd, void *buf, size_t n)
{
	read_fn *real = (read_fn *)dlsym(RTLD_NEXT, "read");

	before_read(fd);
	return real(fd, buf, n);
}

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	read_fn *real = (read_fn *)dlsym(RTLD_NEXT, "read");

	(void)buflen;
	before_read(fd);
	return real(fd, buf, n);
}

int fstatfs(int fd, struct statfs *buf)
{
	fstatfs_fn *real = (fstatfs_fn *)dlsym(RTLD_NEXT, "fstatfs");
	char path[PATH_MAX];
	int rc = real(fd, buf);

	if (rc == 0 && below(fd, "FAKE_TRACEFS", path, sizeof(path)))
		buf->f_type = TRACEFS_MAGIC;
	else if (rc == 0 && below(fd, "FAKE_SYSFS", path, sizeof(path)))
		buf->f_type = SYSFS_MAGIC;
	return rc;
}

int fstatfs64(int fd, struct statfs64 *buf)
{
	return fstatfs(fd, (struct statfs *)buf);
}
