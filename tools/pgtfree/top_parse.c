// SPDX-License-Identifier: GPL-2.0-only
/*
 * The text of the pgtable_free trace events, one line each:
 *
 *   <task>-<pid> [<cpu>] <flags> <secs>.<usecs>: <event>: <fields>
 *                                        (trace_pipe, trace)
 *   <task>-<pid> [<cpu>] <secs>.<usecs>: <event>: <fields>
 *                                        (trace-cmd report)
 *   <task> <pid> [<cpu>] <secs>.<usecs>: pgtable_free:<event>: <fields>
 *                                        (perf script)
 *
 *   pgtable_free_queue: caller=%pS nr_pages=%u pending=%lu
 *   pgtable_free_sync: caller=%pS nr_pages=%u
 *   pgtable_free_batch: nr_pages=%lu reason=%s mms=%u invalidate_ns=%llu
 *
 * %pS is "symbol+0xoff/0xsize", with " [module]" for a module, or a bare
 * "0x..." address when the kernel knows no symbol.  "CPU:<n> [LOST <m>
 * EVENTS]" ("[LOST EVENTS]" when the number is unknown) says the ring
 * buffer overflowed; lines starting with '#' are headers.
 *
 * No I/O here: the unit tests link this file directly.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "pgtfree.h"
#include "top.h"

#define TRACE_PREFIX	"pgtable_free_"
#define TOP_FIELDS	16	/* key=value fields of an event */

static void acc_add(struct acc *a, uint64_t x)
{
	if (a->v > UINT64_MAX - x)
		a->ovf = true;
	else
		a->v += x;
}

/* one key=value of an event; the value is [val, vend) */
struct field {
	const char	*key;
	size_t		klen;
	const char	*val;
	const char	*vend;
};

void top_init(struct top *t)
{
	memset(t, 0, sizeof(*t));
}

static void top_map_free(struct top_map *m)
{
	struct top_entry *e, *next;
	size_t i;

	for (i = 0; i < TOP_HASH; i++) {
		for (e = m->bucket[i]; e; e = next) {
			next = e->next;
			free(e->name);
			free(e->module);
			free(e);
		}
	}
}

void top_free(struct top *t)
{
	top_map_free(&t->callers);
	top_map_free(&t->reasons);
	free(t->bad_text);
	free(t->src);
}

/* The entry for (@name, @module), created empty the first time. */
static struct top_entry *top_get(struct top_map *m, const char *name,
				 size_t nlen, const char *module, size_t mlen)
{
	uint32_t h = 2166136261u;
	struct top_entry *e;
	size_t i;

	for (i = 0; i < nlen; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (i = 0; module && i < mlen; i++)
		h = (h ^ (unsigned char)module[i]) * 16777619u;
	h %= TOP_HASH;

	for (e = m->bucket[h]; e; e = e->next) {
		if (strlen(e->name) != nlen || memcmp(e->name, name, nlen))
			continue;
		if (!module && !e->module)
			return e;
		if (module && e->module && strlen(e->module) == mlen &&
		    !memcmp(e->module, module, mlen))
			return e;
	}
	e = xcalloc(1, sizeof(*e));
	e->name = xasprintf("%.*s", (int)nlen, name);
	e->module = module ? xasprintf("%.*s", (int)mlen, module) : NULL;
	e->min = UINT64_MAX;
	e->next = m->bucket[h];
	m->bucket[h] = e;
	m->n++;
	return e;
}

/* the entries of @m in an array (freed by the caller), sorted by @cmp */
static struct top_entry **top_sorted(const struct top_map *m,
				     int (*cmp)(const void *, const void *))
{
	struct top_entry **v, *e;
	size_t i, n = 0;

	v = xcalloc(m->n + 1, sizeof(*v));
	for (i = 0; i < TOP_HASH; i++)
		for (e = m->bucket[i]; e; e = e->next)
			v[n++] = e;
	qsort(v, n, sizeof(*v), cmp);
	return v;
}

static int strcmp_null(const char *a, const char *b)
{
	if (!a || !b)
		return !!a - !!b;	/* NULL (built in) first */
	return strcmp(a, b);
}

/* callers: most frees first, then most pages, then by name */
static int cmp_callers(const void *pa, const void *pb)
{
	const struct top_entry *a = *(struct top_entry *const *)pa;
	const struct top_entry *b = *(struct top_entry *const *)pb;
	uint64_t pga = a->queued.v + a->freed_sync.v;
	uint64_t pgb = b->queued.v + b->freed_sync.v;

	if (a->frees != b->frees)
		return a->frees > b->frees ? -1 : 1;
	if (pga != pgb)
		return pga > pgb ? -1 : 1;
	if (strcmp(a->name, b->name))
		return strcmp(a->name, b->name);
	return strcmp_null(a->module, b->module);
}

/* the reasons the kernel gives, in this order; others after, by name */
static const char *const known_reasons[] = { "work", "drain", "oom" };

static size_t reason_rank(const char *r)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(known_reasons); i++)
		if (!strcmp(r, known_reasons[i]))
			break;
	return i;
}

