/* libalbatross — private: the resource trie (spec §3.4).
 * SPDX-License-Identifier: ISC
 *
 * A trie keyed by label lists, as Albatross's Vmm_trie: a canonical name
 * (name.h) is split into its path labels followed by its label, so the
 * root-level name "foo" and the path "foo:" are the SAME node (quirk kept
 * on purpose: path-aggregate queries on "foo:" see a root-level "foo").
 * Each node holds at most one value and remembers whether it was stored
 * under a path name or a labelled name, which decides how its name is
 * printed. Children are kept in a sorted array (bytewise label order), so
 * a lookup costs O(depth · log(children)) and allocates nothing.
 *
 * Names given to the trie must have the canonical structure (non-empty
 * path labels, at most ALB_NAME_MAX bytes); label characters are not
 * checked, the name module does that. */
#ifndef ALB_TRIE_H
#define ALB_TRIE_H

#include "albatross/common.h"
#include "albatross/name.h"

/** Most labels a key can have: a name of ALB_NAME_MAX bytes holds at most
 * this many one-byte labels ("a:a:...:a"). */
#define ALB_TRIE_DEPTH_MAX ((ALB_NAME_MAX + 1) / 2)

struct alb_trie;

/** Called for each entry of a traversal with the entry's name (valid only
 * during the call) and value. A non-zero return stops the traversal, which
 * then returns that value. */
typedef int (*alb_trie_fn)(const char *name, void *value, void *ctx);

/** A new empty trie, or NULL when out of memory. Free with alb_trie_free. */
struct alb_trie *alb_trie_new(void);

/** Frees the trie, calling free_value (if not NULL) on every value.
 * NULL is a no-op. */
void alb_trie_free(struct alb_trie *t, void (*free_value)(void *));

/** Stores value (not NULL) at name, replacing any value at that node; the
 * replaced value (or NULL) goes to *old when old is not NULL, and the caller
 * owns it. ALB_EINVAL for a malformed name or a NULL value, ALB_ETOOBIG for
 * a name longer than ALB_NAME_MAX, ALB_ENOMEM (trie unchanged). */
int alb_trie_insert(struct alb_trie *t, const char *name, void *value,
		    void **old, struct alb_error *err);

/** The value at name, or NULL (also for a malformed name). Borrowed: valid
 * until the entry is removed or replaced. */
void *alb_trie_find(const struct alb_trie *t, const char *name);

/** Removes the value at name and prunes nodes left empty. Returns the
 * removed value (the caller owns it), or NULL when there was none. */
void *alb_trie_remove(struct alb_trie *t, const char *name);

/** Number of values stored. */
size_t alb_trie_count(const struct alb_trie *t);

/** Folds over the subtree at the labels of path (any canonical name; only
 * its labels matter) in Albatross's order: post-order, children in
 * ascending bytewise label order, then the node. Names are relative to
 * path (the node itself is ":", a child value "x" is ":x", a child path
 * is "x:"). Returns 0, or the first non-zero return of fn. */
int alb_trie_fold(const struct alb_trie *t, const char *path, alb_trie_fn fn,
		  void *ctx);

/** Visits the values found along name's labels, deepest first: the node
 * of name, then each shorter prefix, then the root (only nodes that hold a
 * value). Names are full names. Returns 0 or the first non-zero of fn. */
int alb_trie_collect(const struct alb_trie *t, const char *name,
		     alb_trie_fn fn, void *ctx);

/** Visits every value in pre-order (a node, then its children in ascending
 * label order) with full names. Returns 0 or the first non-zero of fn. */
int alb_trie_all(const struct alb_trie *t, alb_trie_fn fn, void *ctx);

#endif
