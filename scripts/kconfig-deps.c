// SPDX-License-Identifier: GPL-2.0-only
/*
 * kconfig-deps: what Kconfig itself says of each bool and tristate symbol
 * of a configuration, one line each:
 *
 *   NAME VALUE DIR_DEP REV_DEP PROMPT DEPENDS SELECTED_BY DEFAULTS CHOICE SELECT_IF NEEDS
 *
 * VALUE, DIR_DEP (its "depends on", menus and ifs included) and REV_DEP
 * (what the symbols that select it give) are n, m or y; PROMPT is 1 when
 * the symbol has a prompt; DEPENDS lists the symbols of its direct
 * dependency (its prompts' conditions, and for a choice's value the
 * choice's dependency, too; a name may repeat), SELECTED_BY the symbols
 * that select it,
 * DEFAULTS those of its defaults and their conditions, comma-separated
 * ("-" for none); CHOICE names the choice a choice's value is in (its
 * first value), else "-"; SELECT_IF the symbols of the selects'
 * conditions; NEEDS the symbols now off that would make its direct
 * dependency hold if they were on (of an "or", the side that needs
 * fewest).  scripts/deb builds it
 * against the tree's own Kconfig objects (scripts/kconfig/*.o of the
 * object directory) and runs it with the environment kbuild gives conf.
 *
 * usage: kconfig-deps KCONFIG CONFIG
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkc.h"
#include "internal.h"

static char tri(tristate t)
{
	return t == yes ? 'y' : t == mod ? 'm' : 'n';
}

static int first;

static void dep_symbols(struct expr *e)
{
	if (!e)
		return;
	switch (e->type) {
	case E_OR:
	case E_AND:
		dep_symbols(e->left.expr);
		dep_symbols(e->right.expr);
		break;
	case E_NOT:
		dep_symbols(e->left.expr);
		break;
	case E_EQUAL:
	case E_UNEQUAL:
	case E_LTH:
	case E_LEQ:
	case E_GTH:
	case E_GEQ:
		if (e->left.sym && e->left.sym->name)
			printf("%s%s", first++ ? "," : "", e->left.sym->name);
		if (e->right.sym && e->right.sym->name &&
		    !(e->right.sym->flags & SYMBOL_CONST))
			printf("%s%s", first++ ? "," : "", e->right.sym->name);
		break;
	case E_SYMBOL:
		if (e->left.sym->name && !(e->left.sym->flags & SYMBOL_CONST))
			printf("%s%s", first++ ? "," : "", e->left.sym->name);
		break;
	default:
		break;
	}
}

/*
 * The selecting symbols of a reverse dependency: it is an "or" of one
 * "SELECTOR && its conditions" per select, the selector leftmost.
 */
static void selectors(struct expr *e)
{
	if (!e)
		return;
	switch (e->type) {
	case E_OR:
		selectors(e->left.expr);
		selectors(e->right.expr);
		break;
	case E_AND:
		while (e->type == E_AND)
			e = e->left.expr;
		selectors(e);
		break;
	case E_SYMBOL:
		if (e->left.sym->name && !(e->left.sym->flags & SYMBOL_CONST))
			printf("%s%s", first++ ? "," : "", e->left.sym->name);
		break;
	default:
		break;
	}
}

/* need(): the symbols of E now n that it needs on; printed when print */
static int need(struct expr *e, int print)
{
	int l, r;

	if (!e)
		return 0;
	switch (e->type) {
	case E_AND:
		return need(e->left.expr, print) + need(e->right.expr, print);
	case E_OR:
		if (expr_calc_value(e) != no)
			return 0;
		l = need(e->left.expr, 0);
		r = need(e->right.expr, 0);
		return l <= r ? need(e->left.expr, print) : need(e->right.expr, print);
	case E_SYMBOL:
		if (!e->left.sym->name || (e->left.sym->flags & SYMBOL_CONST) ||
		    sym_get_tristate_value(e->left.sym) != no)
			return 0;
		if (print)
			printf("%s%s", first++ ? "," : "", e->left.sym->name);
		return 1;
	default:
		/* a comparison or a negation: turning symbols on is no answer */
		return 0;
	}
}

/* The name of the first value of the choice SYM is a value of, or "-" */
static const char *choice_name(struct symbol *sym)
{
	struct menu *choice, *m;

	if (!sym_is_choice_value(sym))
		return "-";
	choice = sym_get_choice_menu(sym);
	if (!choice)
		return "-";
	for (m = choice->list; m; m = m->next)
		if (m->sym && m->sym->name)
			return m->sym->name;
	return "-";
}

int main(int argc, char **argv)
{
	struct symbol *sym;
	struct property *prop;

	if (argc != 3) {
		fprintf(stderr, "usage: kconfig-deps KCONFIG CONFIG\n");
		return 64;
	}
	conf_parse(argv[1]);
	if (conf_read(argv[2])) {
		fprintf(stderr, "kconfig-deps: cannot read %s\n", argv[2]);
		return 1;
	}
	for_all_symbols(sym) {
		int prompt = 0;

		if (!sym->name || (sym->type != S_BOOLEAN && sym->type != S_TRISTATE))
			continue;
		sym_calc_value(sym);
		for_all_prompts(sym, prop)
			prompt = 1;
		printf("%s %c %c %c %d ", sym->name, tri(sym_get_tristate_value(sym)),
		       tri(sym->dir_dep.tri), tri(sym->rev_dep.tri), prompt);
		first = 0;
		dep_symbols(sym->dir_dep.expr);
		if (sym_is_choice_value(sym) && sym_get_choice_menu(sym))
			dep_symbols(sym_get_choice_menu(sym)->dep);
		for_all_prompts(sym, prop) {
			dep_symbols(prop->visible.expr);
			if (prop->menu)
				dep_symbols(prop->menu->dep);
		}
		printf("%s ", first ? "" : "-");
		first = 0;
		selectors(sym->rev_dep.expr);
		printf("%s ", first ? "" : "-");
		first = 0;
		for_all_defaults(sym, prop) {
			dep_symbols(prop->expr);
			dep_symbols(prop->visible.expr);
		}
		printf("%s ", first ? "" : "-");
		printf("%s ", choice_name(sym));
		first = 0;
		dep_symbols(sym->rev_dep.expr);
		printf("%s ", first ? "" : "-");
		first = 0;
		need(sym->dir_dep.expr, 1);
		printf("%s\n", first ? "" : "-");
	}
	return 0;
}