static int cmp_reasons(const void *pa, const void *pb)
{
	const struct top_entry *a = *(struct top_entry *const *)pa;
	const struct top_entry *b = *(struct top_entry *const *)pb;
	size_t ra = reason_rank(a->name), rb = reason_rank(b->name);

	if (ra != rb)
		return ra < rb ? -1 : 1;
	return strcmp(a->name, b->name);
}

/*
 * Parsing
 */

/* "0x" and hex digits at *pp (before @e); *pp moves past them */
static bool hex0x(const char **pp, const char *e)
{
	const char *p = *pp;

	if (e - p < 3 || p[0] != '0' || p[1] != 'x')
		return false;
	for (p += 2; p < e && isxdigit((unsigned char)*p); p++)
		;
	if (p == *pp + 2)
		return false;
	*pp = p;
	return true;
}

/* [a-z0-9_]: keys, event names, reasons */
static bool word_char(char c)
{
	return islower((unsigned char)c) || isdigit((unsigned char)c) ||
	       c == '_';
}

static bool sym_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.' || c == '$';
}

/*
 * A %pS value [s, e): "symbol+0xoff/0xsize" ("symbol+0xoff" in perf
 * script), then " [module]" for a
 * module's; or "0x..." when the kernel knows no symbol; a bare "symbol"
 * (as %ps prints) is taken too.  The caller is the symbol or the
 * address, exactly as printed, the offset and size dropped.
 */
static bool parse_caller(const char *s, const char *e, const char **sym,
			 size_t *slen, const char **mod, size_t *mlen)
{
	const char *p, *se = e;

	*mod = NULL;
	*mlen = 0;
	if (e - s > 4 && e[-1] == ']') {
		for (p = e - 1; p > s && p[-1] != '['; p--)
			if (!isalnum((unsigned char)p[-1]) && p[-1] != '_' &&
			    p[-1] != '-')
				return false;
		if (p - s < 3 || p[-2] != ' ' || p == e - 1)
			return false;
		*mod = p;
		*mlen = (size_t)(e - 1 - p);
		se = p - 2;
	}
	p = s;
	if (se - s > 2 && s[0] == '0' && s[1] == 'x') {
		/* no symbol: the address, at most 64 bits of it */
		if (!hex0x(&p, se) || p != se || se - s > 18)
			return false;
		*sym = s;
		*slen = (size_t)(se - s);
		return true;
	}
	while (p < se && sym_char(*p))
		p++;
	if (p == s)
		return false;
	*sym = s;
	*slen = (size_t)(p - s);
	if (p == se)
		return true;
	/* perf script prints no "/0xsize" */
	if (*p++ != '+' || !hex0x(&p, se))
		return false;
	if (p == se)
		return true;
	return *p++ == '/' && hex0x(&p, se) && p == se;
}

