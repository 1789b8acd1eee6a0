// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live, top reads trace_pipe of an ftrace instance of its own,
 * instances/pgtfree-<pid>, with only events/pgtable_free enabled, so the
 * top-level tracing files are never touched; the instance is disabled and
 * removed on every way out but SIGKILL.  "top --cleanup" removes the
 * instances whose pgtfree is gone.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "pgtfree.h"
#include "top.h"
#include "top_trace.h"

#define TOP_POLL_MS	250	/* longest wait before reading trace_pipe */
#define TOP_EOF_MS	100	/* wait after an end of file on trace_pipe */
#define TOP_DRAIN_SEC	2	/* reading what is left after disabling */
#define ENABLE		"events/" TRACE_GROUP "/enable"
#define INST_PREFIX	"pgtfree-"

const int top_sigs[3] = { SIGINT, SIGTERM, SIGHUP };

/* where tracefs is looked for, below the root, in this order */
static const char *const tracefs_dirs[] = {
	"sys/kernel/tracing",
	"sys/kernel/debug/tracing",
};

static void trace_fail(const char *base, const char *rel, int err)
{
	char *path = xasprintf("%s/%s", base, rel);

	file_fail(path, err, ACC_TRACE);
	free(path);
}

/*
 * tracefs: the first of tracefs_dirs[] with an instances/ directory (a
 * mounted tracefs; an empty directory is where it is not mounted).
 */
static int find_tracefs(struct pgtfree *pf, struct top_trace *tr)
{
	bool mountpoint = false;
	size_t i;
	int fd, ifd;

	for (i = 0; i < ARRAY_SIZE(tracefs_dirs); i++) {
		fd = open_beneath(pf->rootfd, tracefs_dirs[i],
				  O_PATH | O_DIRECTORY);
		if (fd == -ENOENT || fd == -ENOTDIR)
			continue;
		tr->path = xasprintf("%s/%s", pf->root, tracefs_dirs[i]);
		if (fd < 0) {
			file_fail(tr->path, fd, ACC_TRACE);
			return exit_status();
		}
		ifd = open_beneath(fd, "instances", O_PATH | O_DIRECTORY);
		if (ifd >= 0) {
			tr->tfd = fd;
			tr->ifd = ifd;
			return 0;
		}
		close(fd);
		if (ifd != -ENOENT && ifd != -ENOTDIR) {
			trace_fail(tr->path, "instances", ifd);
			return exit_status();
		}
		mountpoint |= i == 0;
		free(tr->path);
		tr->path = NULL;
	}
	if (mountpoint)
		report(EX_UNAVAIL, "tracefs is not mounted on %s/%s: mount it "
		       "with 'mount -t tracefs nodev /sys/kernel/tracing'",
		       pf->root, tracefs_dirs[0]);
	else
		report(EX_UNAVAIL, "no tracefs: %s/%s does not exist (a "
		       "kernel without CONFIG_TRACING?)", pf->root,
		       tracefs_dirs[0]);
	return EX_UNAVAIL;
}

