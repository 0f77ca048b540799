/* libalbatross — vmmd: unikernel info (current, old info4 and info5) and
 * get (spec §5.6, §5.8, §6.12). Path queries list the subtree with names
 * relative to the path, in the order of Albatross's reply; a name query
 * answers with the full name. Block sizes are looked up in the
 * unikernel's own path (Albatross uses the possibly relative name and
 * reports 0 for path queries: a bug not copied).
 * SPDX-License-Identifier: ISC */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/wire_codec.h"
#include "vmmd_internal.h"

struct item {
	size_t name; /* offset of the name in the list's names */
	struct uk *u;
};

/* The unikernels a query lists, their names one after the other in one
 * buffer (one allocation for all, not one each). */
struct list {
	struct item *v;
	size_t n, cap;
	char *names;
	size_t names_len, names_cap;
	bool nomem;
};

static int add(struct list *l, const char *name, struct uk *u)
{
	size_t len = strlen(name) + 1;
	if (!alb_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) ||
	    !alb_grow((void **)&l->names, &l->names_cap, l->names_len + len, 1)) {
		l->nomem = true;
		return ALB_ENOMEM;
	}
	memcpy(l->names + l->names_len, name, len);
	l->v[l->n++] = (struct item){l->names_len, u};
	l->names_len += len;
	return 0;
}

static int collect(const char *name, void *value, void *ctx)
{
	struct uk *u = value;
	if (!uk_visible(u))
		return 0;
	return add(ctx, name, u);
}

static void list_free(struct list *l)
{
	free(l->v);
	free(l->names);
}

/* Fills one info from a running unikernel; blocks and nets are arrays of
 * its config's sizes, owned by the caller. */
static void fill(const struct alb_vmmd *v, const struct uk *u,
		 struct alb_unikernel_info *in, struct alb_info_block *blocks,
		 struct alb_info_net *nets)
{
	const struct alb_unikernel_config *c = u->cfg;
	char path[ALB_NAME_BUF];
	alb_name_path(u->name, path);
	*in = (struct alb_unikernel_info){
		.typ = c->typ,
		.has_startup = c->has_startup,
		.startup = c->startup,
		.fail = c->fail,
		.n_cpuids = c->n_cpuids,
		.cpuids = c->cpuids,
		.memory = c->memory,
		.digest = {u->digest, ALB_SHA256_LEN},
		.n_blocks = c->n_blocks,
		.blocks = blocks,
		.n_bridges = c->n_bridges,
		.bridges = nets,
		.has_argv = c->has_argv,
		.n_argv = c->n_argv,
		.argv = c->argv,
		.started = u->started,
		.numcpus = c->numcpus,
		.linux_boot_partition = c->linux_boot_partition,
	};
	for (size_t i = 0; i < c->n_blocks; i++) {
		const struct alb_block_dev *b = &c->blocks[i];
		const struct alb_str *host = b->device.ptr ? &b->device : &b->name;
		int64_t size = 0;
		char bname[ALB_NAME_BUF];
		if (alb_name_make(path, host->ptr, bname, NULL) != 0 ||
		    alb_resources_block_find(v->res, bname, &size, NULL) != 0)
			size = 0;
		blocks[i] = (struct alb_info_block){
			.unikernel_device = b->name,
			.host_device = *host,
			/* Solo5's default, as Albatross reports it */
			.sector_size = b->has_sector_size ? b->sector_size : 512,
			.size = size,
		};
	}
	for (size_t i = 0; i < c->n_bridges; i++) {
		const struct alb_net_dev *d = &c->bridges[i];
		nets[i].unikernel_device = d->netif;
		nets[i].host_device = d->bridge.ptr ? d->bridge : d->netif;
		/* the MAC actually used (u->macs pairs with the config's order) */
		if (u->macs != NULL && i < u->n_taps)
			memcpy(nets[i].mac, u->macs[i], ALB_MAC_LEN);
		else
			memcpy(nets[i].mac, d->mac, ALB_MAC_LEN);
	}
}