/*
 * The fields after the event name: "key=value" separated by blanks; a
 * word that is not key=value continues the value before it, as
 * " [module]" does after a caller.  Returns how many, or -1.
 */
static int split_fields(const char *p, struct field *f, int max)
{
	int n = 0;

	for (;;) {
		const char *tok, *q;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			return n;
		tok = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		for (q = tok; q < p && word_char(*q); q++)
			;
		if (q > tok && q < p && *q == '=' &&
		    !isdigit((unsigned char)*tok)) {
			if (n == max)
				return -1;
			f[n].key = tok;
			f[n].klen = (size_t)(q - tok);
			f[n].val = q + 1;
			f[n].vend = p;
			n++;
		} else {
			if (n == 0)
				return -1;
			f[n - 1].vend = p;
		}
	}
}

/* the value of @key, NULL if absent or empty */
static const struct field *get_field(const struct field *f, int n,
				     const char *key)
{
	size_t len = strlen(key);
	int i;

	for (i = 0; i < n; i++)
		if (f[i].klen == len && !memcmp(f[i].key, key, len))
			return f[i].val < f[i].vend ? &f[i] : NULL;
	return NULL;
}

static bool field_u64(const struct field *f, int n, const char *key,
		      uint64_t max, uint64_t *v)
{
	const struct field *x = get_field(f, n, key);

	return x && parse_uint(x->val, x->vend, max, v);
}

/*
 * "<secs>[.<fraction>]" [s, e) in nanoseconds (digits after the ninth of
 * the fraction dropped), UINT64_MAX when out of range: integers, so that
 * the time between two events is exact.
 */
static uint64_t parse_ts(const char *s, const char *e)
{
	const char *dot = memchr(s, '.', (size_t)(e - s));
	uint64_t sec, frac = 0;
	int i;

	if (!parse_uint(s, dot ? dot : e, UINT64_MAX / 1000000000u, &sec))
		return UINT64_MAX;
	for (i = 0, s = dot ? dot + 1 : e; i < 9; i++)
		frac = frac * 10 + (s < e ? (uint64_t)(*s++ - '0') : 0);
	return sec * 1000000000u + frac;
}

/*
 * The first "<timestamp>: [pgtable_free:]pgtable_free_<name>: " in @s:
 * the fields follow.  *@trace is set when @s is a trace line at all (of another
 * event if this returns NULL).  A task name (15 characters at most) can
 * hold a colon but not a whole "<timestamp>: pgtable_free_<name>: ".
 */
static const char *find_event(const char *s, uint64_t *ts,
			      const char **name, size_t *nlen, bool *trace)
{
	const size_t plen = strlen(TRACE_PREFIX);
	const char *c, *b, *n, *ne;

	*trace = false;
	for (c = strstr(s, ": "); c; c = strstr(c + 1, ": ")) {
		int dots = 0;

		for (b = c; b > s && (isdigit((unsigned char)b[-1]) ||
				      b[-1] == '.'); b--)
			dots += b[-1] == '.';
		if (b == c || !isdigit((unsigned char)*b) || c[-1] == '.' ||
		    dots > 1 || (b > s && b[-1] != ' ' && b[-1] != '\t'))
			continue;
		n = c + 2;
		/* perf script: "<group>:<event>:" */
		if (!strncmp(n, TRACE_GROUP ":", sizeof(TRACE_GROUP)))
			n += sizeof(TRACE_GROUP);
		for (ne = n; word_char(*ne); ne++)
			;
		if (ne == n || *ne != ':' || (ne[1] && ne[1] != ' ' &&
					      ne[1] != '\t'))
			continue;
		*trace = true;
		if ((size_t)(ne - n) <= plen || strncmp(n, TRACE_PREFIX, plen))
			continue;
		*ts = parse_ts(b, c);
		*name = n + plen;
		*nlen = (size_t)(ne - n) - plen;
		return ne + 1;
	}
	return NULL;
}

