/* libalbatross — vmmd: the durable state, what <dbdir>/state and the
 * journal hold together (doc/journal.md): the configurations of the
 * unikernels that run or wait for their restart, by name, and the
 * policies, by path. It changes only when a journal record is on disk, so
 * a compaction that writes it never writes a change that a failed append
 * refused. Loaded at startup (state file, then every journal segment in
 * order), written by compaction in the state file's own format.
 * SPDX-License-Identifier: ISC */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/journal_file.h"
#include "io/state_file.h"
#include "proto/state_codec.h"
#include "vmmd_persist.h"

static void free_cfg(void *p)
{
	config_free(p);
}

static void free_pol(void *p)
{
	alb_policy_free(p);
}

int durable_init(struct durable *d)
{
	d->uks = alb_trie_new();
	d->pols = alb_trie_new();
	d->store = NULL;
	vlist_init(&d->filerefs);
	if (d->uks == NULL || d->pols == NULL) {
		durable_free(d);
		return ALB_ENOMEM;
	}
	return 0;
}

void durable_free(struct durable *d)
{
	if (d->filerefs.next != NULL)
		filerefs_drop(&d->filerefs, UINT64_MAX);
	alb_trie_free(d->uks, free_cfg);
	alb_trie_free(d->pols, free_pol);
	d->uks = d->pols = NULL;
	imgstore_close(d->store);
	d->store = NULL;
}

int durable_set_uk(struct durable *d, const char *name,
		   struct alb_unikernel_config *cfg, struct alb_error *err)
{
	if (cfg == NULL) {
		config_free(alb_trie_remove(d->uks, name));
		return 0;
	}
	void *old = NULL;
	int rc = alb_trie_insert(d->uks, name, config_retain(cfg), &old, err);
	if (rc != 0) {
		config_free(cfg);
		return rc;
	}
	config_free(old);
	return 0;
}

int durable_set_policy(struct durable *d, const char *path,
		       const struct alb_policy *p, struct alb_error *err)
{
	if (p == NULL) {
		alb_policy_free(alb_trie_remove(d->pols, path));
		return 0;
	}
	struct alb_policy *copy = NULL;
	int rc = alb_policy_copy(p, &copy, err);
	if (rc != 0)
		return rc;
	void *old = NULL;
	rc = alb_trie_insert(d->pols, path, copy, &old, err);
	if (rc != 0) {
		alb_policy_free(copy);
		return rc;
	}
	alb_policy_free(old);
	return 0;
}

/* ---- loading ------------------------------------------------------------------ */

/* Sets name to copy, a configuration made for it (NULL: out of memory),
 * whose reference this takes. */
static int set_copy(struct durable *d, const char *name,
		    struct alb_unikernel_config *copy, struct alb_error *err)
{
	if (copy == NULL)
		return alb_fail(err, ALB_ENOMEM, "out of memory for %s", name);
	int rc = durable_set_uk(d, name, copy, err);
	config_free(copy);
	return rc;
}

struct replaying {
	struct durable *d;
	uint64_t seg;
	struct imgmap *map; /* the segment's mapping, or NULL (read) */
};

/* A configuration's copy whose image of at least VMMD_IMAGE_MAP_MIN
 * bytes stays in map (config_mapped()), where the decoding borrowed it;
 * a copy of all of it otherwise (map NULL, or a smaller image). */
static struct alb_unikernel_config *copy_from(const struct alb_unikernel_config *c,
					      struct imgmap *map)
{
	return map != NULL && c->image.len >= VMMD_IMAGE_MAP_MIN
		       ? config_mapped(c, map, c->image.ptr)
		       : config_copy(c, NULL);
}

/* A record naming an image file: the file is mapped and checked against
 * the record, the configuration takes it, and so does the record. */
static int set_config_file(struct replaying *r, const char *name,
			   const struct alb_journal_change *c,
			   struct alb_error *err)
{
	struct imgfile *f = NULL;
	int rc = imgfile_open(r->d->store, &c->file, &f, err);
	if (rc != 0)
		return rc;
	struct alb_unikernel_config *copy = config_with_file(&c->config, f);
	if (copy == NULL)
		rc = alb_fail(err, ALB_ENOMEM, "out of memory for %s", name);
	if (rc == 0)
		rc = durable_set_uk(r->d, name, copy, err);
	if (rc == 0 && filerefs_add(&r->d->filerefs, r->seg, f) != 0)
		rc = alb_fail(err, ALB_ENOMEM, "out of memory for %s", name);
	config_free(copy);
	imgfile_release(f);
	return rc;
}

