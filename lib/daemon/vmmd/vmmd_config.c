/* libalbatross — vmmd: copies of unikernel configurations, in one
 * allocation each, so that a running unikernel owns its configuration
 * independently of the message or state file it came from. The image, the
 * only large part, is not copied when it need not be: a create's stays in
 * the frame it came in (config_adopt()) until it is durable, then is
 * mapped from its journal record, as a restored one from the state file
 * (config_mapped()); a streamed one is
 * its file's mapping (config_with_file()); a restart's is shared with the
 * configuration it restarts (config_share(), config_merge()). A copy
 * carries a reference count in front of it, so that a state write in the
 * threadpool can keep the configurations it encodes while the loop
 * replaces them; the count is only touched on the loop thread.
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "io/state_file.h"
#include "proto/state_codec.h"
#include "vmmd_internal.h"

#define ALIGN8(n) (((n) + 7u) & ~(size_t)7u)

/* The count, and the copy's state file entry once encoded: by the
 * journal's append that carries the copy's first record (in the
 * threadpool, holding a reference; nothing else reads it before that
 * append is done), or on the loop when the durable state is loaded. A
 * compaction reads only entries encoded already. */
struct cfg_meta {
	size_t refs;
	bool has_entry;
	struct alb_state_entry entry;
	struct alb_buf frame; /* the frame the image lies in (config_adopt()) */
	uint64_t seg, off; /* where its record holds it (config_locate()) */
	struct imgfile *file; /* the file it lies in (config_with_file()) */
	struct imgmap *map;   /* the mapping it lies in (config_mapped()) */
	/* the copy whose image this one shares (config_share()), held */
	struct alb_unikernel_config *image_of;
};

union cfg_head {
	struct cfg_meta m;
	max_align_t align;
};

static union cfg_head *head_of(struct alb_unikernel_config *c)
{
	return (union cfg_head *)(void *)((char *)c - sizeof(union cfg_head));
}

struct alb_unikernel_config *config_retain(struct alb_unikernel_config *c)
{
	head_of(c)->m.refs++;
	return c;
}

void config_free(struct alb_unikernel_config *c)
{
	if (c != NULL && --head_of(c)->m.refs == 0) {
		alb_state_entry_free(&head_of(c)->m.entry);
		alb_buf_free(&head_of(c)->m.frame);
		imgfile_release(head_of(c)->m.file);
		imgmap_release(head_of(c)->m.map);
		config_free(head_of(c)->m.image_of);
		free(head_of(c));
	}
}

const struct alb_state_entry *config_state_entry(struct alb_unikernel_config *c,
						 const char *name,
						 struct alb_error *err)
{
	struct cfg_meta *m = &head_of(c)->m;
	if (!m->has_entry) {
		if (alb_state_entry_encode(name, c, &m->entry, err) != 0)
			return NULL;
		m->has_entry = true;
	}
	return &m->entry;
}

int config_entry_pieces(struct alb_unikernel_config *c, const char *name,
			struct iovec piece[3], size_t *len,
			struct alb_error *err)
{
	const struct alb_state_entry *e = config_state_entry(c, name, err);
	if (e == NULL)
		return err != NULL && err->code != 0 ? err->code : ALB_ENOMEM;
	piece[0] = (struct iovec){e->bytes, e->cut};
	piece[1] = (struct iovec){(void *)c->image.ptr, e->image};
	piece[2] = (struct iovec){e->bytes + e->cut, e->len - e->cut};
	/* smaller than the memory holding it: no wrap */
	*len = e->len + e->image;
	return 0;
}

/* A bump allocator over one block whose size was computed first. */
struct bump {
	uint8_t *p;
	size_t left;
};

static void *take(struct bump *b, size_t n)
{
	n = ALIGN8(n);
	if (n > b->left)
		return NULL; /* cannot happen: the size was computed first */
	void *r = b->p;
	b->p += n;
	b->left -= n;
	return r;
}

