/* alb-oci — the strict bounded JSON reader and the string writer (see
 * alb_oci_json.h).
 * SPDX-License-Identifier: ISC */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alb_oci_json.h"

struct parser {
	const char *s;
	size_t len, pos;
	const char *what;
	struct oj_doc *doc;
	struct alb_error *err;
	int rc;
};

static int jfail(struct parser *p, int code, const char *reason)
{
	if (p->rc == 0) {
		p->rc = code;
		alb_set_error(p->err, code, "%s: %s at byte %zu", p->what,
			      reason, p->pos);
	}
	return p->rc;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
}

/* A new node of type t appended to parent (0: the root). Returns its
 * index, 0 on failure. */
static uint32_t new_node(struct parser *p, uint32_t parent, enum oj_type t)
{
	struct oj_doc *d = p->doc;
	if (d->n_nodes + 1 >= d->cap_nodes) {
		uint32_t cap = d->cap_nodes ? d->cap_nodes * 2 : 64;
		struct oj_node *n = realloc(d->nodes, cap * sizeof(*n));
		if (n == NULL) {
			jfail(p, ALB_ENOMEM, "out of memory");
			return 0;
		}
		d->nodes = n;
		d->cap_nodes = cap;
		if (d->n_nodes == 0)
			d->n_nodes = 1; /* node 0 is "none" */
	}
	uint32_t i = d->n_nodes++;
	memset(&d->nodes[i], 0, sizeof(d->nodes[i]));
	d->nodes[i].type = t;
	if (parent != 0) {
		struct oj_node *par = &d->nodes[parent];
		if (par->last != 0)
			d->nodes[par->last].next = i;
		else
			par->first = i;
		par->last = i;
		par->count++;
	}
	return i;
}

static int hex4(struct parser *p, uint32_t *out)
{
	if (p->len - p->pos < 4)
		return jfail(p, ALB_EPARSE, "truncated \\u escape");
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p->s[p->pos++];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return jfail(p, ALB_EPARSE, "bad \\u escape");
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no
 * overlongs, no surrogates, at most U+10FFFF), 0 when there is none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	uint32_t cp, min;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		len = 2, cp = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, cp = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A string at p->pos (the opening quote) decoded into the string area. */
