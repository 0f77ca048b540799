/* libalbatross — vmmd: the journal segments that images are mapped from
 * (doc/journal.md, "Images mapped from the journal"). Once a create is
 * done and its record durable, its image is read from the record's bytes
 * in the segment, mapped, and the frame it came in is freed (a create's
 * frame is then memory used before, not new memory). A pin holds the
 * segment open for the mappings: one reference per configuration mapped
 * from it, and one for a compaction that removes it while it runs. Such
 * a compaction only unlinks the segment (truncated, its mappings would
 * fault); its blocks are freed once the last reference is dropped, a step
 * at a time in the threadpool. Everything here runs on the loop thread.
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <unistd.h>

#include "vmmd_internal.h"

struct segpin {
	struct vlist link;
	struct alb_vmmd *v;
	uint64_t seg;
	int fd;
	size_t refs;
	bool unlinked; /* by a compaction: no name left */
};

struct segpin *segpin_get(struct alb_vmmd *v, uint64_t seg, int fd)
{
	for (struct vlist *e = v->segpins.next; e != &v->segpins; e = e->next) {
		struct segpin *p = vlist_entry(e, struct segpin, link);
		if (p->seg == seg && !p->unlinked)
			return segpin_retain(p);
	}
	struct segpin *p = malloc(sizeof(*p));
	if (p == NULL)
		return NULL;
	*p = (struct segpin){.v = v, .seg = seg, .refs = 1};
	p->fd = dup(fd);
	if (p->fd < 0) {
		free(p);
		return NULL;
	}
	vlist_push(&v->segpins, &p->link);
	return p;
}

struct segpin *segpin_retain(struct segpin *p)
{
	p->refs++;
	return p;
}

int segpin_fd(const struct segpin *p)
{
	return p->fd;
}

void segpin_release(struct segpin *p)
{
	if (p == NULL || --p->refs > 0)
		return;
	vlist_del(&p->link);
	if (p->unlinked)
		vmmd_close_gradually(p->v, p->fd);
	else
		close(p->fd);
	free(p);
}

int segpins_upto(struct alb_vmmd *v, uint64_t upto, struct segpin ***pins,
		 uint64_t **ids, size_t *n)
{
	*pins = NULL;
	*ids = NULL;
	*n = 0;
	size_t k = 0;
	for (struct vlist *e = v->segpins.next; e != &v->segpins; e = e->next) {
		struct segpin *p = vlist_entry(e, struct segpin, link);
		k += !p->unlinked && p->seg <= upto;
	}
	if (k == 0)
		return 0;
	*pins = calloc(k, sizeof(**pins));
	*ids = calloc(k, sizeof(**ids));
	if (*pins == NULL || *ids == NULL) {
		free(*pins);
		free(*ids);
		*pins = NULL;
		*ids = NULL;
		return ALB_ENOMEM;
	}
	for (struct vlist *e = v->segpins.next; e != &v->segpins; e = e->next) {
		struct segpin *p = vlist_entry(e, struct segpin, link);
		if (!p->unlinked && p->seg <= upto) {
			(*ids)[*n] = p->seg;
			(*pins)[(*n)++] = segpin_retain(p);
		}
	}
	return 0;
}

void segpins_removed(struct segpin **pins, uint64_t *ids, size_t n,
		     bool unlinked)
{
	for (size_t i = 0; i < n; i++) {
		pins[i]->unlinked = pins[i]->unlinked || unlinked;
		segpin_release(pins[i]);
	}
	free(pins);
	free(ids);
}