/* Adds n to *total, false on overflow. */
static bool add(size_t *total, size_t n)
{
	size_t a = ALIGN8(n);
	if (a < n || *total > SIZE_MAX - a)
		return false;
	*total += a;
	return true;
}

static bool add_array(size_t *total, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return false;
	return add(total, n * size);
}

static bool add_str(size_t *total, const struct alb_str *s)
{
	return s->ptr == NULL || (s->len < SIZE_MAX && add(total, s->len + 1));
}

static void copy_str(struct bump *b, struct alb_str *dst,
		     const struct alb_str *src)
{
	if (src->ptr == NULL) {
		*dst = (struct alb_str){NULL, 0};
		return;
	}
	char *p = take(b, src->len + 1);
	if (src->len > 0)
		memcpy(p, src->ptr, src->len);
	p[src->len] = '\0';
	*dst = (struct alb_str){p, src->len};
}

static bool size_of(const struct alb_unikernel_config *c,
		    const struct alb_bytes *image, size_t *total)
{
	*total = 0;
	bool ok = add(total, sizeof(*c)) && add(total, image->len) &&
		  add_array(total, c->fail.n_exit_codes, sizeof(int64_t)) &&
		  add_array(total, c->n_cpuids, sizeof(int64_t)) &&
		  add_array(total, c->n_blocks, sizeof(struct alb_block_dev)) &&
		  add_array(total, c->n_bridges, sizeof(struct alb_net_dev)) &&
		  add_array(total, c->n_argv, sizeof(struct alb_str)) &&
		  add_str(total, &c->linux_boot_partition);
	for (size_t i = 0; ok && i < c->n_blocks; i++)
		ok = add_str(total, &c->blocks[i].name) &&
		     add_str(total, &c->blocks[i].device);
	for (size_t i = 0; ok && i < c->n_bridges; i++)
		ok = add_str(total, &c->bridges[i].netif) &&
		     add_str(total, &c->bridges[i].bridge);
	for (size_t i = 0; ok && i < c->n_argv; i++)
		ok = add_str(total, &c->argv[i]);
	return ok;
}

static void *copy_array(struct bump *b, const void *src, size_t n, size_t size)
{
	void *dst = take(b, n * size);
	if (n > 0)
		memcpy(dst, src, n * size);
	return dst;
}

struct alb_unikernel_config *config_copy(const struct alb_unikernel_config *c,
					 const struct alb_bytes *image)
{
	const struct alb_bytes *img = image != NULL ? image : &c->image;
	size_t total;
	if (!size_of(c, img, &total) || total > SIZE_MAX - sizeof(union cfg_head))
		return NULL;
	union cfg_head *h = malloc(sizeof(*h) + total);
	if (h == NULL)
		return NULL;
	h->m = (struct cfg_meta){.refs = 1};
	struct bump b = {(uint8_t *)(h + 1), total};
	struct alb_unikernel_config *d = take(&b, sizeof(*d));
	*d = *c;
	uint8_t *ip = take(&b, img->len);
	if (img->len > 0)
		memcpy(ip, img->ptr, img->len);
	d->image = (struct alb_bytes){ip, img->len};
	d->fail.exit_codes = copy_array(&b, c->fail.exit_codes,
					c->fail.n_exit_codes, sizeof(int64_t));
	d->cpuids = copy_array(&b, c->cpuids, c->n_cpuids, sizeof(int64_t));
	d->blocks = copy_array(&b, c->blocks, c->n_blocks,
			       sizeof(struct alb_block_dev));
	d->bridges = copy_array(&b, c->bridges, c->n_bridges,
				sizeof(struct alb_net_dev));
	d->argv = copy_array(&b, c->argv, c->n_argv, sizeof(struct alb_str));
	copy_str(&b, &d->linux_boot_partition, &c->linux_boot_partition);
	for (size_t i = 0; i < c->n_blocks; i++) {
		copy_str(&b, &d->blocks[i].name, &c->blocks[i].name);
		copy_str(&b, &d->blocks[i].device, &c->blocks[i].device);
	}
	for (size_t i = 0; i < c->n_bridges; i++) {
		copy_str(&b, &d->bridges[i].netif, &c->bridges[i].netif);
		copy_str(&b, &d->bridges[i].bridge, &c->bridges[i].bridge);
	}
	for (size_t i = 0; i < c->n_argv; i++)
		copy_str(&b, &d->argv[i], &c->argv[i]);
	return d;
}