static int string(struct parser *p, const char **out, size_t *out_len)
{
	struct oj_doc *d = p->doc;
	char *o = d->strings + d->n_strings;
	size_t n = 0;
	p->pos++;
	for (;;) {
		if (p->pos >= p->len)
			return jfail(p, ALB_EPARSE, "unterminated string");
		unsigned char c = (unsigned char)p->s[p->pos];
		if (c == '"') {
			p->pos++;
			break;
		}
		if (c < 0x20)
			return jfail(p, ALB_EPARSE, "control character in string");
		if (c != '\\') {
			size_t l = utf8_len((const unsigned char *)p->s + p->pos,
					    p->len - p->pos);
			if (l == 0)
				return jfail(p, ALB_EPARSE, "invalid UTF-8");
			memcpy(o + n, p->s + p->pos, l);
			n += l;
			p->pos += l;
			continue;
		}
		if (++p->pos >= p->len)
			return jfail(p, ALB_EPARSE, "unterminated string");
		char e = p->s[p->pos++];
		const char *simple = strchr("\"\\/bfnrt", e);
		if (e != '\0' && e != 'u' && simple != NULL) {
			static const char map[] = "\"\\/\b\f\n\r\t";
			o[n++] = map[simple - "\"\\/bfnrt"];
			continue;
		}
		if (e != 'u')
			return jfail(p, ALB_EPARSE, "bad escape");
		uint32_t cp;
		if (hex4(p, &cp) != 0)
			return p->rc;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return jfail(p, ALB_EPARSE, "lone low surrogate");
		if (cp >= 0xd800 && cp <= 0xdbff) {
			uint32_t lo;
			if (p->len - p->pos < 2 || p->s[p->pos] != '\\' ||
			    p->s[p->pos + 1] != 'u')
				return jfail(p, ALB_EPARSE, "lone high surrogate");
			p->pos += 2;
			if (hex4(p, &lo) != 0)
				return p->rc;
			if (lo < 0xdc00 || lo > 0xdfff)
				return jfail(p, ALB_EPARSE, "lone high surrogate");
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		if (cp == 0)
			return jfail(p, ALB_EPARSE, "NUL in string");
		n += put_utf8(o + n, cp);
	}
	o[n] = '\0';
	d->n_strings += n + 1;
	*out = o;
	*out_len = n;
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int number(struct parser *p, uint32_t node)
{
	size_t start = p->pos;
	const char *s = p->s;
	if (p->pos < p->len && s[p->pos] == '-')
		p->pos++;
	if (p->pos >= p->len || !is_digit(s[p->pos]))
		return jfail(p, ALB_EPARSE, "bad number");
	if (s[p->pos] == '0') {
		p->pos++;
		if (p->pos < p->len && is_digit(s[p->pos]))
			return jfail(p, ALB_EPARSE, "leading zero");
	} else {
		while (p->pos < p->len && is_digit(s[p->pos]))
			p->pos++;
	}
	if (p->pos < p->len && s[p->pos] == '.') {
		p->pos++;
		if (p->pos >= p->len || !is_digit(s[p->pos]))
			return jfail(p, ALB_EPARSE, "bad fraction");
		while (p->pos < p->len && is_digit(s[p->pos]))
			p->pos++;
	}
	if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-'))
			p->pos++;
		if (p->pos >= p->len || !is_digit(s[p->pos]))
			return jfail(p, ALB_EPARSE, "bad exponent");
		while (p->pos < p->len && is_digit(s[p->pos]))
			p->pos++;
	}
	struct oj_doc *d = p->doc;
	size_t n = p->pos - start;
	char *o = d->strings + d->n_strings;
	memcpy(o, s + start, n);
	o[n] = '\0';
	d->n_strings += n + 1;
	d->nodes[node].str = o;
	d->nodes[node].len = n;
	return 0;
}

static bool literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return false;
	p->pos += n;
	return true;
}

static int value(struct parser *p, uint32_t parent, int depth,
		 const char *key, size_t key_len);

static int members(struct parser *p, uint32_t node, bool object, int depth)
{
	char close = object ? '}' : ']';
	p->pos++;
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		return 0;
	}
	for (;;) {
		const char *key = NULL;
		size_t key_len = 0;
		skip_ws(p);
		if (object) {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return jfail(p, ALB_EPARSE, "expected a key");
			if (string(p, &key, &key_len) != 0)
				return p->rc;
			for (const struct oj_node *m = oj_first(p->doc, &p->doc->nodes[node]);
			     m != NULL; m = oj_next(p->doc, m))
				if (m->key_len == key_len &&
				    memcmp(m->key, key, key_len) == 0)
					return jfail(p, ALB_EPARSE, "duplicate key");
			skip_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return jfail(p, ALB_EPARSE, "expected ':'");
			p->pos++;
		}
		if (value(p, node, depth + 1, key, key_len) != 0)
			return p->rc;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == close) {
			p->pos++;
			return 0;
		}
		return jfail(p, ALB_EPARSE, object ? "expected ',' or '}'"
						  : "expected ',' or ']'");
	}
}

