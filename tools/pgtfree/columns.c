// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tables and raw output go through libsmartcols, JSON through json-c:
 * each row is kept as the cells' text and typed by its column.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libsmartcols.h>

#include "columns.h"

static int col_by_name(const struct colset *cs, const char *name,
		       size_t len)
{
	size_t i;

	for (i = 0; i < cs->n; i++)
		if (strlen(cs->col[i].name) == len &&
		    !strncasecmp(cs->col[i].name, name, len))
			return (int)i;
	return -1;
}

void cols_default(const struct colset *cs, bool all, struct colsel *sel)
{
	size_t i;

	sel->n = 0;
	for (i = 0; i < cs->n && sel->n < MAX_COLS; i++)
		if (all || cs->col[i].dflt)
			sel->id[sel->n++] = (int)i;
}

/* -o LIST, or -o +LIST for more than the default: 0 or EX_USAGE */
int cols_parse(const struct colset *cs, const char *arg, const char *cmd,
	       struct colsel *sel)
{
	const char *p = arg, *end;

	sel->n = 0;
	if (*p == '+') {
		cols_default(cs, false, sel);
		p++;
	}
	if (!*p)
		return usage_error(cmd, "no columns given to --output");
	for (;;) {
		int id;

		end = strchrnul(p, ',');
		id = col_by_name(cs, p, end - p);
		if (id < 0) {
			char *q = quote_value(p, end - p);
			int rc = usage_error(cmd, "unknown column: '%s' "
					     "(pgtfree %s%s-H lists them)", q,
					     cmd ? cmd : "", cmd ? " " : "");

			free(q);
			return rc;
		}
		if (sel->n >= MAX_COLS)
			return usage_error(cmd, "too many columns");
		sel->id[sel->n++] = id;
		if (!*end)
			return 0;
		p = end + 1;
	}
}

struct table {
	const struct pgtfree	*pf;
	const struct colset	*cs;
	struct colsel		sel;
	char			**cell;		/* rows * sel.n */
	size_t			rows;
};

struct table *table_new(const struct pgtfree *pf, const struct colset *cs,
			const struct colsel *sel)
{
	struct table *t = xcalloc(1, sizeof(*t));

	t->pf = pf;
	t->cs = cs;
	if (sel)
		t->sel = *sel;
	else
		cols_default(cs, true, &t->sel);
	return t;
}

size_t table_rows(const struct table *t)
{
	return t->rows;
}

/* a row: cells[i] for the i-th selected column, malloc'd, NULL: absent */
void table_row(struct table *t, char **cells)
{
	size_t n = t->sel.n;
	char **c = realloc(t->cell, (t->rows + 1) * n * sizeof(*c));

	if (!c && n)
		oom();
	t->cell = c;
	if (n)
		memcpy(c + t->rows * n, cells, n * sizeof(*c));
	t->rows++;
}

void table_free(struct table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->rows * t->sel.n; i++)
		free(t->cell[i]);
	free(t->cell);
	free(t);
}

static struct json_object *json_cell(enum coltype type, const char *s)
{
	switch (type) {
	case COL_STR:
		return json_object_new_string(s);
	case COL_BOOL:
		return json_object_new_boolean(!strcmp(s, "yes"));
	case COL_FLOAT:
		return json_object_new_double_s(strtod(s, NULL), s);
	default:
		return json_object_new_uint64(strtoull(s, NULL, 10));
	}
}

/* the rows as a JSON array of objects; absent cells are null */
struct json_object *table_json(struct table *t)
{
	struct json_object *a = json_object_new_array(), *o;
	size_t r, i;

	if (!a)
		oom();
	for (r = 0; r < t->rows; r++) {
		o = json_object_new_object();
		if (!o)
			oom();
		for (i = 0; i < t->sel.n; i++) {
			const struct colinfo *c = &t->cs->col[t->sel.id[i]];
			const char *s = t->cell[r * t->sel.n + i];

			json_object_object_add(o, c->key,
					       s ? json_cell(c->type, s) :
					       NULL);
		}
		json_object_array_add(a, o);
	}
	return a;
}

