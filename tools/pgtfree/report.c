// SPDX-License-Identifier: GPL-2.0-only
/*
 * Errors: one reporter, one errno table, one exit status per cause.  The
 * first error reported decides the exit status.  With -J, each error is
 * a line {"error":{"message":...,"code":N}} on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "pgtfree.h"

static int status;
static int out_errno;	/* the first failed write to stdout */

int exit_status(void)
{
	return status;
}

void set_exit_status(int code)
{
	if (!status)
		status = code;
}

static void emit(int code, const char *msg)
{
	struct json_object *o, *e;

	if (json_errors) {
		o = json_object_new_object();
		e = json_object_new_object();
		if (!o || !e)
			oom();
		json_object_object_add(e, "message",
				       json_object_new_string(msg));
		json_object_object_add(e, "code", json_object_new_int(code));
		json_object_object_add(o, "error", e);
		fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						     JSON_C_TO_STRING_NOSLASHESCAPE),
		      stderr);
		fputc('\n', stderr);
		json_object_put(o);
		return;
	}
	fprintf(stderr, "pgtfree: %s\n", msg);
}

static void vreport(int code, const char *fmt, va_list ap)
{
	char *msg = xvasprintf(fmt, ap);

	emit(code, msg);
	free(msg);
	set_exit_status(code);
}

void report(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(code, fmt, ap);
	va_end(ap);
}

/*
 * A problem with a file read again and again (watch): reported when it
 * appears, not on every line; bit @bit of pf->reported says it was.
 */
void report_once(struct pgtfree *pf, unsigned int bit, int code,
		 const char *fmt, ...)
{
	va_list ap;

	set_exit_status(code);
	if (pf->reported & bit)
		return;
	pf->reported |= bit;
	va_start(ap, fmt);
	vreport(code, fmt, ap);
	va_end(ap);
}

/* Report a usage error; returns the exit status for it. */
int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (json_errors)
		emit(EX_USAGE_, msg);
	else
		fprintf(stderr, "pgtfree: %s\nTry 'pgtfree %s%s--help' for "
			"more information.\n", msg, cmd ? cmd : "",
			cmd ? " " : "");
	free(msg);
	set_exit_status(EX_USAGE_);
	return EX_USAGE_;
}

/*
 * The errno table: what went wrong with a file and the exit status,
 * whatever the access.  Permission errors say what needs root.
 */
static const struct {
	int		err;
	int		code;
	const char	*text;
} errtab[] = {
	{ -EACCES,	EX_PERM,	"permission denied" },
	{ -EPERM,	EX_PERM,	"permission denied" },
	{ -ELOOP,	EX_PERM,	"a symbolic link in the path, not "
					"followed" },
	{ -EXDEV,	EX_PERM,	"the path leads out of the root, not "
					"followed" },
	{ E_NOTKERNEL,	EX_PERM,	"refusing to write: not a file of the "
					"kernel's (not on sysfs or tracefs)" },
	{ -ENOENT,	EX_UNAVAIL,	"not provided by this kernel" },
	{ -EINVAL,	EX_DATA,	"the kernel rejected the value "
					"(EINVAL)" },
	{ -EISDIR,	EX_DATA,	"a directory, not a file" },
	{ -ENOTDIR,	EX_DATA,	"a path through a file, not a "
					"directory" },
	{ E_NOTREG,	EX_DATA,	"not a regular file" },
	{ E_TOOLONG,	EX_DATA,	"value too long (more than 4096 "
					"bytes)" },
	{ E_CHANGED,	EXIT_FAILURE,	"replaced while being opened" },
};

static const char *const needs_root[] = {
	[ACC_READ] = "reading it needs root (try sudo)",
	[ACC_WRITE] = "writing needs root (try sudo)",
	[ACC_TRACE] = "tracing needs root (try sudo)",
};

int file_error_code(int err, enum access acc)
{
	size_t i;

	(void)acc;
	for (i = 0; i < ARRAY_SIZE(errtab); i++)
		if (errtab[i].err == err)
			return errtab[i].code;
	return EXIT_FAILURE;
}

char *file_error_text(int err, enum access acc)
{
	size_t i;

	if ((err == -EACCES || err == -EPERM) && geteuid() != 0)
		return xasprintf("permission denied: %s", needs_root[acc]);
	for (i = 0; i < ARRAY_SIZE(errtab); i++)
		if (errtab[i].err == err)
			return xstrdup(errtab[i].text);
	return xstrdup(err < 0 && err > -4096 ? strerror(-err) :
		       "unknown error");
}

/* "PATH: what went wrong", with the exit status of the table */
void file_fail(const char *path, int err, enum access acc)
{
	char *text = file_error_text(err, acc);

	report(file_error_code(err, acc), "%s: %s", path, text);
	free(text);
}

/*
 * stdout: a write error is reported once, with the errno of the write
 * that failed.  A reader that went away (EPIPE, with SIGPIPE ignored as
 * services run) ends the output quietly, as SIGPIPE would.
 */
static bool reader_gone(void)
{
	struct pollfd p = { .fd = STDOUT_FILENO, .events = 0 };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLERR);
}

int flush_stdout(void)
{
	if (out_errno)
		return -1;
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	out_errno = errno;
	if (!out_errno)
		out_errno = reader_gone() ? EPIPE : EIO;
	if (out_errno != EPIPE)
		report(EXIT_FAILURE, "write error: %s", strerror(out_errno));
	return -1;
}

int close_stdout(void)
{
	flush_stdout();
	return exit_status();
}