static int value(struct parser *p, uint32_t parent, int depth,
		 const char *key, size_t key_len)
{
	skip_ws(p);
	if (p->pos >= p->len)
		return jfail(p, ALB_EPARSE, "unexpected end");
	char c = p->s[p->pos];
	enum oj_type t;
	switch (c) {
	case '{': t = OJ_OBJECT; break;
	case '[': t = OJ_ARRAY; break;
	case '"': t = OJ_STRING; break;
	case 't': t = OJ_TRUE; break;
	case 'f': t = OJ_FALSE; break;
	case 'n': t = OJ_NULL; break;
	default:
		if (c != '-' && !is_digit(c))
			return jfail(p, ALB_EPARSE, "unexpected character");
		t = OJ_NUMBER;
	}
	if ((t == OJ_OBJECT || t == OJ_ARRAY) && depth >= OJ_DEPTH_MAX)
		return jfail(p, ALB_ETOOBIG, "nested too deeply");
	uint32_t node = new_node(p, parent, t);
	if (node == 0)
		return p->rc;
	p->doc->nodes[node].key = key;
	p->doc->nodes[node].key_len = key_len;
	switch (t) {
	case OJ_OBJECT:
	case OJ_ARRAY:
		return members(p, node, t == OJ_OBJECT, depth);
	case OJ_STRING: {
		const char *s;
		size_t n;
		if (string(p, &s, &n) != 0)
			return p->rc;
		p->doc->nodes[node].str = s;
		p->doc->nodes[node].len = n;
		return 0;
	}
	case OJ_NUMBER:
		return number(p, node);
	default:
		if (!literal(p, t == OJ_TRUE ? "true" : t == OJ_FALSE ? "false" : "null"))
			return jfail(p, ALB_EPARSE, "bad literal");
		return 0;
	}
}

int oj_parse(const char *text, size_t len, const char *what,
	     struct oj_doc *doc, struct alb_error *err)
{
	memset(doc, 0, sizeof(*doc));
	struct parser p = {.s = text, .len = len, .what = what, .doc = doc,
			   .err = err};
	/* decoded strings are never longer than their text; each value adds
	 * at most one NUL, and values are at least one byte apart */
	doc->strings = malloc(2 * len + 2);
	if (doc->strings == NULL)
		return jfail(&p, ALB_ENOMEM, "out of memory");
	if (value(&p, 0, 0, NULL, 0) == 0) {
		skip_ws(&p);
		if (p.pos != len)
			jfail(&p, ALB_EPARSE, "trailing bytes");
	}
	if (p.rc != 0)
		oj_free(doc);
	return p.rc;
}

void oj_free(struct oj_doc *doc)
{
	if (doc == NULL)
		return;
	free(doc->nodes);
	free(doc->strings);
	memset(doc, 0, sizeof(*doc));
}

const struct oj_node *oj_root(const struct oj_doc *doc)
{
	return doc->n_nodes > 1 ? &doc->nodes[1] : NULL;
}

const struct oj_node *oj_first(const struct oj_doc *doc,
			       const struct oj_node *n)
{
	if (n == NULL || (n->type != OJ_ARRAY && n->type != OJ_OBJECT) ||
	    n->first == 0)
		return NULL;
	return &doc->nodes[n->first];
}

const struct oj_node *oj_next(const struct oj_doc *doc,
			      const struct oj_node *n)
{
	return (n == NULL || n->next == 0) ? NULL : &doc->nodes[n->next];
}

const struct oj_node *oj_get(const struct oj_doc *doc,
			     const struct oj_node *obj, const char *key)
{
	if (obj == NULL || obj->type != OJ_OBJECT)
		return NULL;
	size_t kl = strlen(key);
	for (const struct oj_node *m = oj_first(doc, obj); m != NULL;
	     m = oj_next(doc, m))
		if (m->key_len == kl && memcmp(m->key, key, kl) == 0)
			return m;
	return NULL;
}

bool oj_int(const struct oj_node *n, int64_t min, int64_t max, int64_t *out)
{
	if (n == NULL || n->type != OJ_NUMBER ||
	    strpbrk(n->str, ".eE") != NULL)
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(n->str, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

void oj_write_str(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void oj_write_cstr(FILE *f, const char *s)
{
	oj_write_str(f, s, strlen(s));
}
