/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pgtfree(8): what the commands share.
 *
 * util.c     memory, the number parser, sizes, time, signals
 * report.c   error messages, the errno table, exit codes
 * sysfs.c    files beneath the root, samples of the counters, the mode
 * columns.c  the column model: -o, -H, tables and JSON
 * cmd_*.c    one file per command; top_*.c the trace side of "top"
 */
#ifndef PGTFREE_H
#define PGTFREE_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PGTFREE_VERSION	"0.2"
#define PGTFREE_SYSFS	"sys/kernel/mm/pgtable_free"
#define PGTFREE_KCONFIG	"CONFIG_ASYNC_KERNEL_PGTABLE_FREE"
#define SYSFS_MAGIC	0x62656572	/* <linux/magic.h> */
#define TRACEFS_MAGIC	0x74726163

#define ATTR_MAX	4096	/* largest value accepted (sysfs: a page) */
#define QUOTE_MAX	40	/* bytes of a bad value quoted */
#define MAX_COLS	64	/* -o entries */

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define BIT(n)		(1U << (n))

/* exit status: one per cause, the same whether reading or writing */
#define EXIT_ATTENTION	2	/* status --check: something looks wrong */
#define EX_USAGE_	64	/* the command line */
#define EX_DATA		65	/* a value malformed, or rejected by the kernel */
#define EX_NOROOT	66	/* --sysroot is no root with sysfs; no --input */
#define EX_UNAVAIL	69	/* no kernel interface, tracefs or events */
#define EX_CANTCREAT_	73	/* the ftrace instance cannot be created */
#define EX_PERM		77	/* permission denied, or an access refused */

/* file access results besides -errno */
#define E_NOTREG	(-10001)	/* exists but is not a regular file */
#define E_TOOLONG	(-10002)	/* more than ATTR_MAX bytes */
#define E_NOTKERNEL	(-10003)	/* not on sysfs (tracefs): not written */
#define E_CHANGED	(-10004)	/* replaced while it was opened */

enum format { FMT_TABLE, FMT_RAW, FMT_JSON, FMT_PROM };

/* the counters, one file each in stats/ */
enum {
	CT_QUEUED,
	CT_FREED,
	CT_PENDING,
	CT_PENDING_MAX,
	CT_BATCHES,
	CT_INVALIDATIONS,
	CT_INVALIDATED_MMS,
	CT_FREED_SYNC,
	CT_OOM_FREED,
	CT_OOM_EVENTS,
	NR_COUNTERS
};

struct counter {
	const char	*name;
	const char	*help;
	bool		pages;		/* counts pages */
	bool		gauge;		/* goes down too */
	unsigned char	read;		/* read order, 0 first */
};

extern const struct counter counters[NR_COUNTERS];

/* bits in a "needs" mask: counters use BIT(index) */
#define NEED_MODE	BIT(NR_COUNTERS)
#define NEED_COUNTERS	(BIT(NR_COUNTERS) - 1)
#define REPORTED_STATS	BIT(NR_COUNTERS + 1)

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
	unsigned int	bad;		/* files that could not be used */
	struct mode	mode;
	struct timespec	mono;
	struct timespec	real;
};

/* the options every command shares, and what they decided */
struct pgtfree {
	const char	*root;		/* --sysroot without trailing "/", "" */
	int		rootfd;		/* <root>, O_PATH */
	int		dirfd;		/* <root>/PGTFREE_SYSFS, O_PATH */
	enum format	format;
	bool		noheadings;
	bool		bytes;
	long		pagesize;
	unsigned int	reported;	/* files with an error reported */
};

