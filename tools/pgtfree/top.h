/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * "top": the pgtable_free trace events summed up.  top_parse.c takes the
 * text of trace_pipe, trace, "trace-cmd report" or "perf script" and does
 * no I/O; top_trace.c reads a private ftrace instance; cmd_top.c shows it.
 */
#ifndef PGTFREE_TOP_H
#define PGTFREE_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRACE_GROUP	"pgtable_free"
#define TOP_LINE_MAX	4096	/* a longer line is malformed */
#define TOP_HASH	1024	/* buckets of the caller and reason tables */

/* a sum that is unknown once it no longer fits in 64 bits */
struct acc {
	uint64_t	v;
	bool		ovf;
};

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

void top_init(struct top *t);
void top_free(struct top *t);
void top_feed(struct top *t, const char *p, size_t n);
void top_flush(struct top *t);
struct top_entry **top_callers(const struct top *t);
struct top_entry **top_reasons(const struct top *t);

#endif
