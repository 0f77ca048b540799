/* A parser of Influx line protocol lines for the tests of the daemons'
 * metrics: measurement[,tag=value...] field=value[,field=value...] with
 * no timestamp (Albatross sends none); backslash escapes of ',', ' ' and
 * '=' in keys and tag values; field values integer ("12i"), float
 * ("0.250000"), string ("\"x\"") or boolean. Header-only; functions
 * return NULL or the error text.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_TEST_INFLUX_PARSE_H
#define ALB_TEST_INFLUX_PARSE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INFLUX_KEY_MAX 128
#define INFLUX_VALUE_MAX 1100
#define INFLUX_PAIRS_MAX 32

struct influx_pair {
	char key[INFLUX_KEY_MAX];
	char value[INFLUX_VALUE_MAX]; /* unescaped; a field's value as written */
	bool integer;                 /* a field "Ni" */
};

struct influx_line {
	char measurement[INFLUX_KEY_MAX];
	struct influx_pair tags[INFLUX_PAIRS_MAX];
	size_t n_tags;
	struct influx_pair fields[INFLUX_PAIRS_MAX];
	size_t n_fields;
};

/* Reads an escaped token up to one of the stop bytes (unescaped) into
 * out; *s advances past it. False when empty or too long. */
static inline bool influx_token(const char **s, const char *end,
				const char *stop, char *out, size_t size)
{
	size_t n = 0;
	const char *p = *s;
	while (p < end && strchr(stop, *p) == NULL) {
		if (*p == '\\' && p + 1 < end && strchr(", =", p[1]) != NULL)
			p++;
		if ((unsigned char)*p < 0x20 || n + 1 >= size)
			return false;
		out[n++] = *p++;
	}
	out[n] = '\0';
	*s = p;
	return n > 0;
}

/* Parses one line (without its newline). */
static inline const char *influx_parse_line(const char *l, size_t len,
					    struct influx_line *out)
{
	static char err[128];
	memset(out, 0, sizeof(*out));
	const char *p = l, *end = l + len;
	if (!influx_token(&p, end, ", ", out->measurement, sizeof(out->measurement)))
		return "bad measurement";
	while (p < end && *p == ',') {
		p++;
		if (out->n_tags >= INFLUX_PAIRS_MAX)
			return "too many tags";
		struct influx_pair *t = &out->tags[out->n_tags++];
		if (!influx_token(&p, end, "=, ", t->key, sizeof(t->key)) ||
		    p >= end || *p != '=')
			return "bad tag key";
		p++;
		if (!influx_token(&p, end, ", =", t->value, sizeof(t->value)))
			return "bad tag value";
	}
	if (p >= end || *p != ' ')
		return "expected a space before the fields";
	p++;
	do {
		if (out->n_fields >= INFLUX_PAIRS_MAX)
			return "too many fields";
		struct influx_pair *f = &out->fields[out->n_fields++];
		if (!influx_token(&p, end, "=, ", f->key, sizeof(f->key)) ||
		    p >= end || *p != '=')
			return "bad field key";
		p++;
		const char *v = p;
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++)
				if (*p == '\\')
					p++;
			if (p >= end)
				return "unterminated string field";
			p++;
		} else {
			while (p < end && *p != ',' && *p != ' ')
				p++;
		}
		size_t vl = (size_t)(p - v);
		if (vl == 0 || vl >= sizeof(f->value))
			return "bad field value";
		memcpy(f->value, v, vl);
		char *e;
		if (v[vl - 1] == 'i') {
			f->integer = true;
			f->value[vl - 1] = '\0';
			strtoll(f->value, &e, 10);
			if (*e != '\0' || vl < 2)
				return snprintf(err, sizeof(err), "bad integer %s", f->key), err;
		} else if (v[0] != '"' && strcmp(f->value, "true") != 0 &&
			   strcmp(f->value, "false") != 0) {
			strtod(f->value, &e);
			if (*e != '\0')
				return snprintf(err, sizeof(err), "bad float %s", f->key), err;
		}
	} while (p < end && *p++ == ',');
	if (p != end)
		return "a timestamp or more after the fields";
	return NULL;
}

static inline const char *influx_tag(const struct influx_line *l, const char *key)
{
	for (size_t i = 0; i < l->n_tags; i++)
		if (strcmp(l->tags[i].key, key) == 0)
			return l->tags[i].value;
	return NULL;
}

static inline const struct influx_pair *influx_field(const struct influx_line *l,
						     const char *key)
{
	for (size_t i = 0; i < l->n_fields; i++)
		if (strcmp(l->fields[i].key, key) == 0)
			return &l->fields[i];
	return NULL;
}

/* The fields of l, as "k1,k2,..." into out (to compare with a list). */
static inline void influx_field_keys(const struct influx_line *l, char *out,
				     size_t size)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < l->n_fields; i++)
		n += (size_t)snprintf(out + n, n < size ? size - n : 0, "%s%s",
				      i ? "," : "", l->fields[i].key);
}

#endif
