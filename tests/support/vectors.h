/* Test helper: the golden vectors made by the real Albatross
 * (../shared/vectors, see its README.md): locating them, reading files,
 * MANIFEST.tsv and the hex dumps of the .txt files.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_TEST_VECTORS_H
#define ALB_TEST_VECTORS_H

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

#endif
