/* libalbatross — unikernel info, the replies to info commands, in the
 * current and the two old grammars (spec §1.5.7).
 * SPDX-License-Identifier: ISC */
#include <string.h>

#include "base/internal.h"
#include "wire_internal.h"

static int dec_info_block(struct alb_dec *d, struct alb_der *c,
			  struct alb_info_block *b)
{
	struct alb_der s;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, NULL, d->err);
	if (rc == 0)
		rc = alb_dec_str(d, &s, &b->unikernel_device, "unikernel-device");
	if (rc == 0)
		rc = alb_dec_str(d, &s, &b->host_device, "host-device");
	if (rc == 0)
		rc = alb_der_get_int(&s, &b->sector_size, "sector-size", d->err);
	if (rc == 0)
		rc = alb_der_get_int(&s, &b->size, "block-size", d->err);
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

static int dec_info_net(struct alb_dec *d, struct alb_der *c, struct alb_info_net *b)
{
	struct alb_der s;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, NULL, d->err);
	if (rc == 0)
		rc = alb_dec_str(d, &s, &b->unikernel_device, "unikernel-device");
	if (rc == 0)
		rc = alb_dec_str(d, &s, &b->host_device, "host-device");
	if (rc == 0)
		rc = alb_dec_mac(d, &s, b->mac, "mac");
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

static int dec_info_devices(struct alb_dec *d, struct alb_der *s,
			    struct alb_unikernel_info *info)
{
	struct alb_der in, body;
	int rc = 0;
	if (alb_der_peek_is(s, ALB_DER_EXPLICIT(0))) {
		rc = alb_der_get_explicit(s, 0, &in, "blocks", d->err);
		if (rc == 0)
			rc = alb_dec_list(d, &in, ALB_DER_SET, &body, &info->n_blocks, "blocks");
		if (rc < 0)
			return rc;
		info->blocks = alb_dec_array(d, info->n_blocks, sizeof(*info->blocks));
		if (info->blocks == NULL)
			return alb_dec_nomem(d);
		for (size_t i = 0; i < info->n_blocks && rc == 0; i++)
			rc = dec_info_block(d, &body, &info->blocks[i]);
	}
	if (rc == 0 && alb_der_peek_is(s, ALB_DER_EXPLICIT(1))) {
		rc = alb_der_get_explicit(s, 1, &in, "bridges", d->err);
		if (rc == 0)
			rc = alb_dec_list(d, &in, ALB_DER_SET, &body, &info->n_bridges, "bridges");
		if (rc < 0)
			return rc;
		info->bridges = alb_dec_array(d, info->n_bridges, sizeof(*info->bridges));
		if (info->bridges == NULL)
			return alb_dec_nomem(d);
		for (size_t i = 0; i < info->n_bridges && rc == 0; i++)
			rc = dec_info_net(d, &body, &info->bridges[i]);
	}
	return rc;
}

int alb_dec_info(struct alb_dec *d, struct alb_der *c, enum alb_info_form f,
		 struct alb_unikernel_info *info, const char *label)
{
	struct alb_der s, in;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, label, d->err);
	if (rc < 0)
		return rc;
	memset(info, 0, sizeof(*info));
	info->numcpus = 1;
	rc = alb_dec_typ(d, &s, &info->typ);
	if (rc == 0 && f != ALB_INFO_OLD4 && alb_der_peek_is(&s, ALB_DER_INTEGER)) {
		info->has_startup = true;
		rc = alb_der_get_int(&s, &info->startup, "startup", d->err);
	}
	if (rc == 0)
		rc = alb_dec_fail(d, &s, &info->fail);
	if (rc == 0)
		rc = alb_dec_cpuids(d, &s, f == ALB_INFO_CURRENT, &info->n_cpuids,
				&info->cpuids);
	if (rc == 0)
		rc = alb_der_get_int(&s, &info->memory, "memory", d->err);
	if (rc == 0)
		rc = alb_dec_bytes(d, &s, &info->digest, "digest");
	if (rc == 0)
		rc = dec_info_devices(d, &s, info);
	if (rc == 0 && alb_der_peek_is(&s, ALB_DER_EXPLICIT(2)))
		rc = alb_dec_argv(d, &s, &info->has_argv, &info->n_argv, &info->argv);
	/* an absent start time decodes as the epoch (zeroed above) */
	if (rc == 0 && alb_der_peek_is(&s, ALB_DER_EXPLICIT(3))) {
		rc = alb_der_get_explicit(&s, 3, &in, "started", d->err);
		if (rc == 0)
			rc = alb_der_get_time(&in, &info->started, NULL, d->err);
	}
	if (rc == 0 && f == ALB_INFO_CURRENT && alb_der_peek_is(&s, ALB_DER_EXPLICIT(4))) {
		rc = alb_der_get_explicit(&s, 4, &in, "cpus", d->err);
		if (rc == 0)
			rc = alb_der_get_int(&in, &info->numcpus, NULL, d->err);
	}
	if (rc == 0 && f == ALB_INFO_CURRENT && alb_der_peek_is(&s, ALB_DER_EXPLICIT(5))) {
		rc = alb_der_get_explicit(&s, 5, &in, "linux_boot_partition", d->err);
		if (rc == 0)
			rc = alb_dec_str(d, &in, &info->linux_boot_partition, NULL);
	}
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