/* the owner of instance pgtfree-<pid> runs: a pgtfree with that PID */
static bool owner_alive(const char *name)
{
	char path[64], buf[4096], *p;
	uint64_t pid;
	size_t len;
	int fd;

	if (!parse_uint(name, name + strlen(name), 4194304, &pid) || !pid)
		return true;	/* not a name top makes: not ours to remove */
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return false;
	snprintf(path, sizeof(path), "/proc/%llu/cmdline",
		 (unsigned long long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	len = 0;
	while (len < sizeof(buf) - 1) {
		ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);

		if (r <= 0)
			break;
		len += r;
	}
	close(fd);
	buf[len] = '\0';
	/* the PID taken by another program: any word naming pgtfree */
	for (p = buf; p < buf + len; p += strlen(p) + 1) {
		const char *base = strrchr(p, '/');

		if (!strncmp(base ? base + 1 : p, "pgtfree", 7))
			return true;
	}
	return false;
}

/* disable and remove instance @name of tr->ifd; 0 or -errno */
static int remove_instance(struct top_trace *tr, const char *name)
{
	int fd = open_beneath(tr->ifd, name, O_PATH | O_DIRECTORY), rc;

	if (fd < 0)
		return fd;
	rc = write_file(fd, ENABLE, "0", TRACEFS_MAGIC);
	close(fd);
	if (rc && rc != -ENOENT)
		return rc;
	/* tracefs refuses (EBUSY) while a file of the instance is open */
	return unlinkat(tr->ifd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/*
 * The instances top made whose pgtfree is gone: removed when @remove,
 * else named in a warning.  Returns how many.
 */
static int stale_instances(struct top_trace *tr, bool remove)
{
	int fd = open_beneath(tr->ifd, ".", O_RDONLY | O_DIRECTORY), n = 0;
	struct dirent *d;
	DIR *dir;
	char *p;
	int rc;

	dir = fd < 0 ? NULL : fdopendir(fd);
	if (!dir) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((d = readdir(dir))) {
		if (strncmp(d->d_name, INST_PREFIX, strlen(INST_PREFIX)) ||
		    owner_alive(d->d_name + strlen(INST_PREFIX)))
			continue;
		n++;
		p = xasprintf("%s/instances/%s", tr->path, d->d_name);
		if (!remove) {
			fprintf(stderr, "pgtfree: %s is left from a pgtfree "
				"that is gone and may still be recording: "
				"remove it with 'pgtfree top --cleanup'\n", p);
		} else {
			rc = remove_instance(tr, d->d_name);
			if (rc)
				file_fail(p, rc, ACC_TRACE);
			else
				printf("removed %s\n", p);
		}
		free(p);
	}
	closedir(dir);
	return n;
}

int top_cleanup(struct pgtfree *pf)
{
	struct top_trace tr = { .tfd = -1, .ifd = -1, .instfd = -1,
				.pipefd = -1 };
	int rc = open_root(pf, "sys/kernel");

	if (!rc)
		rc = find_tracefs(pf, &tr);
	if (!rc && !stale_instances(&tr, true))
		printf("no ftrace instance of a pgtfree that is gone\n");
	top_trace_close(&tr, NULL);
	return rc ? rc : exit_status();
}

/* create, enable and open our instance: 0, or the exit status */
static int make_instance(struct top_trace *tr)
{
	struct statfs sfs;
	int rc;

	/* mkdir only on tracefs */
	if (fstatfs(tr->ifd, &sfs) < 0 || (long)sfs.f_type != TRACEFS_MAGIC) {
		trace_fail(tr->path, "instances", E_NOTKERNEL);
		return exit_status();
	}
	snprintf(tr->name, sizeof(tr->name), INST_PREFIX "%ld",
		 (long)getpid());
	tr->inst = xasprintf("%s/instances/%s", tr->path, tr->name);
	if (mkdirat(tr->ifd, tr->name, 0700) < 0) {
		if (errno == EEXIST)
			report(EX_CANTCREAT_, "cannot create the ftrace "
			       "instance %s: it exists (a pgtfree with this "
			       "PID in another PID namespace?)", tr->inst);
		else if (errno == EACCES || errno == EPERM)
			file_fail(tr->inst, -errno, ACC_TRACE);
		else
			report(EX_CANTCREAT_, "cannot create the ftrace "
			       "instance %s: %s", tr->inst, strerror(errno));
		return exit_status();
	}
	tr->created = true;
	tr->instfd = open_beneath(tr->ifd, tr->name, O_PATH | O_DIRECTORY);
	if (tr->instfd < 0) {
		file_fail(tr->inst, tr->instfd, ACC_TRACE);
		return exit_status();
	}
	rc = write_file(tr->instfd, ENABLE, "1", TRACEFS_MAGIC);
	if (rc) {
		trace_fail(tr->inst, ENABLE, rc);
		return exit_status();
	}
	tr->enabled = true;
	tr->pipefd = open_beneath(tr->instfd, "trace_pipe",
				  O_RDONLY | O_NONBLOCK | O_NOCTTY);
	if (tr->pipefd < 0) {
		trace_fail(tr->inst, "trace_pipe", tr->pipefd);
		tr->pipefd = -1;
		return exit_status();
	}
	return 0;
}

/*
 * tracefs, its pgtable_free events and our instance.  Signals are caught
 * from before the instance exists to its removal.
 */
int top_trace_open(struct pgtfree *pf, struct top_trace *tr,
		   sigset_t *wait_mask)
{
	int fd, rc;

	rc = open_root(pf, "sys/kernel");
	if (!rc)
		rc = find_tracefs(pf, tr);
	if (rc)
		return rc;
	fd = open_beneath(tr->tfd, "events/" TRACE_GROUP,
			  O_PATH | O_DIRECTORY);
	if (fd == -ENOENT || fd == -ENOTDIR) {
		report(EX_UNAVAIL, "this kernel has no pgtable_free trace "
		       "events (%s/events/%s not found)", tr->path,
		       TRACE_GROUP);
		return EX_UNAVAIL;
	}
	if (fd < 0) {
		trace_fail(tr->path, "events/" TRACE_GROUP, fd);
		return exit_status();
	}
	close(fd);
	stale_instances(tr, false);
	signals_catch(top_sigs, ARRAY_SIZE(top_sigs), wait_mask);
	return make_instance(tr);
}

/* What is left in trace_pipe after the events were disabled. */
static void drain_pipe(struct top *t, int fd)
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
		else if (r == 0 || errno != EINTR)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (ts_cmp(&now, &end) < 0);
}

/* Disable and remove the instance, whatever was set up of it. */
void top_trace_close(struct top_trace *tr, struct top *t)
{
	int rc;

	if (tr->enabled) {
		rc = write_file(tr->instfd, ENABLE, "0", TRACEFS_MAGIC);
		if (rc)
			trace_fail(tr->inst, ENABLE, rc);
		tr->enabled = false;
	}
	if (tr->pipefd >= 0) {
		if (t) {
			drain_pipe(t, tr->pipefd);
			top_flush(t);
		}
		close(tr->pipefd);
	}
	if (tr->instfd >= 0)
		close(tr->instfd);
	if (tr->created && unlinkat(tr->ifd, tr->name, AT_REMOVEDIR) < 0)
		report(EXIT_FAILURE, "cannot remove the ftrace instance %s: "
		       "%s; remove it with 'pgtfree top --cleanup'", tr->inst,
		       strerror(errno));
	if (tr->ifd >= 0)
		close(tr->ifd);
	if (tr->tfd >= 0)
		close(tr->tfd);
	free(tr->path);
	free(tr->inst);
	memset(tr, 0, sizeof(*tr));
	tr->tfd = -1;
	tr->ifd = -1;
	tr->instfd = -1;
	tr->pipefd = -1;
}

/*
 * Read @fd into @t until its end (a file; trace_pipe has none),
 * @deadline (CLOCK_MONOTONIC, or NULL) or a signal, delivered only inside
 * ppoll() (or seen pending).  trace_pipe (@live) is read after every
 * poll, which waits TOP_POLL_MS at most; an end of file there is retried
 * after TOP_EOF_MS.  Returns 1 at the end of a file, 0 at the deadline
 * or a signal, -1 after a read error (reported).
 */
int top_pump(struct top *t, int fd, bool live,
	     const struct timespec *deadline, const sigset_t *mask)
{
	static char chunk[65536];
	struct timespec now, wait, *wp;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t r;
	long ms = TOP_POLL_MS;

	for (;;) {
		if (signal_seen(top_sigs, ARRAY_SIZE(top_sigs)))
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		wp = NULL;
		if (deadline) {
			if (ts_cmp(&now, deadline) >= 0)
				return 0;
			ts_sub(&wait, deadline, &now);
			wp = &wait;
		}
		if (live && (!wp || wait.tv_sec > 0 ||
			     wait.tv_nsec > ms * 1000000L)) {
			wait.tv_sec = 0;
			wait.tv_nsec = ms * 1000000L;
			wp = &wait;
		}
		if (ms == TOP_EOF_MS) {
			ppoll(NULL, 0, wp, mask);
			ms = TOP_POLL_MS;
			continue;
		}
		if (ppoll(&pfd, 1, wp, mask) <= 0 && !live)
			continue;
		r = read(fd, chunk, sizeof(chunk));
		if (r > 0)
			top_feed(t, chunk, (size_t)r);
		else if (r == 0 && !live)
			return 1;
		else if (r == 0)
			ms = TOP_EOF_MS;
		else if (errno != EAGAIN && errno != EINTR)
			break;
	}
	report(EXIT_FAILURE, "%s: cannot read: %s", t->src, strerror(errno));
	return -1;
}
