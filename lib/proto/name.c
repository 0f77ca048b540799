/* libalbatross — labels, paths and names (spec §3).
 * SPDX-License-Identifier: ISC
 *
 * Names are kept in canonical string form (see name.h): the labels of a
 * name are the non-empty pieces between ':' separators, so every operation
 * here walks that string with next_label(). */
#include <string.h>

#include "albatross/name.h"
#include "base/internal.h"

#define ERR_LABEL "invalid label (only [a-zA-Z0-9-.] allowed, 1 to 63 chars)"

static bool label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool alb_label_valid(const char *s, size_t len)
{
	if (len == 0 || len > ALB_LABEL_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!label_char(s[i]))
			return false;
	return true;
}

/* Splits s[0..len) on ':' as Albatross's Path.of_string does (one leading
 * ':' is dropped, every other piece must be a label). On success returns
 * the number of labels and their joined length (labels and inner ':'). */
static bool scan_path(const char *s, size_t len, size_t *nlabels, size_t *joined)
{
	size_t i = 0, n = 0;
	if (len == 0) {
		*nlabels = 0;
		*joined = 0;
		return true;
	}
	if (s[0] == ':')
		i = 1;
	size_t start = i, total = 0;
	for (;;) {
		if (i == len || s[i] == ':') {
			if (!alb_label_valid(s + start, i - start))
				return false;
			n++;
			total += i - start;
			if (i == len)
				break;
			start = i + 1;
		}
		i++;
	}
	*nlabels = n;
	*joined = total + n - 1;
	return true;
}

/* Writes the labels of a valid path string, lowercased and joined by ':'. */
static void write_joined(const char *s, size_t len, char *out)
{
	size_t i = (len > 0 && s[0] == ':') ? 1 : 0, o = 0;
	for (; i < len; i++)
		out[o++] = lower(s[i]);
}

static int too_long(size_t n, struct alb_error *err)
{
	return alb_fail(err, ALB_ETOOBIG, "name too long (%zu bytes, at most %d)",
			n, ALB_NAME_MAX);
}

/* Canonical path name of a valid path string: "a:b" -> "a:b:", "" -> ":". */
static int put_path(const char *s, size_t len, size_t nlabels, size_t joined,
		    char *out, struct alb_error *err)
{
	if (nlabels == 0) {
		memcpy(out, ":", 2);
		return 0;
	}
	if (joined + 1 > ALB_NAME_MAX)
		return too_long(joined + 1, err);
	write_joined(s, len, out);
	out[joined] = ':';
	out[joined + 1] = '\0';
	return 0;
}

int alb_path_parse(const char *s, size_t len, char *out, struct alb_error *err)
{
	size_t n, joined;
	if (!scan_path(s, len, &n, &joined))
		return alb_fail(err, ALB_EPARSE, "invalid path: " ERR_LABEL);
	return put_path(s, len, n, joined, out, err);
}

int alb_name_parse(const char *s, size_t len, char *out, struct alb_error *err)
{
	size_t n, joined;
	if (len == 0)
		return alb_fail(err, ALB_EPARSE, "empty name");
	if (s[len - 1] == ':') {
		if (!scan_path(s, len - 1, &n, &joined))
			return alb_fail(err, ALB_EPARSE, "invalid path: " ERR_LABEL);
		return put_path(s, len - 1, n, joined, out, err);
	}
	if (!scan_path(s, len, &n, &joined))
		return alb_fail(err, ALB_EPARSE, "invalid name");
	/* a single label lives at the root: "foo" is ":foo" */
	size_t lead = n == 1 ? 1 : 0;
	if (lead + joined > ALB_NAME_MAX)
		return too_long(lead + joined, err);
	if (lead)
		out[0] = ':';
	write_joined(s, len, out + lead);
	out[lead + joined] = '\0';
	return 0;
}

bool alb_name_is_path(const char *name)
{
	size_t n = strlen(name);
	return n > 0 && name[n - 1] == ':';
}

bool alb_name_is_root(const char *name)
{
	return strcmp(name, ":") == 0;
}

size_t alb_name_label(const char *name, const char **label)
{
	const char *c = strrchr(name, ':');
	const char *l = c != NULL ? c + 1 : name;
	*label = l;
	return strlen(l);
}

