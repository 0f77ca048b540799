/* libalbatross — unikernel configurations (every version), restart
 * arguments, policies, and the pieces they share with unikernel info
 * (spec §1.5).
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "wire_internal.h"

/* Fields of each configuration grammar, in wire order (spec §1.5.4–6). */
struct cfg_grammar {
	bool image;     /* typ, compressed, image lead (configs, not args) */
	bool startup;   /* startup OPTIONAL and add_name are present */
	bool cpuid_set; /* cpuids SET OF INTEGER, else a single cpuid */
	int devices;    /* 1: names only, 2: v2 bridges, 3: full records */
	bool cpus;      /* [3] cpus and [4] linux_boot_partition */
};

static const struct cfg_grammar grammars[] = {
	[ALB_CFG_V1] = {true, false, false, 1, false},
	[ALB_CFG_V2] = {true, false, false, 2, false},
	[ALB_CFG_V3] = {true, false, false, 3, false},
	[ALB_CFG_V4] = {true, true, false, 3, false},
	[ALB_CFG_CURRENT] = {true, true, true, 3, true},
	[ALB_ARGS_V0] = {false, false, false, 3, false},
	[ALB_ARGS_V1] = {false, true, false, 3, false},
	[ALB_ARGS_CURRENT] = {false, true, true, 3, true},
};

/* ---- typ and fail behaviour ------------------------------------------ */

int alb_dec_typ(struct alb_dec *d, struct alb_der *c, enum alb_typ *typ)
{
	unsigned n = 0;
	struct alb_der in;
	int rc = alb_der_get_choice(c, ALB_ALT(0) | ALB_ALT(1), &n, &in, "typ", d->err);
	if (rc == 0)
		rc = alb_der_get_null(&in, NULL, d->err);
	*typ = n == 0 ? ALB_TYP_SOLO5 : ALB_TYP_BHYVE;
	return rc;
}

void alb_enc_typ(struct alb_derw *w, enum alb_typ typ)
{
	if (typ != ALB_TYP_SOLO5 && typ != ALB_TYP_BHYVE) {
		alb_derw_fail(w, ALB_EINVAL, "unknown unikernel type");
		return;
	}
	size_t m = alb_derw_len(w);
	alb_derw_null(w);
	alb_derw_close(w, ALB_DER_EXPLICIT(typ == ALB_TYP_SOLO5 ? 0 : 1), m);
}

/* A SET OF INTEGER into a sorted, duplicate-free arena array. */
static int dec_int_set(struct alb_dec *d, struct alb_der *c, size_t *n,
		       int64_t **out, const char *label)
{
	struct alb_der body;
	size_t k;
	int rc = alb_dec_list(d, c, ALB_DER_SET, &body, &k, label);
	if (rc < 0)
		return rc;
	int64_t *v = alb_dec_array(d, k, sizeof(*v));
	if (v == NULL)
		return alb_dec_nomem(d);
	for (size_t i = 0; i < k; i++) {
		rc = alb_der_get_int(&body, &v[i], label, d->err);
		if (rc < 0)
			return rc;
	}
	*n = alb_sort_ints(v, k);
	*out = v;
	return 0;
}

void alb_enc_int_set(struct alb_derw *w, size_t n, const int64_t *v)
{
	size_t m = alb_derw_len(w);
	for (size_t i = n; i-- > 0;)
		alb_derw_int(w, v[i]);
	alb_derw_close_set(w, m, true);
}

int alb_dec_fail(struct alb_dec *d, struct alb_der *c, struct alb_fail *f)
{
	unsigned n = 0;
	struct alb_der in;
	int rc = alb_der_get_choice(c, ALB_ALT(0) | ALB_ALT(1), &n, &in,
				    "fail-behaviour", d->err);
	if (rc < 0)
		return rc;
	memset(f, 0, sizeof(*f));
	if (n == 0)
		return alb_der_get_null(&in, NULL, d->err);
	f->restart = true;
	return dec_int_set(d, &in, &f->n_exit_codes, &f->exit_codes, "exit codes");
}

void alb_enc_fail(struct alb_derw *w, const struct alb_fail *f)
{
	size_t m = alb_derw_len(w);
	if (f->restart) {
		alb_enc_int_set(w, f->n_exit_codes, f->exit_codes);
		alb_derw_close(w, ALB_DER_EXPLICIT(1), m);
	} else {
		alb_derw_null(w);
		alb_derw_close(w, ALB_DER_EXPLICIT(0), m);
	}
}