static int apply(void *ctx, const struct alb_journal_change *c,
		 struct alb_error *err)
{
	struct replaying *r = ctx;
	struct durable *d = r->d;
	switch (c->kind) {
	case ALB_JOURNAL_UNIKERNEL:
		return set_copy(d, c->name, copy_from(&c->config, r->map), err);
	case ALB_JOURNAL_UNIKERNEL_FILE:
		return set_config_file(r, c->name, c, err);
	case ALB_JOURNAL_UNIKERNEL_GONE:
		return durable_set_uk(d, c->name, NULL, err);
	case ALB_JOURNAL_POLICY:
		return durable_set_policy(d, c->name, &c->policy, err);
	case ALB_JOURNAL_POLICY_GONE:
		return durable_set_policy(d, c->name, NULL, err);
	}
	return alb_fail(err, ALB_EPARSE, "unknown journal record");
}

/* The unikernels and policies of the state file, decoded from its
 * mapping: the configurations' images of at least VMMD_IMAGE_MAP_MIN
 * bytes stay there (config_mapped()), the others are copied. */
static int load_state(struct durable *d, const char *dbdir,
		      struct alb_error *err)
{
	uint64_t size;
	int fd = alb_state_file_open(dbdir, ALB_STATE_NAME, &size, err);
	if (fd < 0)
		return fd;
	struct imgmap *map = NULL;
	struct alb_buf b = {0};
	int rc = 0;
	if (size > 0)
		map = imgmap_new(d->store, fd, 0, (size_t)size, err);
	close(fd);
	if (map == NULL) {
		/* read (as is an empty file): only memory is at stake */
		if (size > 0)
			alb_log_warn("vmmd: %s/" ALB_STATE_NAME " not mapped: %s",
				     dbdir, err->msg);
		rc = alb_state_file_read_bytes(dbdir, ALB_STATE_NAME, &b, err);
		if (rc != 0)
			return rc;
	}
	const uint8_t *bytes = map != NULL ? imgmap_data(map) : b.data;
	size_t len = map != NULL ? (size_t)size : b.len;
	struct alb_state *st = NULL;
	rc = alb_state_decode(bytes, len, ALB_DECODE_BORROW, &st, err);
	for (size_t i = 0; rc == 0 && i < st->n_unikernels; i++) {
		const struct alb_unikernel_config *c = &st->unikernels[i].config;
		rc = set_copy(d, st->unikernels[i].name, copy_from(c, map), err);
	}
	for (size_t i = 0; rc == 0 && i < st->n_policies; i++)
		rc = durable_set_policy(d, st->policies[i].name,
					&st->policies[i].policy, err);
	alb_state_free(st);
	imgmap_release(map);
	alb_buf_free(&b);
	return rc;
}

/* Replays segment id over d, mapped as the state file is (load_state()):
 * the images of at least VMMD_IMAGE_MAP_MIN bytes stay in the segment's
 * mapping; a segment that cannot be mapped is read, and they are copied. */
static int replay_segment(struct durable *d, const char *dbdir, uint64_t id,
			  struct alb_journal_replay_stats *rs,
			  struct alb_error *err)
{
	memset(rs, 0, sizeof(*rs));
	uint64_t size;
	int fd = alb_journal_open(dbdir, id, &size, err);
	if (fd < 0)
		return fd;
	struct replaying r = {.d = d, .seg = id};
	struct alb_error e = {0};
	if (size > 0)
		r.map = imgmap_new(d->store, fd, 0, (size_t)size, &e);
	close(fd);
	if (r.map == NULL && size > 0)
		alb_log_warn("vmmd: %s/" ALB_JOURNAL_PREFIX "%" PRIu64
			     " not mapped: %s", dbdir, id, e.msg);
	int rc = r.map != NULL
			 ? alb_journal_replay_mapped(dbdir, id, imgmap_data(r.map),
						     size, apply, &r, rs, err)
			 : alb_journal_replay(dbdir, id, apply, &r, rs, err);
	imgmap_release(r.map);
	return rc;
}

int durable_load(struct durable *d, const char *dbdir,
		 struct durable_load_info *info, struct alb_error *err)
{
	memset(info, 0, sizeof(*info));
	int rc = d->store != NULL ? 0 : imgstore_open(dbdir, &d->store, err);
	if (rc != 0)
		return rc;
	rc = load_state(d, dbdir, err);
	if (rc == ALB_ENOENT)
		rc = 0;
	else if (rc != 0)
		return rc;
	else
		info->have_state = true;
	uint64_t *ids = NULL;
	size_t n = 0;
	rc = alb_journal_list(dbdir, &ids, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct alb_journal_replay_stats rs;
		rc = replay_segment(d, dbdir, ids[i], &rs, err);
		info->records += rs.records;
		info->torn += rs.torn;
	}
	if (rc == 0 && n > 0) {
		info->segments = n;
		info->last_seg = ids[n - 1];
	}
	free(ids);
	return rc;
}