struct alb_unikernel_config *config_adopt(const struct alb_unikernel_config *c,
					  struct alb_buf *frame)
{
	const uint8_t *ip = c->image.ptr;
	if (frame == NULL || frame->data == NULL || c->image.len == 0 ||
	    ip < frame->data || c->image.len > frame->len ||
	    (size_t)(ip - frame->data) > frame->len - c->image.len)
		return config_copy(c, NULL);
	const struct alb_bytes none = {NULL, 0};
	struct alb_unikernel_config *d = config_copy(c, &none);
	if (d == NULL)
		return NULL;
	d->image = c->image;
	head_of(d)->m.frame = *frame;
	memset(frame, 0, sizeof(*frame));
	return d;
}

struct alb_unikernel_config *config_with_file(const struct alb_unikernel_config *c,
					      struct imgfile *f)
{
	const struct alb_bytes none = {NULL, 0};
	struct alb_unikernel_config *d = config_copy(c, &none);
	if (d == NULL)
		return NULL;
	d->image = (struct alb_bytes){f->map, (size_t)f->id.len};
	head_of(d)->m.file = imgfile_retain(f);
	return d;
}

void config_locate(struct alb_unikernel_config *c, uint64_t seg,
		   uint64_t off)
{
	head_of(c)->m.seg = seg;
	head_of(c)->m.off = off;
}

bool config_located(struct alb_unikernel_config *c, uint64_t *seg,
		    uint64_t *off)
{
	const struct cfg_meta *m = &head_of(c)->m;
	*seg = m->seg;
	*off = m->off;
	return m->frame.base_ != NULL && m->seg != 0;
}

struct alb_unikernel_config *config_mapped(const struct alb_unikernel_config *c,
					   struct imgmap *map,
					   const uint8_t *image)
{
	const struct alb_bytes none = {NULL, 0};
	struct alb_unikernel_config *d = config_copy(c, &none);
	if (d == NULL)
		return NULL;
	d->image = (struct alb_bytes){image, c->image.len};
	head_of(d)->m.map = imgmap_retain(map);
	return d;
}

struct imgfile *config_image_file(struct alb_unikernel_config *c)
{
	struct alb_unikernel_config *root = head_of(c)->m.image_of;
	return head_of(root != NULL ? root : c)->m.file;
}

/* A copy of c whose image is the one of the copy owner (held, not
 * copied): the copy that has it itself, so that restarts do not chain. */
static struct alb_unikernel_config *copy_sharing(const struct alb_unikernel_config *c,
						 struct alb_unikernel_config *owner)
{
	struct alb_unikernel_config *root = head_of(owner)->m.image_of;
	if (root == NULL)
		root = owner;
	const struct alb_bytes none = {NULL, 0};
	struct alb_unikernel_config *d = config_copy(c, &none);
	if (d == NULL)
		return NULL;
	d->image = root->image;
	head_of(d)->m.image_of = config_retain(root);
	return d;
}

struct alb_unikernel_config *config_share(struct alb_unikernel_config *c)
{
	return copy_sharing(c, c);
}

struct alb_unikernel_config *config_merge(struct alb_unikernel_config *old,
					  const struct alb_unikernel_config *args)
{
	/* A shallow combination first; the copy makes it self-contained
	 * but for the image, which it shares with old. */
	struct alb_unikernel_config m = *args;
	m.typ = old->typ;
	m.compressed = old->compressed;
	m.image = old->image;
	return copy_sharing(&m, old);
}