/* cpuids: a SET OF INTEGER, or in the old grammars a single INTEGER. */
int alb_dec_cpuids(struct alb_dec *d, struct alb_der *c, bool set, size_t *n,
		      int64_t **out)
{
	if (set)
		return dec_int_set(d, c, n, out, "cpuids");
	int64_t *v = alb_dec_array(d, 1, sizeof(*v));
	if (v == NULL)
		return alb_dec_nomem(d);
	*n = 1;
	*out = v;
	return alb_der_get_int(c, v, "cpuid", d->err);
}

/* ---- devices ----------------------------------------------------------- */

static int dec_block_dev(struct alb_dec *d, struct alb_der *c, int devices,
			 struct alb_block_dev *b)
{
	if (devices < 3)
		return alb_dec_str(d, c, &b->name, "block-name");
	struct alb_der s;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, NULL, d->err);
	if (rc == 0)
		rc = alb_dec_str(d, &s, &b->name, "block-name");
	if (rc == 0)
		rc = alb_dec_opt_str(d, &s, &b->device, "block-device-name");
	if (rc == 0 && alb_der_peek_is(&s, ALB_DER_INTEGER)) {
		b->has_sector_size = true;
		rc = alb_der_get_int(&s, &b->sector_size, "block-sector-size", d->err);
	}
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

static int dec_net_dev(struct alb_dec *d, struct alb_der *c, int devices,
		       struct alb_net_dev *b)
{
	if (devices == 1)
		return alb_dec_str(d, c, &b->netif, "netif");
	struct alb_der s;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, NULL, d->err);
	if (rc == 0)
		rc = alb_dec_str(d, &s, &b->netif, "netif");
	if (rc == 0)
		rc = alb_dec_opt_str(d, &s, &b->bridge, "bridge");
	if (rc == 0 && devices == 3 && alb_der_peek_is(&s, ALB_DER_OCTET_STRING)) {
		b->has_mac = true;
		rc = alb_dec_mac(d, &s, b->mac, "mac");
	}
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

static int dec_blocks(struct alb_dec *d, struct alb_der *c, int devices,
		      struct alb_unikernel_config *cfg)
{
	struct alb_der in, body;
	int rc = alb_der_get_explicit(c, 0, &in, "blocks", d->err);
	if (rc == 0)
		rc = alb_dec_list(d, &in, ALB_DER_SET, &body, &cfg->n_blocks, "blocks");
	if (rc < 0)
		return rc;
	cfg->blocks = alb_dec_array(d, cfg->n_blocks, sizeof(*cfg->blocks));
	if (cfg->blocks == NULL)
		return alb_dec_nomem(d);
	for (size_t i = 0; i < cfg->n_blocks && rc == 0; i++)
		rc = dec_block_dev(d, &body, devices, &cfg->blocks[i]);
	return rc;
}

static int dec_bridges(struct alb_dec *d, struct alb_der *c, int devices,
		       struct alb_unikernel_config *cfg)
{
	struct alb_der in, body;
	/* v2 stored its bridges as a SEQUENCE OF, the others as a SET OF */
	unsigned tag = devices == 2 ? ALB_DER_SEQUENCE : ALB_DER_SET;
	int rc = alb_der_get_explicit(c, 1, &in, "bridges", d->err);
	if (rc == 0)
		rc = alb_dec_list(d, &in, tag, &body, &cfg->n_bridges, "bridges");
	if (rc < 0)
		return rc;
	cfg->bridges = alb_dec_array(d, cfg->n_bridges, sizeof(*cfg->bridges));
	if (cfg->bridges == NULL)
		return alb_dec_nomem(d);
	for (size_t i = 0; i < cfg->n_bridges && rc == 0; i++)
		rc = dec_net_dev(d, &body, devices, &cfg->bridges[i]);
	return rc;
}

int alb_dec_argv(struct alb_dec *d, struct alb_der *c, bool *has, size_t *n,
		    struct alb_str **argv)
{
	struct alb_der in;
	int rc = alb_der_get_explicit(c, 2, &in, "arguments", d->err);
	if (rc < 0)
		return rc;
	*has = true;
	return alb_dec_str_list(d, &in, n, argv, "arguments");
}

