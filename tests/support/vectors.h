/* Test helper: the golden vectors made by the real Albatross
 * (../shared/vectors, see its README.md): locating them, reading files,
 * MANIFEST.tsv, and what the .txt files say (hex dumps, the decoded value).
 * Nothing here knows how many vectors there are or which: the MANIFEST and
 * the directory listing say it, so that any directory of the same layout
 * can be checked (ALB_VECTORS_DIR).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_TEST_VECTORS_H
#define ALB_TEST_VECTORS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Exit status that makes meson report a test as skipped. */
#define VEC_SKIP 77

/* The vectors directory: $ALB_VECTORS_DIR, else ../shared/vectors next to
 * the source root ($ALB_SOURCE_ROOT or the working directory). */
static inline const char *vec_dir(void)
{
	static char buf[4096];
	const char *d = getenv("ALB_VECTORS_DIR");
	if (d != NULL && d[0] != '\0')
		return d;
	const char *root = getenv("ALB_SOURCE_ROOT");
	snprintf(buf, sizeof(buf), "%s/../shared/vectors", root != NULL ? root : ".");
	return buf;
}

/* True when the directory exists; otherwise says why the tests skip. */
static inline int vec_present(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 1;
	printf("SKIP: vectors directory %s not found\n", dir);
	return 0;
}

/* Reads a whole file; NULL if it cannot. The caller frees. */
static inline uint8_t *vec_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 4096, n = 0;
	uint8_t *b = malloc(cap);
	while (b != NULL) {
		n += fread(b + n, 1, cap - n, f);
		if (n < cap)
			break;
		uint8_t *nb = realloc(b, cap * 2);
		if (nb == NULL) {
			free(b);
			b = NULL;
			break;
		}
		b = nb;
		cap *= 2;
	}
	fclose(f);
	*len = n;
	return b;
}

/* Reads dir/name into a fresh buffer; NULL (and *len 0) if it cannot. */
static inline uint8_t *vec_read_at(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	*len = 0;
	if (n < 0 || (size_t)n >= sizeof(path))
		return NULL;
	return vec_read(path, len);
}

/* One line of MANIFEST.tsv. */
struct vec_entry {
	char name[128];
	char kind[16];
	char expect[32];
	char file[256];
	char text[1024];
};

/* Parses MANIFEST.tsv; returns the number of entries (in *out, to free). */
static inline size_t vec_manifest(const char *dir, struct vec_entry **out)
{
	size_t len;
	uint8_t *m = vec_read_at(dir, "MANIFEST.tsv", &len);
	*out = NULL;
	if (m == NULL)
		return 0;
	size_t n = 0, cap = 256;
	struct vec_entry *v = calloc(cap, sizeof(*v));
	char *s = (char *)m;
	size_t i = 0;
	while (i < len && v != NULL) {
		size_t start = i;
		while (i < len && m[i] != '\n')
			i++;
		size_t end = i++;
		if (end == start || s[start] == '#')
			continue;
		if (n == cap) {
			struct vec_entry *nv = realloc(v, 2 * cap * sizeof(*v));
			if (nv == NULL)
				break;
			v = nv;
			cap *= 2;
		}
		struct vec_entry *e = &v[n];
		memset(e, 0, sizeof(*e));
		char *fields[5] = {e->name, e->kind, e->expect, e->file, e->text};
		size_t sizes[5] = {sizeof(e->name), sizeof(e->kind), sizeof(e->expect),
				   sizeof(e->file), sizeof(e->text)};
		size_t f = 0, p = start;
		for (size_t q = start; q <= end && f < 5; q++) {
			if (q == end || (s[q] == '\t' && f < 4)) {
				size_t l = q - p < sizes[f] - 1 ? q - p : sizes[f] - 1;
				memcpy(fields[f], s + p, l);
				fields[f][l] = '\0';
				f++;
				p = q + 1;
			}
		}
		if (f == 5)
			n++;
	}
	free(m);
	*out = v;
	return n;
}