/*
 * "CPU:<n> [LOST <m> EVENTS]", "CPU:<n> [LOST EVENTS]" (trace_pipe,
 * trace), "CPU:<n> [<m> EVENTS DROPPED]" or "CPU:<n> [EVENTS DROPPED]"
 * (trace-cmd report): 1 with *@m, 2 for a loss of unknown size, 0 for
 * another line.
 */
static int parse_lost(const char *s, uint64_t *m)
{
	const char *p, *q;
	uint64_t cpu;

	if (strncmp(s, "CPU:", 4))
		return 0;
	for (p = q = s + 4; isdigit((unsigned char)*q); q++)
		;
	if (!parse_uint(p, q, UINT64_MAX, &cpu) || strncmp(q, " [", 2))
		return 0;
	p = q + 2;
	if (!strcmp(p, "LOST EVENTS]") || !strcmp(p, "EVENTS DROPPED]"))
		return 2;
	if (!strncmp(p, "LOST ", 5)) {
		for (p += 5, q = p; isdigit((unsigned char)*q); q++)
			;
		return parse_uint(p, q, UINT64_MAX, m) &&
		       !strcmp(q, " EVENTS]");
	}
	for (q = p; isdigit((unsigned char)*q); q++)
		;
	return parse_uint(p, q, UINT64_MAX, m) && !strcmp(q, " EVENTS DROPPED]");
}

/* "version = <n>", "cpus=<n>" and "CPU <n> is empty" of trace-cmd */
static bool tracecmd_header(const char *s)
{
	const char *p, *q;
	uint64_t v;

	if (!strncmp(s, "cpus=", 5) || !strncmp(s, "version = ", 10)) {
		p = s + (s[0] == 'c' ? 5 : 10);
		return parse_uint(p, p + strlen(p), UINT64_MAX, &v);
	}
	if (strncmp(s, "CPU ", 4))
		return false;
	for (p = q = s + 4; isdigit((unsigned char)*q); q++)
		;
	return parse_uint(p, q, UINT64_MAX, &v) && !strcmp(q, " is empty");
}

