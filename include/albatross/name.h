/* libalbatross — labels, paths and names (spec §3).
 * SPDX-License-Identifier: ISC
 *
 * A name is kept in its canonical string form, NUL-terminated: the path's
 * labels joined by ':' followed by ':' and the (possibly empty) label.
 *   root ":"   (root, hello) ":hello"   path foo "foo:"   (a:b, c) "a:b:c"
 * The last ':' always separates path and label, so most operations are
 * plain string operations on that form. Labels are lowercase ASCII
 * [a-z0-9.-], 1..63 bytes, not starting with '-'. */
#ifndef ALBATROSS_NAME_H
#define ALBATROSS_NAME_H

#include "albatross/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest label (spec §3.1). */
#define ALB_LABEL_MAX 63
/** Longest canonical name string we accept, in bytes (without the NUL).
 * Albatross has no limit; 1023 allows 15 nested 63-byte labels. */
#define ALB_NAME_MAX 1023
/** Size of a buffer that holds any canonical name with its NUL. */
#define ALB_NAME_BUF (ALB_NAME_MAX + 1)

/** True when s[0..len) is a valid label (case-insensitive). */
ALB_EXPORT bool alb_label_valid(const char *s, size_t len);

/** Parses a name string as Albatross's Name.of_string does (spec §3.3) and
 * writes its canonical form to out (ALB_NAME_BUF bytes). Errors
 * (ALB_EPARSE, text in err): "empty name", "invalid name",
 * "invalid path: invalid label (only [a-zA-Z0-9-.] allowed, 1 to 63 chars)";
 * ALB_ETOOBIG past ALB_NAME_MAX. */
ALB_EXPORT int alb_name_parse(const char *s, size_t len, char *out,
			      struct alb_error *err);

/** Parses a path string ("a:b", ":a:b", "" = root; spec §3.2) and writes
 * the canonical name of that path (no label: "a:b:", root ":") to out. */
ALB_EXPORT int alb_path_parse(const char *s, size_t len, char *out,
			      struct alb_error *err);

/** True when the canonical name has no label (it denotes a path). */
ALB_EXPORT bool alb_name_is_path(const char *name);

/** True for the root name ":". */
ALB_EXPORT bool alb_name_is_root(const char *name);

/** The label of a canonical name (empty for a path); returns its length
 * and points *label into name. */
ALB_EXPORT size_t alb_name_label(const char *name, const char **label);

/** Length of the path part of a canonical name, without the separating
 * ':' ("a:b:c" -> 3 for "a:b", ":x" -> 0). */
ALB_EXPORT size_t alb_name_path_len(const char *name);

/** Writes the canonical name of the path of name (its label dropped):
 * "a:b:c" -> "a:b:", ":x" -> ":", "a:b:" -> "a:b:". */
ALB_EXPORT void alb_name_path(const char *name, char *out);

/** Writes the parent path of a path name ("a:b:" -> "a:", "a:" -> ":",
 * ":" -> ":"). For a name with a label, the name's path. */
ALB_EXPORT void alb_name_parent(const char *name, char *out);

/** Builds name (path, label) from a canonical path name and a label
 * (label may be NULL or empty for the path itself). ALB_ETOOBIG when too
 * long, ALB_EPARSE when the label is invalid. */
ALB_EXPORT int alb_name_make(const char *path, const char *label, char *out,
			     struct alb_error *err);

/** True when name lies in the subtree of the path name `path` (the path
 * itself included; spec §3.4 quirk: root-level "foo" is in path "foo:"). */
ALB_EXPORT bool alb_name_under(const char *name, const char *path);

/** The name relative to a queried path (spec §3.4): path labels removed,
 * e.g. ("foo:bar", "foo:") -> ":bar", ("a:b:c", "a:") -> "b:c",
 * anything relative to ":" is itself. name must be under path. */
ALB_EXPORT void alb_name_relative(const char *name, const char *path,
				  char *out);

/** Number of labels (path labels plus the label if any). */
ALB_EXPORT size_t alb_name_depth(const char *name);

/** Compares two canonical names in Albatross's trie order (label lists
 * compared label by label, bytewise; a prefix sorts first), the order of
 * state files and listings. Returns <0, 0, >0. */
ALB_EXPORT int alb_name_cmp(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif
