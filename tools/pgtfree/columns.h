/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The column model of status, drain, watch and top: a table of column
 * descriptions per command, -o to choose, -H to list, and one way to
 * print rows as a table, raw or JSON.
 */
#ifndef PGTFREE_COLUMNS_H
#define PGTFREE_COLUMNS_H

#include <json-c/json.h>

#include "pgtfree.h"

enum coltype {
	COL_STR,
	COL_NUM,	/* a whole number */
	COL_FLOAT,	/* one decimal for people, exact in JSON */
	COL_SIZE,	/* bytes: "1.5M" for people, a number in JSON */
	COL_BOOL,	/* "yes" or "no", true or false in JSON */
};

struct colinfo {
	const char	*name;	/* the header, and the name -o takes */
	const char	*key;	/* JSON */
	const char	*help;
	enum coltype	type;
	bool		dflt;
	int		arg;	/* the command's: a counter, a kind */
	unsigned int	needs;	/* files read for it (status) */
};

struct colset {
	const char		*name;	/* JSON: the table's name */
	const struct colinfo	*col;
	size_t			n;
};

struct colsel {
	int	id[MAX_COLS];
	size_t	n;
};

int cols_parse(const struct colset *cs, const char *arg, const char *cmd,
	       struct colsel *sel);
void cols_default(const struct colset *cs, bool all, struct colsel *sel);
void cols_help(const struct colset *cs);
int cols_list(const struct pgtfree *pf, const struct colset *const *sets,
	      size_t nsets);

struct table;
struct table *table_new(const struct pgtfree *pf, const struct colset *cs,
			const struct colsel *sel);
void table_row(struct table *t, char **cells);
struct json_object *table_json(struct table *t);
void table_print(struct table *t, bool blank_before);
void table_free(struct table *t);
size_t table_rows(const struct table *t);
void json_print(struct json_object *o, bool pretty);

#endif
