/* libalbatross — data messages (spec §1.8): statistics, console lines and
 * block data.
 * SPDX-License-Identifier: ISC */
#include <stddef.h>
#include <string.h>

#include "base/internal.h"
#include "wire_internal.h"

/* A field read or written by table: its label and place in the struct. */
struct field {
	const char *label;
	size_t off;
};

#define RU(f, l) {l, offsetof(struct alb_rusage, f)}
static const struct field rusage_int64s[] = {
	RU(maxrss, "maxrss"), RU(ixrss, "ixrss"), RU(idrss, "idrss"),
	RU(isrss, "isrss"), RU(minflt, "minflt"), RU(majflt, "majflt"),
	RU(nswap, "nswap"), RU(inblock, "inblock"), RU(oublock, "outblock"),
	RU(msgsnd, "msgsnd"), RU(msgrcv, "msgrcv"), RU(nsignals, "nsignals"),
	RU(nvcsw, "nvcsw"), RU(nivcsw, "nivcsw"),
};

#define IF(f, l) {l, offsetof(struct alb_ifdata, f)}
static const struct field ifdata_int32s[] = {
	IF(flags, "flags"), IF(send_length, "send-length"),
	IF(max_send_length, "max-send-length"), IF(send_drops, "send-drops"),
	IF(mtu, "mtu"),
};
static const struct field ifdata_int64s[] = {
	IF(baudrate, "baudrate"), IF(input_packets, "input-packets"),
	IF(input_errors, "input-errors"), IF(output_packets, "output-packets"),
	IF(output_errors, "output-errors"), IF(collisions, "collisions"),
	IF(input_bytes, "input-bytes"), IF(output_bytes, "output-bytes"),
	IF(input_mcast, "input-mcast"), IF(output_mcast, "output-mcast"),
	IF(input_dropped, "input-dropped"), IF(output_dropped, "output-dropped"),
};

#define KM(f, l) {l, offsetof(struct alb_kinfo_mem, f)}
static const struct field kinfo_int64s[] = {
	KM(vsize, "bsize"), KM(rss, "rss"),         KM(tsize, "tsize"),
	KM(dsize, "dsize"), KM(ssize, "ssize"),     KM(runtime, "runtime"),
};

static int64_t *int64_at(void *base, const struct field *f)
{
	return (int64_t *)((char *)base + f->off);
}

static const int64_t *cint64_at(const void *base, const struct field *f)
{
	return (const int64_t *)((const char *)base + f->off);
}