static void enc_info_devices(struct alb_derw *w, const struct alb_unikernel_info *info)
{
	if (info->n_bridges > 0) {
		size_t m = alb_derw_len(w);
		for (size_t i = info->n_bridges; i-- > 0;) {
			const struct alb_info_net *b = &info->bridges[i];
			size_t e = alb_derw_len(w);
			alb_derw_octets(w, b->mac, ALB_MAC_LEN);
			alb_enc_str(w, &b->host_device);
			alb_enc_str(w, &b->unikernel_device);
			alb_derw_close(w, ALB_DER_SEQUENCE, e);
		}
		alb_derw_close_set(w, m, false);
		alb_derw_close(w, ALB_DER_EXPLICIT(1), m);
	}
	if (info->n_blocks > 0) {
		size_t m = alb_derw_len(w);
		for (size_t i = info->n_blocks; i-- > 0;) {
			const struct alb_info_block *b = &info->blocks[i];
			size_t e = alb_derw_len(w);
			alb_derw_int(w, b->size);
			alb_derw_int(w, b->sector_size);
			alb_enc_str(w, &b->host_device);
			alb_enc_str(w, &b->unikernel_device);
			alb_derw_close(w, ALB_DER_SEQUENCE, e);
		}
		alb_derw_close_set(w, m, false);
		alb_derw_close(w, ALB_DER_EXPLICIT(0), m);
	}
}

/* The old info grammars hold one cpuid; Albatross raises otherwise. */
static bool single_cpuid(const struct alb_unikernel_info *info, int64_t *v)
{
	if (info->n_cpuids == 0)
		return false;
	for (size_t i = 1; i < info->n_cpuids; i++)
		if (info->cpuids[i] != info->cpuids[0])
			return false;
	*v = info->cpuids[0];
	return true;
}

void alb_enc_info(struct alb_derw *w, const struct alb_unikernel_info *info,
		  enum alb_info_form f)
{
	size_t m = alb_derw_len(w), e;
	int64_t cpuid = 0;
	if (f != ALB_INFO_CURRENT && !single_cpuid(info, &cpuid)) {
		alb_derw_fail(w, ALB_EINVAL,
			      "old unikernel info needs exactly one CPU id");
		return;
	}
	if (f == ALB_INFO_CURRENT) {
		if (info->linux_boot_partition.ptr != NULL) {
			e = alb_derw_len(w);
			alb_enc_str(w, &info->linux_boot_partition);
			alb_derw_close(w, ALB_DER_EXPLICIT(5), e);
		}
		e = alb_derw_len(w);
		alb_derw_int(w, info->numcpus);
		alb_derw_close(w, ALB_DER_EXPLICIT(4), e);
	}
	/* started is always written */
	e = alb_derw_len(w);
	alb_derw_time(w, &info->started);
	alb_derw_close(w, ALB_DER_EXPLICIT(3), e);
	alb_enc_argv(w, info->has_argv, info->n_argv, info->argv);
	enc_info_devices(w, info);
	alb_derw_octets(w, info->digest.ptr, info->digest.len);
	alb_derw_int(w, info->memory);
	if (f == ALB_INFO_CURRENT)
		alb_enc_int_set(w, info->n_cpuids, info->cpuids);
	else
		alb_derw_int(w, cpuid);
	alb_enc_fail(w, &info->fail);
	if (f != ALB_INFO_OLD4 && info->has_startup)
		alb_derw_int(w, info->startup);
	alb_enc_typ(w, info->typ);
	alb_derw_close(w, ALB_DER_SEQUENCE, m);
}
