/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef PGTFREE_TOP_TRACE_H
#define PGTFREE_TOP_TRACE_H

#include <signal.h>

#include "pgtfree.h"
#include "top.h"

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

/* the signals that end top */
extern const int top_sigs[3];

int top_trace_open(struct pgtfree *pf, struct top_trace *tr,
		   sigset_t *wait_mask);
void top_trace_close(struct top_trace *tr, struct top *t);
int top_pump(struct top *t, int fd, bool live,
	     const struct timespec *deadline, const sigset_t *mask);
int top_cleanup(struct pgtfree *pf);

#endif
