/* libalbatross — sets of integers and strings (private to the library).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_BASE_SORT_H
#define ALB_BASE_SORT_H

#include "albatross/common.h"

/* Sets (of CPU ids, of bridge names), as Albatross's Set modules keep
 * them; also used by the policy module. */

/** Sorts ascending and removes duplicates; returns the new count. */
size_t alb_sort_ints(int64_t *v, size_t n);
/** Same for strings (the structs are moved, the bytes stay). */
size_t alb_sort_strs(struct alb_str *v, size_t n);
/** Bytewise order of strings (OCaml's String.compare); a NULL ptr (len 0)
 * is the empty string. */
int alb_str_cmp(const struct alb_str *a, const struct alb_str *b);
/** qsort()/bsearch() comparators over int64_t and struct alb_str. */
int alb_int_qcmp(const void *a, const void *b);
int alb_str_qcmp(const void *a, const void *b);

#endif