/* util.c */
__attribute__((noreturn)) void oom(void);
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);
char *xvasprintf(const char *fmt, va_list ap);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *quote_value(const char *buf, size_t len);
char *quote_str(const char *s);
bool parse_uint(const char *s, const char *e, uint64_t max, uint64_t *v);
bool parse_count(const char *s, uint64_t *v);
bool parse_seconds(const char *s, double min, double max, double *v);
char *human_size(uint64_t bytes);
char *u64_str(uint64_t v);
char *double_str(double v, int decimals, bool exact);
double ts_sec(const struct timespec *ts);
void ts_add(struct timespec *ts, double sec);
int ts_cmp(const struct timespec *a, const struct timespec *b);
void ts_sub(struct timespec *d, const struct timespec *a,
	    const struct timespec *b);
extern volatile sig_atomic_t got_signal;
void signals_catch(const int *sigs, size_t n, sigset_t *wait_mask);
bool signal_seen(const int *sigs, size_t n);
int sleep_until(const struct timespec *deadline, const sigset_t *mask);

/* report.c */
enum access { ACC_READ, ACC_WRITE, ACC_TRACE };
extern bool json_errors;
int exit_status(void);
void set_exit_status(int code);
void report(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void report_once(struct pgtfree *pf, unsigned int bit, int code,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
int file_error_code(int err, enum access acc);
char *file_error_text(int err, enum access acc);
void file_fail(const char *path, int err, enum access acc);
int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int flush_stdout(void);
int close_stdout(void);

/* sysfs.c */
int open_beneath(int dirfd, const char *rel, int flags);
int read_file(int dirfd, const char *rel, char *buf, size_t size,
	      size_t *len);
int write_file(int dirfd, const char *rel, const char *val, long magic);
int open_root(struct pgtfree *pf, const char *need);
int open_feature(struct pgtfree *pf);
const char *parse_counter(const char *buf, size_t len, uint64_t *val);
const char *parse_mode(const char *buf, size_t len, struct mode *m);
const char *mode_active(const struct mode *m);
int mode_find(const struct mode *m, const char *w);
bool mode_word_ok(const char *w, size_t len);
void read_mode(struct pgtfree *pf, struct sample *s);
void read_sample(struct pgtfree *pf, struct sample *s, unsigned int need);
bool pages_bytes(const struct pgtfree *pf, const struct sample *s, int ct,
		 uint64_t *out);
double read_uptime(const struct pgtfree *pf);

/*
 * The command line of a command: argv[0] is its name; parse_opts() takes
 * the options every command has and hands the others to @handle, then
 * leaves the operands in argv[optind..].
 */
struct option;

struct cmd_args {
	int		argc;
	char		**argv;
	bool		named;		/* the command was named */
	bool		all;		/* --output-all */
	const char	*output;	/* -o */
	bool		list;		/* -H */
};

struct cmd_opts {
	const char		*cmd;
	int			operands;	/* at most */
	const char		*optstring;	/* the command's short options */
	const struct option	*longopts;	/* and long ones, or NULL */
	unsigned int		common;		/* OPT_* it takes too */
	int			(*handle)(void *ctx, int c, const char *arg);
	void			*ctx;
	void			(*help)(void);
};

#define OPT_COLUMNS	BIT(0)	/* -o, --output-all, -H */
#define OPT_BYTES	BIT(1)	/* -b */
#define OPT_PROM	BIT(2)	/* --format prometheus */
#define OPT_NOHEAD	BIT(3)	/* -n, --noheadings */

int parse_opts(struct pgtfree *pf, struct cmd_args *a,
	       const struct cmd_opts *o);
int extra_operand(const char *cmd, const char *arg);
int opt_seconds(const char *cmd, const char *what, const char *arg,
		double min, double *v);
int opt_count(const char *cmd, const char *what, const char *arg,
	      uint64_t *v);
int cmd_status(struct pgtfree *pf, struct cmd_args *a);
int cmd_mode(struct pgtfree *pf, struct cmd_args *a);
int cmd_drain(struct pgtfree *pf, struct cmd_args *a);
int cmd_watch(struct pgtfree *pf, struct cmd_args *a);
int cmd_top(struct pgtfree *pf, struct cmd_args *a);

#endif