static int dec_int64s(struct alb_dec *d, struct alb_der *s, void *base,
		      const struct field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = alb_der_get_int64(s, int64_at(base, &f[i]), f[i].label, d->err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void enc_int64s(struct alb_derw *w, const void *base, const struct field *f,
		       size_t n)
{
	for (size_t i = n; i-- > 0;)
		alb_derw_int64(w, *cint64_at(base, &f[i]));
}

static int dec_timeval(struct alb_dec *d, struct alb_der *c, struct alb_timeval *tv,
		       const char *label)
{
	struct alb_der s;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, label, d->err);
	if (rc == 0)
		rc = alb_der_get_int64(&s, &tv->sec, "seconds", d->err);
	if (rc == 0)
		rc = alb_der_get_int(&s, &tv->usec, "microseconds", d->err);
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

static void enc_timeval(struct alb_derw *w, const struct alb_timeval *tv)
{
	size_t m = alb_derw_len(w);
	alb_derw_int(w, tv->usec);
	alb_derw_int64(w, tv->sec);
	alb_derw_close(w, ALB_DER_SEQUENCE, m);
}

static int dec_rusage(struct alb_dec *d, struct alb_der *c, struct alb_rusage *ru)
{
	struct alb_der s;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, "resource-usage", d->err);
	if (rc == 0)
		rc = dec_timeval(d, &s, &ru->utime, "utime");
	if (rc == 0)
		rc = dec_timeval(d, &s, &ru->stime, "stime");
	if (rc == 0)
		rc = dec_int64s(d, &s, ru, rusage_int64s, ALB_ARRAY_LEN(rusage_int64s));
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

static int dec_ifdata(struct alb_dec *d, struct alb_der *c, struct alb_ifdata *ifd)
{
	struct alb_der s;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, NULL, d->err);
	if (rc == 0)
		rc = alb_dec_str(d, &s, &ifd->bridge, "bridge");
	for (size_t i = 0; i < ALB_ARRAY_LEN(ifdata_int32s) && rc == 0; i++) {
		const struct field *f = &ifdata_int32s[i];
		rc = alb_der_get_int32(&s, (int32_t *)((char *)ifd + f->off), f->label,
				       d->err);
	}
	if (rc == 0)
		rc = dec_int64s(d, &s, ifd, ifdata_int64s, ALB_ARRAY_LEN(ifdata_int64s));
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

static int dec_vmm(struct alb_dec *d, struct alb_der *c, struct alb_stats *st)
{
	struct alb_der in, body;
	int rc = alb_der_get_explicit(c, 0, &in, "vmm-stats", d->err);
	if (rc == 0)
		rc = alb_dec_list(d, &in, ALB_DER_SEQUENCE, &body, &st->n_vmm, "vmm-stats");
	if (rc < 0)
		return rc;
	st->has_vmm = true;
	st->vmm = alb_dec_array(d, st->n_vmm, sizeof(*st->vmm));
	if (st->vmm == NULL)
		return alb_dec_nomem(d);
	for (size_t i = 0; i < st->n_vmm && rc == 0; i++) {
		struct alb_der s;
		rc = alb_der_get(&body, ALB_DER_SEQUENCE, &s, NULL, d->err);
		if (rc == 0)
			rc = alb_dec_str(d, &s, &st->vmm[i].key, "key");
		if (rc == 0)
			rc = alb_der_get_int64(&s, &st->vmm[i].value, "value", d->err);
		if (rc == 0)
			rc = alb_der_end(&s, d->err);
	}
	return rc;
}

/* kinfo-mem is IMPLICIT [1]: its SEQUENCE identifier becomes 0xa1. */
static int dec_kinfo(struct alb_dec *d, struct alb_der *c, struct alb_kinfo_mem *k)
{
	struct alb_der s;
	int rc = alb_der_get(c, ALB_DER_EXPLICIT(1), &s, "kinfo-mem", d->err);
	if (rc == 0)
		rc = dec_int64s(d, &s, k, kinfo_int64s, ALB_ARRAY_LEN(kinfo_int64s));
	if (rc == 0)
		rc = alb_der_get_int(&s, &k->cow, "cow", d->err);
	if (rc == 0)
		rc = dec_timeval(d, &s, &k->start, "start");
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

static int dec_stats(struct alb_dec *d, struct alb_der *c, struct alb_stats *st)
{
	struct alb_der s, body;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, NULL, d->err);
	if (rc == 0)
		rc = dec_rusage(d, &s, &st->rusage);
	if (rc == 0)
		rc = alb_dec_list(d, &s, ALB_DER_SEQUENCE, &body, &st->n_ifdata, "ifdata");
	if (rc < 0)
		return rc;
	st->ifdata = alb_dec_array(d, st->n_ifdata, sizeof(*st->ifdata));
	if (st->ifdata == NULL)
		return alb_dec_nomem(d);
	for (size_t i = 0; i < st->n_ifdata && rc == 0; i++)
		rc = dec_ifdata(d, &body, &st->ifdata[i]);
	if (rc == 0 && alb_der_peek_is(&s, ALB_DER_EXPLICIT(0)))
		rc = dec_vmm(d, &s, st);
	if (rc == 0 && alb_der_peek_is(&s, ALB_DER_EXPLICIT(1))) {
		st->has_kinfo_mem = true;
		rc = dec_kinfo(d, &s, &st->kinfo_mem);
	}
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

static int dec_console(struct alb_dec *d, struct alb_der *c, struct alb_data *x)
{
	struct alb_der s;
	int rc = alb_der_get(c, ALB_DER_SEQUENCE, &s, NULL, d->err);
	if (rc == 0)
		rc = alb_der_get_time(&s, &x->u.console.time, "timestamp", d->err);
	if (rc == 0)
		rc = alb_dec_str(d, &s, &x->u.console.line, "data");
	if (rc == 0)
		rc = alb_der_end(&s, d->err);
	return rc;
}

static int dec_block(struct alb_dec *d, struct alb_der *c, struct alb_data *x)
{
	unsigned n = 0;
	struct alb_der in;
	int rc = alb_der_get_choice(c, ALB_ALT(0) | ALB_ALT(1), &n, &in, NULL, d->err);
	if (rc < 0)
		return rc;
	if (n == 1)
		return alb_der_get_null(&in, NULL, d->err);
	x->u.block.has_data = true;
	return alb_dec_bytes(d, &in, &x->u.block.data, NULL);
}

int alb_dec_data(struct alb_dec *d, struct alb_der *c, struct alb_data *x,
		 const char *label)
{
	unsigned n = 0;
	struct alb_der in;
	int rc = alb_der_get_choice(c, ALB_ALT(1) | ALB_ALT(2) | ALB_ALT(3) | ALB_ALT(4),
				    &n, &in, label, d->err);
	if (rc < 0)
		return rc;
	switch (n) {
	case 1:
		x->kind = ALB_DATA_STATS;
		return dec_stats(d, &in, &x->u.stats);
	case 2:
		rc = alb_der_get_null(&in, NULL, d->err);
		return rc < 0 ? rc
			      : alb_fail(d->err, ALB_EPARSE, "support for log was dropped");
	case 3:
		x->kind = ALB_DATA_CONSOLE;
		return dec_console(d, &in, x);
	default:
		x->kind = ALB_DATA_BLOCK;
		return dec_block(d, &in, x);
	}
}

/* ---- encoding --------------------------------------------------------- */

static void enc_stats(struct alb_derw *w, const struct alb_stats *st)
{
	size_t m = alb_derw_len(w), e;
	if (st->has_kinfo_mem) {
		const struct alb_kinfo_mem *k = &st->kinfo_mem;
		e = alb_derw_len(w);
		enc_timeval(w, &k->start);
		alb_derw_int(w, k->cow);
		enc_int64s(w, k, kinfo_int64s, ALB_ARRAY_LEN(kinfo_int64s));
		alb_derw_close(w, ALB_DER_EXPLICIT(1), e);
	}
	if (st->has_vmm) {
		e = alb_derw_len(w);
		for (size_t i = st->n_vmm; i-- > 0;) {
			size_t v = alb_derw_len(w);
			alb_derw_int64(w, st->vmm[i].value);
			alb_enc_str(w, &st->vmm[i].key);
			alb_derw_close(w, ALB_DER_SEQUENCE, v);
		}
		alb_derw_close(w, ALB_DER_SEQUENCE, e);
		alb_derw_close(w, ALB_DER_EXPLICIT(0), e);
	}
	e = alb_derw_len(w);
	for (size_t i = st->n_ifdata; i-- > 0;) {
		const struct alb_ifdata *ifd = &st->ifdata[i];
		size_t v = alb_derw_len(w);
		enc_int64s(w, ifd, ifdata_int64s, ALB_ARRAY_LEN(ifdata_int64s));
		for (size_t j = ALB_ARRAY_LEN(ifdata_int32s); j-- > 0;)
			alb_derw_int(w, *(const int32_t *)((const char *)ifd +
							   ifdata_int32s[j].off));
		alb_enc_str(w, &ifd->bridge);
		alb_derw_close(w, ALB_DER_SEQUENCE, v);
	}
	alb_derw_close(w, ALB_DER_SEQUENCE, e);
	e = alb_derw_len(w);
	enc_int64s(w, &st->rusage, rusage_int64s, ALB_ARRAY_LEN(rusage_int64s));
	enc_timeval(w, &st->rusage.stime);
	enc_timeval(w, &st->rusage.utime);
	alb_derw_close(w, ALB_DER_SEQUENCE, e);
	alb_derw_close(w, ALB_DER_SEQUENCE, m);
}

void alb_enc_data(struct alb_derw *w, const struct alb_data *x)
{
	size_t m = alb_derw_len(w);
	unsigned n;
	switch (x->kind) {
	case ALB_DATA_STATS:
		enc_stats(w, &x->u.stats);
		n = 1;
		break;
	case ALB_DATA_CONSOLE:
		alb_enc_str(w, &x->u.console.line);
		alb_derw_time(w, &x->u.console.time);
		alb_derw_close(w, ALB_DER_SEQUENCE, m);
		n = 3;
		break;
	case ALB_DATA_BLOCK:
		if (x->u.block.has_data) {
			alb_derw_octets(w, x->u.block.data.ptr, x->u.block.data.len);
			alb_derw_close(w, ALB_DER_EXPLICIT(0), m);
		} else {
			alb_derw_null(w);
			alb_derw_close(w, ALB_DER_EXPLICIT(1), m);
		}
		n = 4;
		break;
	default:
		alb_derw_fail(w, ALB_EINVAL, "unknown data kind");
		return;
	}
	alb_derw_close(w, ALB_DER_EXPLICIT(n), m);
}

size_t alb_data_bulk(const struct alb_data *x)
{
	return x->kind == ALB_DATA_BLOCK && x->u.block.has_data ? x->u.block.data.len : 0;
}