static void enc_block_devs(struct alb_derw *w, size_t n, const struct alb_block_dev *v)
{
	size_t m = alb_derw_len(w);
	for (size_t i = n; i-- > 0;) {
		size_t e = alb_derw_len(w);
		if (v[i].has_sector_size)
			alb_derw_int(w, v[i].sector_size);
		if (v[i].device.ptr != NULL)
			alb_enc_str(w, &v[i].device);
		alb_enc_str(w, &v[i].name);
		alb_derw_close(w, ALB_DER_SEQUENCE, e);
	}
	alb_derw_close_set(w, m, false);
	alb_derw_close(w, ALB_DER_EXPLICIT(0), m);
}

static void enc_net_devs(struct alb_derw *w, size_t n, const struct alb_net_dev *v)
{
	size_t m = alb_derw_len(w);
	for (size_t i = n; i-- > 0;) {
		size_t e = alb_derw_len(w);
		if (v[i].has_mac)
			alb_derw_octets(w, v[i].mac, ALB_MAC_LEN);
		if (v[i].bridge.ptr != NULL)
			alb_enc_str(w, &v[i].bridge);
		alb_enc_str(w, &v[i].netif);
		alb_derw_close(w, ALB_DER_SEQUENCE, e);
	}
	alb_derw_close_set(w, m, false);
	alb_derw_close(w, ALB_DER_EXPLICIT(1), m);
}

/* ---- configurations ---------------------------------------------------- */

/* The v0 grammar of the oldest state files (spec §1.5.5). */
static int dec_config_v0(struct alb_dec *d, struct alb_der *s,
			 struct alb_unikernel_config *cfg)
{
	int rc = alb_dec_cpuids(d, s, false, &cfg->n_cpuids, &cfg->cpuids);
	if (rc == 0)
		rc = alb_der_get_int(s, &cfg->memory, "memory", d->err);
	if (rc == 0 && alb_der_peek_is(s, ALB_DER_UTF8STRING)) {
		cfg->blocks = alb_dec_array(d, 1, sizeof(*cfg->blocks));
		if (cfg->blocks == NULL)
			return alb_dec_nomem(d);
		cfg->n_blocks = 1;
		rc = alb_dec_str(d, s, &cfg->blocks[0].name, "block");
	}
	if (rc == 0 && alb_der_peek_is(s, ALB_DER_SEQUENCE)) {
		struct alb_str *nets;
		rc = alb_dec_str_list(d, s, &cfg->n_bridges, &nets, "network-interfaces");
		if (rc < 0)
			return rc;
		cfg->bridges = alb_dec_array(d, cfg->n_bridges, sizeof(*cfg->bridges));
		if (cfg->bridges == NULL)
			return alb_dec_nomem(d);
		for (size_t i = 0; i < cfg->n_bridges; i++)
			cfg->bridges[i].netif = nets[i];
	}
	if (rc < 0)
		return rc;
	/* image: [0] hvt-amd64, [1] hvt-arm64, [2] hvt-amd64-compressed */
	unsigned n = 0;
	struct alb_der in;
	rc = alb_der_get_choice(s, ALB_ALT(0) | ALB_ALT(1) | ALB_ALT(2), &n, &in,
				"image", d->err);
	if (rc == 0)
		rc = alb_dec_bytes(d, &in, &cfg->image, NULL);
	cfg->compressed = n == 2;
	if (rc == 0 && alb_der_peek_is(s, ALB_DER_SEQUENCE)) {
		cfg->has_argv = true;
		rc = alb_dec_str_list(d, s, &cfg->n_argv, &cfg->argv, "arguments");
	}
	return rc;
}