void json_print(struct json_object *o, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE;

	flags |= pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED :
		 JSON_C_TO_STRING_PLAIN;
	fputs(json_object_to_json_string_ext(o, flags), stdout);
	putchar('\n');
}

static void scols_print(struct table *t, bool blank_before)
{
	struct libscols_table *tb = scols_new_table();
	struct libscols_line *ln;
	size_t r, i;

	if (!tb)
		oom();
	scols_table_enable_raw(tb, t->pf->format == FMT_RAW);
	scols_table_enable_noheadings(tb, t->pf->noheadings);
	for (i = 0; i < t->sel.n; i++) {
		const struct colinfo *c = &t->cs->col[t->sel.id[i]];

		if (!scols_table_new_column(tb, c->name, 0, c->type == COL_STR ?
					    0 : SCOLS_FL_RIGHT))
			oom();
	}
	for (r = 0; r < t->rows; r++) {
		ln = scols_table_new_line(tb, NULL);
		if (!ln)
			oom();
		for (i = 0; i < t->sel.n; i++) {
			const char *s = t->cell[r * t->sel.n + i];

			if (scols_line_set_data(ln, i, s ? s : "-"))
				oom();
		}
	}
	if (blank_before)
		putchar('\n');
	if (scols_print_table(tb) != 0)
		report(EXIT_FAILURE, "cannot print the table");
	scols_unref_table(tb);
}

/* the table alone: text, or JSON {"<name>": [rows]} */
void table_print(struct table *t, bool blank_before)
{
	struct json_object *o;

	if (t->pf->format != FMT_JSON) {
		scols_print(t, blank_before);
		return;
	}
	o = json_object_new_object();
	if (!o)
		oom();
	json_object_object_add(o, t->cs->name, table_json(t));
	json_print(o, true);
	json_object_put(o);
}

/* the columns in a command's --help, a star for the default ones */
void cols_help(const struct colset *cs)
{
	size_t i;

	for (i = 0; i < cs->n; i++)
		printf(" %c%16s  %s\n", cs->col[i].dflt ? '*' : ' ',
		       cs->col[i].name, cs->col[i].help);
}

static const char *const type_name[] = {
	[COL_STR] = "<string>",
	[COL_NUM] = "<integer>",
	[COL_FLOAT] = "<float>",
	[COL_SIZE] = "<size>",
	[COL_BOOL] = "<boolean>",
};

static const struct colinfo list_cols[] = {
	{ "NAME", "name", "", COL_STR, true, 0, 0 },
	{ "TYPE", "type", "", COL_STR, true, 0, 0 },
	{ "DEFAULT", "default", "", COL_BOOL, true, 0, 0 },
	{ "TABLE", "table", "", COL_STR, false, 0, 0 },
	{ "DESCRIPTION", "description", "", COL_STR, true, 0, 0 },
};

static const struct colset list_set = {
	"columns", list_cols, ARRAY_SIZE(list_cols)
};

/* -H, --list-columns: the columns of @sets (their table when several) */
int cols_list(const struct pgtfree *pf, const struct colset *const *sets,
	      size_t nsets)
{
	struct colsel sel;
	struct table *t;
	size_t s, i;

	cols_default(&list_set, nsets > 1, &sel);
	t = table_new(pf, &list_set, &sel);
	for (s = 0; s < nsets; s++) {
		for (i = 0; i < sets[s]->n; i++) {
			const struct colinfo *c = &sets[s]->col[i];
			char *cells[ARRAY_SIZE(list_cols)];
			size_t k = 0;

			cells[k++] = xstrdup(c->name);
			cells[k++] = xstrdup(type_name[c->type]);
			cells[k++] = xstrdup(c->dflt ? "yes" : "no");
			if (nsets > 1)
				cells[k++] = xstrdup(sets[s]->name);
			cells[k++] = xstrdup(c->help);
			table_row(t, cells);
		}
	}
	table_print(t, false);
	table_free(t);
	return close_stdout();
}