static inline int vec_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The hex block that follows the line starting with `heading` in a .txt
 * (lines of hex digits up to an empty line). NULL when absent. */
static inline uint8_t *vec_txt_hex(const char *txt, size_t txtlen,
				   const char *heading, size_t *len)
{
	size_t hl = strlen(heading);
	const char *p = txt, *end = txt + txtlen;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		if ((size_t)(eol - p) >= hl && memcmp(p, heading, hl) == 0) {
			uint8_t *out = malloc((size_t)(end - eol) / 2 + 1);
			size_t n = 0;
			const char *q = eol + 1;
			while (out != NULL && q < end && *q != '\n') {
				while (q + 1 < end && vec_hexval(q[0]) >= 0 &&
				       vec_hexval(q[1]) >= 0) {
					out[n++] = (uint8_t)(vec_hexval(q[0]) << 4 |
							     vec_hexval(q[1]));
					q += 2;
				}
				if (q < end && *q == '\n')
					q++;
				else
					break;
			}
			*len = n;
			return out;
		}
		p = eol + 1;
	}
	return NULL;
}

/* The row of MANIFEST entries v[0..n) named name, NULL when there is none. */
static inline const struct vec_entry *vec_find(const struct vec_entry *v, size_t n,
					       const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* The number of rows of v[0..n) of the given kind and expectation (NULL
 * for any). */
static inline size_t vec_count(const struct vec_entry *v, size_t n,
			       const char *kind, const char *expect)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += (kind == NULL || strcmp(v[i].kind, kind) == 0) &&
		     (expect == NULL || strcmp(v[i].expect, expect) == 0);
	return k;
}

/* Reads the file of the MANIFEST row named name of dir, when the MANIFEST
 * has it; otherwise says so (tests that need one particular vector skip
 * when a vector set lacks it). The caller frees. */
static inline uint8_t *vec_read_named(const char *dir, const char *name, size_t *len,
				      struct vec_entry *row)
{
	struct vec_entry *v;
	size_t n = vec_manifest(dir, &v);
	const struct vec_entry *e = vec_find(v, n, name);
	uint8_t *b = NULL;
	*len = 0;
	if (e == NULL)
		printf("vector %s is not in the MANIFEST of %s\n", name, dir);
	else
		b = vec_read_at(dir, e->file, len);
	if (e != NULL && row != NULL)
		*row = *e;
	free(v);
	return b;
}

/* The .txt beside a vector file (NAME.der -> NAME.txt) of dir; NULL when
 * absent. The caller frees; the text is NUL-terminated. */
static inline char *vec_read_txt(const char *dir, const char *file, size_t *len)
{
	char name[4096];
	size_t l = strlen(file);
	*len = 0;
	if (l < 4 || l >= sizeof(name) || strcmp(file + l - 4, ".der") != 0)
		return NULL;
	memcpy(name, file, l - 4);
	strcpy(name + l - 4, ".txt");
	uint8_t *t = vec_read_at(dir, name, len);
	if (t == NULL)
		return NULL;
	char *z = realloc(t, *len + 1);
	if (z == NULL) {
		free(t);
		return NULL;
	}
	z[*len] = '\0';
	return z;
}

/* ---- the value a .txt shows ----------------------------------------- */

/* The value Albatross decoded is an indented tree that starts at a line
 * "wire:", "state:" or "cert_extension:" and goes on while lines are
 * indented; each line is "key: value" or "key:" (a subtree). */
static inline const char *vec_txt_value_start(const char *txt)
{
	static const char *const roots[] = {"wire:\n", "state:\n", "cert_extension:\n"};
	for (const char *p = txt; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		for (size_t i = 0; i < sizeof(roots) / sizeof(*roots); i++)
			if (strncmp(p, roots[i], strlen(roots[i])) == 0)
				return p;
	}
	return NULL;
}

/* Where the value that starts at v ends: at the first line after v that
 * is not indented (or the end of the text). */