int alb_dec_config(struct alb_dec *d, struct alb_der *c, enum alb_cfg_form f,
		   struct alb_unikernel_config *cfg, const char *label)
{
	struct alb_der s;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, label, d->err);
	if (rc < 0)
		return rc;
	memset(cfg, 0, sizeof(*cfg));
	/* defaults of the fields older grammars lack (spec §1.5.5) */
	cfg->typ = ALB_TYP_SOLO5;
	cfg->add_name = true;
	cfg->numcpus = 1;
	if (f == ALB_CFG_V0) {
		rc = dec_config_v0(d, &s, cfg);
		return rc < 0 ? rc : alb_der_end(&s, d->err);
	}
	const struct cfg_grammar *g = &grammars[f];
	if (g->image) {
		rc = alb_dec_typ(d, &s, &cfg->typ);
		if (rc == 0)
			rc = alb_der_get_bool(&s, &cfg->compressed, "compressed", d->err);
		if (rc == 0)
			rc = alb_dec_bytes(d, &s, &cfg->image, "image");
	} else {
		rc = alb_dec_fail(d, &s, &cfg->fail);
	}
	if (rc == 0 && g->startup) {
		if (alb_der_peek_is(&s, ALB_DER_INTEGER)) {
			cfg->has_startup = true;
			rc = alb_der_get_int(&s, &cfg->startup, "startup", d->err);
		}
		if (rc == 0)
			rc = alb_der_get_bool(&s, &cfg->add_name, "add_name", d->err);
	}
	if (rc == 0 && g->image)
		rc = alb_dec_fail(d, &s, &cfg->fail);
	if (rc == 0)
		rc = alb_dec_cpuids(d, &s, g->cpuid_set, &cfg->n_cpuids, &cfg->cpuids);
	if (rc == 0)
		rc = alb_der_get_int(&s, &cfg->memory, "memory", d->err);
	if (rc == 0 && alb_der_peek_is(&s, ALB_DER_EXPLICIT(0)))
		rc = dec_blocks(d, &s, g->devices, cfg);
	if (rc == 0 && alb_der_peek_is(&s, ALB_DER_EXPLICIT(1)))
		rc = dec_bridges(d, &s, g->devices, cfg);
	if (rc == 0 && alb_der_peek_is(&s, ALB_DER_EXPLICIT(2)))
		rc = alb_dec_argv(d, &s, &cfg->has_argv, &cfg->n_argv, &cfg->argv);
	if (rc == 0 && g->cpus && alb_der_peek_is(&s, ALB_DER_EXPLICIT(3))) {
		struct alb_der in;
		rc = alb_der_get_explicit(&s, 3, &in, "cpus", d->err);
		if (rc == 0)
			rc = alb_der_get_int(&in, &cfg->numcpus, NULL, d->err);
	}
	if (rc == 0 && g->cpus && alb_der_peek_is(&s, ALB_DER_EXPLICIT(4))) {
		struct alb_der in;
		rc = alb_der_get_explicit(&s, 4, &in, "linux_boot_partition", d->err);
		if (rc == 0)
			rc = alb_dec_str(d, &in, &cfg->linux_boot_partition, NULL);
	}
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

void alb_enc_argv(struct alb_derw *w, bool has, size_t n, const struct alb_str *v)
{
	if (!has)
		return;
	size_t m = alb_derw_len(w);
	alb_enc_str_list(w, n, v);
	alb_derw_close(w, ALB_DER_EXPLICIT(2), m);
}

void alb_enc_config(struct alb_derw *w, const struct alb_unikernel_config *cfg,
		    bool args)
{
	size_t m = alb_derw_len(w), e;
	if (cfg->linux_boot_partition.ptr != NULL) {
		e = alb_derw_len(w);
		alb_enc_str(w, &cfg->linux_boot_partition);
		alb_derw_close(w, ALB_DER_EXPLICIT(4), e);
	}
	/* cpus is always written, whatever its value */
	e = alb_derw_len(w);
	alb_derw_int(w, cfg->numcpus);
	alb_derw_close(w, ALB_DER_EXPLICIT(3), e);
	alb_enc_argv(w, cfg->has_argv, cfg->n_argv, cfg->argv);
	/* empty device lists are omitted, not written empty */
	if (cfg->n_bridges > 0)
		enc_net_devs(w, cfg->n_bridges, cfg->bridges);
	if (cfg->n_blocks > 0)
		enc_block_devs(w, cfg->n_blocks, cfg->blocks);
	alb_derw_int(w, cfg->memory);
	alb_enc_int_set(w, cfg->n_cpuids, cfg->cpuids);
	if (!args)
		alb_enc_fail(w, &cfg->fail);
	alb_derw_bool(w, cfg->add_name);
	if (cfg->has_startup)
		alb_derw_int(w, cfg->startup);
	if (args) {
		alb_enc_fail(w, &cfg->fail);
	} else {
		alb_derw_octets(w, cfg->image.ptr, cfg->image.len);
		alb_derw_bool(w, cfg->compressed);
		alb_enc_typ(w, cfg->typ);
	}
	alb_derw_close(w, ALB_DER_SEQUENCE, m);
}

