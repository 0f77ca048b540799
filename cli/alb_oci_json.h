/* alb-oci — a small strict JSON reader (RFC 8259) for config.json, the
 * container state file and urunc.json, and the few writing helpers alb-oci
 * needs. Strict: one value and white space only, no trailing commas,
 * comments, NaN, leading zeros or control characters in strings; strings
 * must be UTF-8 (escapes decoded, surrogates paired, no NUL); an object
 * may not repeat a key. Bounded: the text by its caller (each file has its
 * own named limit), nesting by OJ_DEPTH_MAX.
 * SPDX-License-Identifier: ISC */
#ifndef ALB_OCI_JSON_H
#define ALB_OCI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "albatross/common.h"

/* Deepest nesting of arrays and objects (config.json needs about 6). */
#define OJ_DEPTH_MAX 32

enum oj_type {
	OJ_NULL = 0,
	OJ_FALSE = 1,
	OJ_TRUE = 2,
	OJ_NUMBER = 3,
	OJ_STRING = 4,
	OJ_ARRAY = 5,
	OJ_OBJECT = 6
};

/* A value of a parsed document. Nodes are referred to by index into the
 * document's node array; 0 is "none" (the root is node 1). */
struct oj_node {
	enum oj_type type;
	/* OJ_STRING: the decoded bytes (NUL-terminated, no inner NUL);
	 * OJ_NUMBER: the text of the number. Points into the document. */
	const char *str;
	size_t len;
	/* Member of an object: its key (decoded, NUL-terminated). */
	const char *key;
	size_t key_len;
	uint32_t first; /* OJ_ARRAY/OJ_OBJECT: first child, 0 for none */
	uint32_t last;  /* OJ_ARRAY/OJ_OBJECT: last child (while parsing) */
	uint32_t next;  /* the next sibling, 0 for none */
	uint32_t count; /* OJ_ARRAY/OJ_OBJECT: number of children */
};

/* A parsed document; owns its memory. */
struct oj_doc {
	struct oj_node *nodes; /* nodes[0] unused */
	uint32_t n_nodes, cap_nodes;
	char *strings; /* decoded strings and numbers */
	size_t n_strings;
};

/* Parses text[0..len) into doc (which the caller frees with oj_free()).
 * Returns 0, or ALB_EPARSE with "<what>: <reason> at byte <n>" in err,
 * ALB_ETOOBIG past OJ_DEPTH_MAX, ALB_ENOMEM. */
int oj_parse(const char *text, size_t len, const char *what,
	     struct oj_doc *doc, struct alb_error *err);

/* Frees a document and empties it; NULL is a no-op. */
void oj_free(struct oj_doc *doc);

/* The root value of a parsed document. */
const struct oj_node *oj_root(const struct oj_doc *doc);

/* The member key of object obj (NULL when obj is not an object or has no
 * such member). */
const struct oj_node *oj_get(const struct oj_doc *doc,
			     const struct oj_node *obj, const char *key);

/* The first child of an array or object, and the sibling after n; NULL at
 * the end. */
const struct oj_node *oj_first(const struct oj_doc *doc,
			       const struct oj_node *n);
const struct oj_node *oj_next(const struct oj_doc *doc,
			      const struct oj_node *n);

/* A number that is an integer in [min, max] into *out. */
bool oj_int(const struct oj_node *n, int64_t min, int64_t max, int64_t *out);

/* Writes s[0..len) as a JSON string (quoted, escaped) to f. */
void oj_write_str(FILE *f, const char *s, size_t len);

/* Writes s (NUL-terminated) as a JSON string to f. */
void oj_write_cstr(FILE *f, const char *s);

#endif
