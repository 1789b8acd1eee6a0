// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memory, the one number parser, sizes, time and signals.  Nothing here
 * reads or writes a file: the unit tests link it directly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pgtfree.h"

volatile sig_atomic_t got_signal;
bool json_errors;

void oom(void)
{
	/* no allocation here: a fixed message in either format */
	if (json_errors)
		fputs("{\"error\":{\"message\":\"out of memory\",\"code\":1}}\n",
		      stderr);
	else
		fputs("pgtfree: out of memory\n", stderr);
	exit(EXIT_FAILURE);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		oom();
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		oom();
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

/*
 * A value read from the kernel or given by the user, made safe to quote:
 * one trailing newline dropped, printable ASCII kept, other bytes as
 * \xNN, at most QUOTE_MAX bytes followed by "...".
 */
char *quote_value(const char *buf, size_t len)
{
	char *out = xcalloc(QUOTE_MAX * 4 + 4, 1), *p = out;
	size_t i, n = len;

	if (n && buf[n - 1] == '\n')
		n--;
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
		memcpy(p, "...", 4);
	return out;
}

char *quote_str(const char *s)
{
	return quote_value(s, strlen(s));
}

/*
 * The number parser: decimal digits [s, e), not empty, at most @max.
 * Everything that reads a whole number goes through it.
 */
bool parse_uint(const char *s, const char *e, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (s >= e)
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

/* a count on the command line: 1 or more */
bool parse_count(const char *s, uint64_t *v)
{
	return parse_uint(s, s + strlen(s), UINT64_MAX, v) && *v > 0;
}

/* "<digits>[.<digits>]" seconds in [@min, @max] */
bool parse_seconds(const char *s, double min, double max, double *v)
{
	const char *dot = strchr(s, '.'), *end = s + strlen(s);
	uint64_t whole = 0, frac = 0;
	double x, scale = 1;
	const char *p;

	if (dot == s && dot + 1 == end)
		return false;
	if (dot != s && !parse_uint(s, dot ? dot : end, 1000000000, &whole))
		return false;
	if (dot && dot + 1 < end) {
		if (end - dot - 1 > 9 || !parse_uint(dot + 1, end, UINT64_MAX,
						     &frac))
			return false;
		for (p = dot + 1; p < end; p++)
			scale *= 10;
	}
	x = (double)whole + (double)frac / scale;
	if (x < min || x > max)
		return false;
	*v = x;
	return true;
}

/*
 * "4K", "1.5M": powers of 1024, one decimal when it is not 0.  A value
 * that would print as 1024.0 of a unit is shown in the next one.
 */
char *human_size(uint64_t bytes)
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

char *u64_str(uint64_t v)
{
	return xasprintf("%" PRIu64, v);
}

/*
 * @decimals for people; @exact (JSON): the shortest form that reads back
 * as the same double.
 */
char *double_str(double v, int decimals, bool exact)
{
	char *s;
	int prec;

	if (!exact)
		return xasprintf("%.*f", decimals, v);
	for (prec = 15; prec < 17; prec++) {
		s = xasprintf("%.*g", prec, v);
		if (strtod(s, NULL) == v)
			return s;
		free(s);
	}
	return xasprintf("%.17g", v);
}

/*
 * Time
 */
double ts_sec(const struct timespec *ts)
{
	return (double)ts->tv_sec + (double)ts->tv_nsec / 1e9;
}

void ts_add(struct timespec *ts, double sec)
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
int ts_cmp(const struct timespec *a, const struct timespec *b)
{
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? -1 : 1;
	if (a->tv_nsec != b->tv_nsec)
		return a->tv_nsec < b->tv_nsec ? -1 : 1;
	return 0;
}

void ts_sub(struct timespec *d, const struct timespec *a,
	    const struct timespec *b)
{
	d->tv_sec = a->tv_sec - b->tv_sec;
	d->tv_nsec = a->tv_nsec - b->tv_nsec;
	if (d->tv_nsec < 0) {
		d->tv_nsec += 1000000000L;
		d->tv_sec--;
	}
}

/*
 * Signals that end watch and top: blocked, and delivered only inside
 * ppoll() with *@wait_mask, so that none is lost between a check and a
 * sleep and none cuts a line in two.  A signal ignored on entry (nohup)
 * stays ignored.
 */
static void on_signal(int sig)
{
	got_signal = sig;
}

void signals_catch(const int *sigs, size_t n, sigset_t *wait_mask)
{
	struct sigaction sa, old;
	sigset_t block;
	size_t i;

	sigemptyset(&block);
	for (i = 0; i < n; i++)
		sigaddset(&block, sigs[i]);
	sigprocmask(SIG_BLOCK, &block, wait_mask);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < n; i++) {
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		sigaction(sigs[i], &sa, NULL);
		sigdelset(wait_mask, sigs[i]);
	}
}

/*
 * One of @sigs arrived or is pending: ppoll() that finds a descriptor
 * ready returns with the signal still pending, so a source that is never
 * empty would keep it from being delivered.
 */
bool signal_seen(const int *sigs, size_t n)
{
	sigset_t set;
	size_t i;

	if (got_signal)
		return true;
	if (sigpending(&set) != 0)
		return false;
	for (i = 0; i < n; i++)
		if (sigismember(&set, sigs[i]))
			return true;
	return false;
}

/* Sleep until @deadline (CLOCK_MONOTONIC); 1 when a signal came. */
int sleep_until(const struct timespec *deadline, const sigset_t *mask)
{
	struct timespec now, rem;

	for (;;) {
		if (got_signal)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ts_cmp(&now, deadline) >= 0)
			return 0;
		ts_sub(&rem, deadline, &now);
		ppoll(NULL, 0, &rem, mask);
	}
}