static void top_malformed(struct top *t, const char *line, size_t len)
{
	/* quoted from its first word: trace lines start with blanks */
	while (line && len && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	if (!t->malformed++) {
		t->bad_lineno = t->lineno;
		t->bad_text = line ? quote_value(line, len) :
			xstrdup("(longer than 4096 bytes)");
	}
}

enum { EV_OTHER, EV_QUEUE, EV_SYNC, EV_BATCH };

/* pgtable_free_<@ev>: the events top knows */
static int event_kind(const char *ev, size_t len)
{
	if (len == 5 && !memcmp(ev, "queue", 5))
		return EV_QUEUE;
	if (len == 4 && !memcmp(ev, "sync", 4))
		return EV_SYNC;
	if (len == 5 && !memcmp(ev, "batch", 5))
		return EV_BATCH;
	return EV_OTHER;
}

/* one event: false when its fields are not what the kernel prints */
static bool top_event(struct top *t, int kind, const char *fields)
{
	struct field f[TOP_FIELDS];
	const struct field *c, *r;
	const char *sym, *mod;
	size_t slen, mlen;
	uint64_t pages, pending, mms, ns;
	struct top_entry *e;
	const char *p;
	int n = split_fields(fields, f, TOP_FIELDS);

	if (n < 0)
		return false;
	if (kind == EV_QUEUE || kind == EV_SYNC) {
		bool queue = kind == EV_QUEUE;

		c = get_field(f, n, "caller");
		if (!c || !parse_caller(c->val, c->vend, &sym, &slen, &mod,
					&mlen) ||
		    !field_u64(f, n, "nr_pages", UINT32_MAX, &pages))
			return false;
		if (queue && !field_u64(f, n, "pending", UINT64_MAX, &pending))
			return false;
		e = top_get(&t->callers, sym, slen, mod, mlen);
		e->frees++;
		acc_add(queue ? &e->queued : &e->freed_sync, pages);
		if (queue && (!t->have_pending || pending > t->pending_max)) {
			t->pending_max = pending;
			t->have_pending = true;
		}
		return true;
	}
	r = get_field(f, n, "reason");
	if (!r || !field_u64(f, n, "nr_pages", UINT64_MAX, &pages) ||
	    !field_u64(f, n, "mms", UINT32_MAX, &mms) ||
	    !field_u64(f, n, "invalidate_ns", UINT64_MAX, &ns))
		return false;
	for (p = r->val; p < r->vend && word_char(*p); p++)
		;
	if (p != r->vend)
		return false;
	e = top_get(&t->reasons, r->val, (size_t)(r->vend - r->val), NULL, 0);
	e->batches++;
	acc_add(&e->pages, pages);
	if (pages < e->min)
		e->min = pages;
	if (pages > e->max)
		e->max = pages;
	if (mms > 0) {
		e->invalidations++;
		acc_add(&e->mms, mms);
		acc_add(&e->inv_ns, ns);
		if (ns > e->inv_max_ns)
			e->inv_max_ns = ns;
	}
	return true;
}

/* Take one line (without its newline, NUL-terminated) into @t. */
static void top_line(struct top *t, char *line, size_t len)
{
	const char *p = line, *fields, *ev;
	size_t evlen, n = len;
	uint64_t m, ts;
	int lost, kind;
	bool trace;

	if (memchr(line, '\0', len)) {
		top_malformed(t, line, len);
		return;
	}
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' ||
			 line[n - 1] == '\r'))
		line[--n] = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p || *p == '#' || tracecmd_header(p))
		return;
	lost = parse_lost(p, &m);
	if (lost == 2) {
		t->lost_unknown = true;
		return;
	}
	if (lost == 1) {
		if (t->lost > UINT64_MAX - m)
			t->lost_unknown = true;
		else
			t->lost += m;
		return;
	}
	fields = find_event(p, &ts, &ev, &evlen, &trace);
	if (!fields) {
		if (!trace)
			top_malformed(t, line, len);
		return;		/* another event's line */
	}
	kind = event_kind(ev, evlen);
	if (kind == EV_OTHER)
		return;		/* a newer kernel's event: not ours to count */
	if (!top_event(t, kind, fields)) {
		top_malformed(t, line, len);
		return;
	}
	t->events++;
	if (ts == UINT64_MAX)
		return;		/* more than 584 years: not a time */
	if (!t->have_ts || ts < t->ts_min)
		t->ts_min = ts;
	if (!t->have_ts || ts > t->ts_max)
		t->ts_max = ts;
	t->have_ts = true;
}

/* Take @n bytes of input: whole lines go to top_line(). */
void top_feed(struct top *t, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;

		if (!t->skipping) {
			if (t->len + k > TOP_LINE_MAX) {
				t->skipping = true;
			} else {
				memcpy(t->line + t->len, p, k);
				t->len += k;
			}
		}
		if (!nl)
			return;
		t->lineno++;
		if (t->skipping) {
			top_malformed(t, NULL, 0);
		} else {
			t->line[t->len] = '\0';
			top_line(t, t->line, t->len);
		}
		t->len = 0;
		t->skipping = false;
		p = nl + 1;
		n -= k + 1;
	}
}

/* the last line of the input, if it has no newline */
void top_flush(struct top *t)
{
	if (t->len || t->skipping)
		top_feed(t, "\n", 1);
}

struct top_entry **top_callers(const struct top *t)
{
	return top_sorted(&t->callers, cmp_callers);
}

struct top_entry **top_reasons(const struct top *t)
{
	return top_sorted(&t->reasons, cmp_reasons);
}