/* u's info as DER, made again when what it shows changed since. */
static const struct alb_buf *info_der(const struct alb_vmmd *v, struct uk *u)
{
	const struct alb_unikernel_config *c = u->cfg;
	if (u->info_der.data != NULL && u->info_cfg == c &&
	    u->info_started.sec == u->started.sec &&
	    u->info_started.nsec == u->started.nsec &&
	    (c->n_blocks == 0 || u->info_gen == v->blocks_gen))
		return &u->info_der;
	alb_buf_free(&u->info_der);
	struct alb_unikernel_info in;
	struct alb_info_block *blocks = calloc(c->n_blocks + 1, sizeof(*blocks));
	struct alb_info_net *nets = calloc(c->n_bridges + 1, sizeof(*nets));
	int rc = ALB_ENOMEM;
	if (blocks != NULL && nets != NULL) {
		fill(v, u, &in, blocks, nets);
		rc = alb_info_der(&in, &u->info_der, NULL);
	}
	free(blocks);
	free(nets);
	if (rc != 0)
		return NULL;
	u->info_cfg = c;
	u->info_started = u->started;
	u->info_gen = v->blocks_gen;
	return &u->info_der;
}

/* The current form: each unikernel's info is encoded once and kept, so
 * an info of many copies bytes. */
static void reply_current(struct conn *c, const struct hdr *h,
			  const struct list *l)
{
	struct alb_info_der *parts = calloc(l->n + 1, sizeof(*parts));
	bool ok = parts != NULL;
	/* Albatross prepends while folding: the reverse of the fold */
	for (size_t i = 0; ok && i < l->n; i++) {
		const struct item *it = &l->v[l->n - 1 - i];
		const struct alb_buf *der = info_der(c->v, it->u);
		ok = der != NULL;
		if (ok)
			parts[i] = (struct alb_info_der){l->names + it->name,
							 der->data, der->len};
	}
	if (ok)
		conn_reply_info_der(c, h, parts, l->n);
	else
		conn_reply_failure(c, h, "out of memory");
	free(parts);
}

void vmmd_info_cmd(struct conn *c, const struct alb_msg *m)
{
	struct alb_vmmd *v = c->v;
	struct hdr h;
	hdr_copy(&h, &m->header);
	struct list l = {0};
	if (alb_name_is_path(h.name)) {
		alb_trie_fold(v->uks, h.name, collect, &l);
	} else {
		struct uk *u = uk_find(v, h.name);
		if (u != NULL && uk_visible(u))
			add(&l, h.name, u);
	}
	if (m->u.command.kind == ALB_CMD_UNIKERNEL_INFO && !l.nomem) {
		reply_current(c, &h, &l);
		list_free(&l);
		conn_done(c);
		return;
	}
	size_t nb = 0, nn = 0;
	for (size_t i = 0; i < l.n; i++) {
		nb += l.v[i].u->cfg->n_blocks;
		nn += l.v[i].u->cfg->n_bridges;
	}
	struct alb_named_info *infos = calloc(l.n ? l.n : 1, sizeof(*infos));
	struct alb_info_block *blocks = calloc(nb ? nb : 1, sizeof(*blocks));
	struct alb_info_net *nets = calloc(nn ? nn : 1, sizeof(*nets));
	if (l.nomem || infos == NULL || blocks == NULL || nets == NULL) {
		conn_reply_failure(c, &h, "out of memory");
	} else {
		size_t bi = 0, ni = 0;
		/* Albatross prepends while folding: the reverse of the fold */
		for (size_t i = 0; i < l.n; i++) {
			const struct item *it = &l.v[l.n - 1 - i];
			infos[i].name = l.names + it->name;
			fill(v, it->u, &infos[i].info, blocks + bi, nets + ni);
			bi += it->u->cfg->n_blocks;
			ni += it->u->cfg->n_bridges;
		}
		struct alb_reply r = {.kind = ALB_REPLY_UNIKERNEL_INFO};
		if (m->u.command.kind == ALB_CMD_OLD_UNIKERNEL_INFO4)
			r.kind = ALB_REPLY_OLD_UNIKERNEL_INFO4;
		else if (m->u.command.kind == ALB_CMD_OLD_UNIKERNEL_INFO5)
			r.kind = ALB_REPLY_OLD_UNIKERNEL_INFO5;
		r.u.infos.n = l.n;
		r.u.infos.v = infos;
		/* an old form cannot carry several CPU ids: the encoder refuses
		 * and the client gets that as a failure (Albatross crashes) */
		conn_reply(c, &h, &r);
	}
	free(infos);
	free(blocks);
	free(nets);
	list_free(&l);
	conn_done(c);
}