static inline const char *vec_txt_value_end(const char *v)
{
	const char *p = strchr(v, '\n');
	while (p != NULL && p[1] == ' ')
		p = strchr(p + 1, '\n');
	return p != NULL ? p + 1 : v + strlen(v);
}

/* Whether the key of the line at p (after its indentation) is seg, or seg
 * followed by " (" as in "block_devices (2 elements)". */
static inline bool vec_txt_key_is(const char *p, const char *seg, size_t sl)
{
	if (strncmp(p, seg, sl) != 0)
		return false;
	return p[sl] == ':' || (p[sl] == ' ' && p[sl + 1] == '(');
}

static inline size_t vec_txt_indent(const char *line)
{
	size_t in = 0;
	while (line[in] == ' ')
		in++;
	return in;
}

/* Looks up path ("a/b/c": each segment the key of a child line of the
 * previous one, the first segment a child of the root line) in the value
 * of a .txt and copies what follows the key's ": " into out (empty for a
 * subtree line). False when the path is not there. */
static inline bool vec_txt_get(const char *txt, const char *path, char *out, size_t outsz)
{
	const char *line = vec_txt_value_start(txt);
	if (line == NULL)
		return false;
	const char *end = vec_txt_value_end(line);
	for (const char *seg = path; seg != NULL;) {
		const char *slash = strchr(seg, '/');
		size_t sl = slash != NULL ? (size_t)(slash - seg) : strlen(seg);
		size_t indent = vec_txt_indent(line), child = 0;
		const char *found = NULL;
		/* the lines below the current one, while deeper than it; its
		 * children are as deep as the first of them */
		for (const char *q = strchr(line, '\n'); q != NULL && q + 1 < end;
		     q = strchr(q + 1, '\n')) {
			size_t in = vec_txt_indent(q + 1);
			if (in <= indent)
				break;
			if (child == 0)
				child = in;
			if (in == child && vec_txt_key_is(q + 1 + in, seg, sl)) {
				found = q + 1;
				break;
			}
		}
		if (found == NULL)
			return false;
		line = found;
		seg = slash != NULL ? slash + 1 : NULL;
	}
	const char *v = line + vec_txt_indent(line);
	const char *eol = strchr(v, '\n');
	if (eol == NULL)
		eol = v + strlen(v);
	const char *colon;
	if (v[0] == '"') {
		/* a quoted key ("vmexit": 1000) */
		const char *close = memchr(v + 1, '"', (size_t)(eol - v - 1));
		colon = close != NULL ? memchr(close, ':', (size_t)(eol - close)) : NULL;
	} else {
		colon = memchr(v, ':', (size_t)(eol - v));
	}
	if (colon == NULL)
		return false;
	const char *val = colon + 1;
	while (val < eol && *val == ' ')
		val++;
	size_t n = (size_t)(eol - val) < outsz - 1 ? (size_t)(eol - val) : outsz - 1;
	memcpy(out, val, n);
	out[n] = '\0';
	return true;
}

/* A point in time as the .txt shows it ("span D days + P ps since
 * epoch"), in seconds and nanoseconds. */
struct vec_time {
	int64_t sec;
	uint32_t nsec;
};

/* The times in the value of a .txt, in order; returns how many there are
 * (at most max are stored). */
static inline size_t vec_txt_times(const char *txt, struct vec_time *out, size_t max)
{
	const char *start = vec_txt_value_start(txt);
	if (start == NULL)
		return 0;
	const char *end = vec_txt_value_end(start);
	size_t n = 0;
	for (const char *p = strstr(start, "; span "); p != NULL && p < end;
	     p = strstr(p + 1, "; span ")) {
		long long d, ps;
		if (sscanf(p, "; span %lld days + %lld ps since epoch", &d, &ps) != 2)
			continue;
		if (n < max) {
			out[n].sec = d * 86400 + ps / 1000000000000LL;
			out[n].nsec = (uint32_t)(ps % 1000000000000LL / 1000);
		}
		n++;
	}
	return n;
}

#endif