size_t alb_name_path_len(const char *name)
{
	const char *c = strrchr(name, ':');
	return c != NULL ? (size_t)(c - name) : 0;
}

void alb_name_path(const char *name, char *out)
{
	const char *c = strrchr(name, ':');
	size_t n = c != NULL ? (size_t)(c - name) + 1 : 0;
	if (n == 0) {
		memcpy(out, ":", 2);
		return;
	}
	memmove(out, name, n);
	out[n] = '\0';
}

void alb_name_parent(const char *name, char *out)
{
	if (!alb_name_is_path(name)) {
		alb_name_path(name, out);
		return;
	}
	size_t n = strlen(name);
	/* drop the last path label: look for the ':' before the final one */
	size_t i = n >= 2 ? n - 2 : 0;
	while (i > 0 && name[i] != ':')
		i--;
	if (n < 2 || name[i] != ':') {
		memcpy(out, ":", 2);
		return;
	}
	memmove(out, name, i + 1);
	out[i + 1] = '\0';
}

int alb_name_make(const char *path, const char *label, char *out,
		  struct alb_error *err)
{
	if (!alb_name_is_path(path))
		return alb_fail(err, ALB_EINVAL, "not a path name: %s", path);
	size_t pl = strlen(path);
	size_t ll = label != NULL ? strlen(label) : 0;
	if (ll > 0 && !alb_label_valid(label, ll))
		return alb_fail(err, ALB_EPARSE, ERR_LABEL);
	/* the root path contributes only the separator: ":" + "x" = ":x" */
	if (pl + ll > ALB_NAME_MAX)
		return too_long(pl + ll, err);
	memmove(out, path, pl);
	for (size_t i = 0; i < ll; i++)
		out[pl + i] = lower(label[i]);
	out[pl + ll] = '\0';
	return 0;
}

/* Iterates over the labels of a canonical name. */
static bool next_label(const char **pp, const char **label, size_t *len)
{
	const char *p = *pp;
	while (*p == ':')
		p++;
	if (*p == '\0')
		return false;
	const char *start = p;
	while (*p != '\0' && *p != ':')
		p++;
	*label = start;
	*len = (size_t)(p - start);
	*pp = p;
	return true;
}

bool alb_name_under(const char *name, const char *path)
{
	const char *pn = name, *pp = path, *ln, *lp;
	size_t nn, np;
	while (next_label(&pp, &lp, &np)) {
		if (!next_label(&pn, &ln, &nn) || alb_bytes_cmp(ln, nn, lp, np) != 0)
			return false;
	}
	return true;
}

void alb_name_relative(const char *name, const char *path, char *out)
{
	const char *pn = name, *pp = path, *l;
	size_t n;
	while (next_label(&pp, &l, &n))
		(void)next_label(&pn, &l, &n);
	/* pn now points at the remaining labels, ":"-separated */
	while (*pn == ':')
		pn++;
	size_t rest = strlen(pn);
	if (alb_name_is_path(name)) {
		/* remaining labels form a path: "b:" (root when none) */
		if (rest == 0)
			memcpy(out, ":", 2);
		else
			memmove(out, pn, rest + 1);
		return;
	}
	size_t labels = 0;
	for (const char *q = pn; next_label(&q, &l, &n);)
		labels++;
	if (labels == 0) {
		memcpy(out, ":", 2);
	} else if (labels == 1) {
		memmove(out + 1, pn, rest + 1);
		out[0] = ':';
	} else {
		memmove(out, pn, rest + 1);
	}
}

size_t alb_name_depth(const char *name)
{
	const char *p = name, *l;
	size_t n, k = 0;
	while (next_label(&p, &l, &n))
		k++;
	return k;
}

int alb_name_cmp(const char *a, const char *b)
{
	const char *pa = a, *pb = b, *la, *lb;
	size_t na, nb;
	for (;;) {
		bool ha = next_label(&pa, &la, &na);
		bool hb = next_label(&pb, &lb, &nb);
		if (!ha || !hb)
			return (int)ha - (int)hb;
		int c = alb_bytes_cmp(la, na, lb, nb);
		if (c != 0)
			return c;
	}
}