/* ---- get ------------------------------------------------------------------- */

struct zjob {
	uv_work_t work;
	struct conn *c;
	struct hdr h;
	uint8_t *in;        /* owned */
	size_t in_len;
	bool inflate;       /* else deflate at level */
	int level;
	enum alb_reply_kind kind;
	struct alb_buf out;
	int rc;
	struct alb_error err;
};

static void zjob_work(uv_work_t *w)
{
	struct zjob *j = w->data;
	if (j->inflate)
		j->rc = alb_zlib_inflate(j->in, j->in_len, ALB_IMAGE_MAX, &j->out,
					 &j->err);
	else
		j->rc = alb_zlib_deflate(j->in, j->in_len, j->level, &j->out,
					 &j->err);
}

static void zjob_after(uv_work_t *w, int status)
{
	(void)status;
	struct zjob *j = w->data;
	struct alb_vmmd *v = j->c->v;
	if (j->rc != 0) {
		char msg[ALB_ERROR_MSG_MAX + 32];
		snprintf(msg, sizeof(msg), "%s%s",
			 j->inflate ? "failed to uncompress: " : "", j->err.msg);
		conn_reply_failure(j->c, &j->h, msg);
	} else {
		struct alb_reply r = {.kind = j->kind};
		r.u.image.compressed = !j->inflate;
		r.u.image.data = (struct alb_bytes){j->out.data, j->out.len};
		conn_reply(j->c, &j->h, &r);
	}
	conn_done(j->c);
	free(j->in);
	alb_buf_free(&j->out);
	free(j);
	vmmd_job_end(v);
}

void zlib_reply(struct conn *c, const struct hdr *h, uint8_t *in, size_t len,
		bool inflate, int level, enum alb_reply_kind kind)
{
	struct alb_vmmd *v = c->v;
	struct zjob *j = calloc(1, sizeof(*j));
	if (j == NULL) {
		free(in);
		conn_reply_failure(c, h, "out of memory");
		conn_done(c);
		return;
	}
	*j = (struct zjob){.c = c, .h = *h, .in = in, .in_len = len,
			   .inflate = inflate, .level = level, .kind = kind};
	j->work.data = j;
	vmmd_job_begin(v);
	uv_queue_work(v->loop, &j->work, zjob_work, zjob_after);
}

void vmmd_get_cmd(struct conn *c, const struct alb_msg *m)
{
	struct alb_vmmd *v = c->v;
	struct hdr h;
	hdr_copy(&h, &m->header);
	const struct uk *u = uk_find(v, h.name);
	if (u == NULL || !uk_visible(u)) {
		conn_reply_failure(c, &h, "get: no unikernel found");
		conn_done(c);
		return;
	}
	int64_t level = m->u.command.u.level;
	if (level < 0 || level > 9) {
		char msg[64];
		snprintf(msg, sizeof(msg), "invalid compression level %lld",
			 (long long)level);
		conn_reply_failure(c, &h, msg);
		conn_done(c);
		return;
	}
	struct alb_unikernel_config *cfg = u->cfg;
	/* as stored when no transformation is asked for (spec §5.6) */
	if (cfg->compressed == (level > 0)) {
		conn_reply_image(c, &h, cfg);
		conn_done(c);
		return;
	}
	/* (de)compression of up to ALB_IMAGE_MAX bytes stays off the loop;
	 * the job works on a copy, the unikernel may go meanwhile */
	uint8_t *copy = malloc(cfg->image.len ? cfg->image.len : 1);
	if (copy == NULL) {
		conn_reply_failure(c, &h, "out of memory");
		conn_done(c);
		return;
	}
	if (cfg->image.len > 0)
		memcpy(copy, cfg->image.ptr, cfg->image.len);
	zlib_reply(c, &h, copy, cfg->image.len, cfg->compressed, (int)level,
		   ALB_REPLY_UNIKERNEL_IMAGE);
}