/* ---- snapshots and the state file ---------------------------------------------- */

void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		config_free(s->cfgs[i]);
		free(s->names[i]);
	}
	for (size_t i = 0; i < s->np; i++) {
		alb_policy_free(s->pol_copies[i]);
		free((char *)s->pols[i].name);
	}
	free(s->names);
	free(s->cfgs);
	free(s->pols);
	free(s->pol_copies);
	memset(s, 0, sizeof(*s));
}

static int take_uk(const char *name, void *value, void *ctx)
{
	struct snapshot *s = ctx;
	char *copy = strdup(name);
	if (copy == NULL)
		return ALB_ENOMEM;
	s->names[s->n] = copy;
	s->cfgs[s->n] = config_retain(value);
	s->n++;
	return 0;
}

static int take_policy(const char *name, void *value, void *ctx)
{
	struct snapshot *s = ctx;
	char *copy = strdup(name);
	struct alb_policy *p = NULL;
	if (copy == NULL || alb_policy_copy(value, &p, NULL) != 0) {
		free(copy);
		return ALB_ENOMEM;
	}
	s->pols[s->np] = (struct alb_named_policy){.name = copy, .policy = *p};
	s->pol_copies[s->np] = p;
	s->np++;
	return 0;
}

int durable_snapshot(const struct durable *d, struct snapshot *s,
		     struct alb_error *err)
{
	memset(s, 0, sizeof(*s));
	size_t n = alb_trie_count(d->uks), np = alb_trie_count(d->pols);
	s->names = calloc(n ? n : 1, sizeof(*s->names));
	s->cfgs = calloc(n ? n : 1, sizeof(*s->cfgs));
	s->pols = calloc(np ? np : 1, sizeof(*s->pols));
	s->pol_copies = calloc(np ? np : 1, sizeof(*s->pol_copies));
	int rc = ALB_ENOMEM;
	if (s->names != NULL && s->cfgs != NULL && s->pols != NULL &&
	    s->pol_copies != NULL)
		rc = alb_trie_all(d->uks, take_uk, s);
	if (rc == 0)
		rc = alb_trie_all(d->pols, take_policy, s);
	if (rc != 0) {
		snapshot_free(s);
		return alb_fail(err, ALB_ENOMEM, "out of memory");
	}
	return 0;
}

static int by_name(const void *a, const void *b, void *ctx)
{
	char *const *names = ctx;
	return alb_name_cmp(names[*(const size_t *)a], names[*(const size_t *)b]);
}

/* The file is a head (lengths), each unikernel's entry in name order and
 * a tail (the policies): an entry is encoded once per configuration and
 * kept with it, and the images are written from the configurations
 * themselves, so a write costs the I/O, not an encoding of every
 * unikernel. */
int snapshot_write(const char *dbdir, const struct snapshot *s,
		   const struct alb_io_yield *y, uint64_t *bytes,
		   struct alb_error *err)
{
	size_t *order = calloc(s->n ? s->n : 1, sizeof(*order));
	struct iovec *iov = calloc(2 + 3 * s->n, sizeof(*iov));
	struct alb_buf head = {0}, tail = {0};
	int rc = 0;
	if (order == NULL || iov == NULL) {
		rc = alb_fail(err, ALB_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < s->n; i++)
		order[i] = i;
	qsort_r(order, s->n, sizeof(*order), by_name, s->names);
	size_t k = 1, total = 0;
	for (size_t i = 0; i < s->n; i++) {
		size_t len;
		rc = config_entry_pieces(s->cfgs[order[i]], s->names[order[i]],
					 iov + k, &len, err);
		if (rc != 0)
			goto out;
		k += 3;
		total += len;
	}
	rc = alb_state_encode_frame(s->pols, s->np, total, &head, &tail, err);
	if (rc != 0)
		goto out;
	iov[0] = (struct iovec){head.data, head.len};
	iov[k++] = (struct iovec){tail.data, tail.len};
	rc = alb_state_file_write_iov(dbdir, iov, k, y, err);
	if (rc == 0)
		*bytes = head.len + total + tail.len;
out:
	alb_buf_free(&head);
	alb_buf_free(&tail);
	free(iov);
	free(order);
	return rc;
}