/* ---- policies (spec §1.5.1) -------------------------------------------- */

int alb_dec_policy(struct alb_dec *d, struct alb_der *c, struct alb_policy *p,
		   const char *label)
{
	struct alb_der s, body;
	size_t n;
	memset(p, 0, sizeof(*p));
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, label, d->err);
	if (rc == 0)
		rc = alb_dec_list(d, &s, ALB_DER_SEQUENCE, &body, &n, "cpuids");
	if (rc < 0)
		return rc;
	p->cpuids = alb_dec_array(d, n, sizeof(*p->cpuids));
	if (p->cpuids == NULL)
		return alb_dec_nomem(d);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = alb_der_get_int(&body, &p->cpuids[i], NULL, d->err);
	/* cpuids and bridges are sets: sorted, without duplicates */
	p->n_cpuids = alb_sort_ints(p->cpuids, n);
	if (rc == 0)
		rc = alb_der_get_int(&s, &p->unikernels, "unikernels", d->err);
	if (rc == 0)
		rc = alb_der_get_int(&s, &p->memory, "memory", d->err);
	if (rc == 0 && alb_der_peek_is(&s, ALB_DER_INTEGER)) {
		p->has_block = true;
		rc = alb_der_get_int(&s, &p->block, "block", d->err);
	}
	if (rc == 0)
		rc = alb_dec_str_list(d, &s, &n, &p->bridges, "bridges");
	if (rc < 0)
		return rc;
	p->n_bridges = alb_sort_strs(p->bridges, n);
	return alb_der_end(&s, d->err);
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return alb_str_cmp(*(const struct alb_str *const *)a,
			   *(const struct alb_str *const *)b);
}

/* Small sets are sorted on the stack; larger ones need the heap. */
#define POLICY_STACK_SET 64

static void enc_policy_cpuids(struct alb_derw *w, const struct alb_policy *p)
{
	int64_t stack[POLICY_STACK_SET];
	int64_t *v = p->n_cpuids <= POLICY_STACK_SET ? stack
						     : malloc(p->n_cpuids * sizeof(*v));
	if (v == NULL) {
		alb_derw_fail(w, ALB_ENOMEM, "out of memory");
		return;
	}
	if (p->n_cpuids > 0)
		memcpy(v, p->cpuids, p->n_cpuids * sizeof(*v));
	size_t n = alb_sort_ints(v, p->n_cpuids);
	size_t m = alb_derw_len(w);
	for (size_t i = n; i-- > 0;)
		alb_derw_int(w, v[i]);
	alb_derw_close(w, ALB_DER_SEQUENCE, m);
	if (v != stack)
		free(v);
}

static void enc_policy_bridges(struct alb_derw *w, const struct alb_policy *p)
{
	const struct alb_str *stack[POLICY_STACK_SET];
	const struct alb_str **v = p->n_bridges <= POLICY_STACK_SET
					   ? stack
					   : malloc(p->n_bridges * sizeof(*v));
	if (v == NULL) {
		alb_derw_fail(w, ALB_ENOMEM, "out of memory");
		return;
	}
	for (size_t i = 0; i < p->n_bridges; i++)
		v[i] = &p->bridges[i];
	if (p->n_bridges > 1)
		qsort(v, p->n_bridges, sizeof(*v), str_ptr_cmp);
	size_t m = alb_derw_len(w);
	for (size_t i = p->n_bridges; i-- > 0;) {
		if (i > 0 && alb_str_cmp(v[i], v[i - 1]) == 0)
			continue;
		alb_enc_str(w, v[i]);
	}
	alb_derw_close(w, ALB_DER_SEQUENCE, m);
	if (v != stack)
		free(v);
}

void alb_enc_policy(struct alb_derw *w, const struct alb_policy *p)
{
	size_t m = alb_derw_len(w);
	enc_policy_bridges(w, p);
	if (p->has_block)
		alb_derw_int(w, p->block);
	alb_derw_int(w, p->memory);
	alb_derw_int(w, p->unikernels);
	enc_policy_cpuids(w, p);
	alb_derw_close(w, ALB_DER_SEQUENCE, m);
}
