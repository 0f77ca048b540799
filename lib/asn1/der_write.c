/* libalbatross — reverse DER builder (spec §1.1, encoding).
 * SPDX-License-Identifier: ISC */
#include <stdlib.h>
#include <string.h>

#include "asn1/der.h"
#include "base/internal.h"

/* Free space kept in front after a small growth. */
#define DERW_HEADROOM_SMALL 256

void alb_derw_init(struct alb_derw *w, size_t hint)
{
	memset(w, 0, sizeof(*w));
	if (hint > 0) {
		w->base = malloc(hint);
		if (w->base == NULL) {
			alb_derw_fail(w, ALB_ENOMEM, "out of memory");
			return;
		}
		w->cap = hint;
		w->off = hint;
	}
}

void alb_derw_fail(struct alb_derw *w, int code, const char *msg)
{
	if (w->err == 0) {
		w->err = code;
		w->errmsg = msg;
	}
}

/* Makes room for n more bytes in front; false after an error. */
static bool reserve(struct alb_derw *w, size_t n)
{
	if (w->err != 0)
		return false;
	if (w->off >= n)
		return true;
	size_t used = w->cap - w->off;
	if (n > SIZE_MAX / 4 - used) {
		alb_derw_fail(w, ALB_ENOMEM, "encoding too large");
		return false;
	}
	size_t need = used + n;
	size_t room = need < ALB_DERW_HEADROOM ? DERW_HEADROOM_SMALL
						 : ALB_DERW_HEADROOM;
	size_t cap = need + room;
	if (cap < 2 * w->cap)
		cap = 2 * w->cap;
	uint8_t *nb = malloc(cap);
	if (nb == NULL) {
		alb_derw_fail(w, ALB_ENOMEM, "out of memory");
		return false;
	}
	if (used > 0)
		memcpy(nb + cap - used, w->base + w->off, used);
	free(w->base);
	w->base = nb;
	w->cap = cap;
	w->off = cap - used;
	return true;
}

void alb_derw_bytes(struct alb_derw *w, const void *p, size_t n)
{
	if (n == 0 || w->err != 0)
		return;
	if (p == w->find && w->found_end == 0) {
		/* the hole: counted, not copied */
		w->hole = n;
		w->found_end = alb_derw_len(w);
		return;
	}
	if (n >= ALB_DERW_BULK_MIN && n <= SIZE_MAX / 2 && !reserve(w, n + ALB_DERW_HEADROOM))
		return;
	if (!reserve(w, n))
		return;
	w->off -= n;
	memcpy(w->base + w->off, p, n);
}

static void put_header(struct alb_derw *w, unsigned tag, size_t len)
{
	uint8_t h[2 + sizeof(size_t)];
	size_t n;
	if (len < 0x80) {
		h[0] = (uint8_t)tag;
		h[1] = (uint8_t)len;
		n = 2;
	} else {
		size_t k = 0;
		for (size_t l = len; l > 0; l >>= 8)
			k++;
		h[0] = (uint8_t)tag;
		h[1] = (uint8_t)(0x80u | k);
		for (size_t i = 0; i < k; i++)
			h[2 + i] = (uint8_t)(len >> (8 * (k - 1 - i)));
		n = 2 + k;
	}
	alb_derw_bytes(w, h, n);
}

void alb_derw_close(struct alb_derw *w, unsigned tag, size_t mark)
{
	if (w->err != 0)
		return;
	put_header(w, tag, alb_derw_len(w) - mark);
}

void alb_derw_header(struct alb_derw *w, unsigned tag, size_t len)
{
	if (w->err != 0)
		return;
	put_header(w, tag, len);
}

/* One element of a SET OF being sorted. */
struct slice {
	const uint8_t *p;
	size_t n;
};

/* DER order of encodings: bytewise, a prefix sorts first. */
static int slice_cmp(const struct slice *a, const struct slice *b)
{
	size_t n = a->n < b->n ? a->n : b->n;
	int c = n > 0 ? memcmp(a->p, b->p, n) : 0;
	if (c != 0)
		return c;
	return (a->n > b->n) - (a->n < b->n);
}

static int slice_qsort_cmp(const void *a, const void *b)
{
	return slice_cmp(a, b);
}

/* Rewrites the k elements of region [start, end) in sorted order. */
static void sort_region(struct alb_derw *w, size_t region, size_t k, bool dedup)
{
	uint8_t *copy = malloc(region);
	struct slice *s = calloc(k, sizeof(*s));
	if (copy == NULL || s == NULL) {
		free(copy);
		free(s);
		alb_derw_fail(w, ALB_ENOMEM, "out of memory");
		return;
	}
	memcpy(copy, w->base + w->off, region);
	struct alb_der it;
	alb_der_init(&it, copy, region);
	for (size_t i = 0; i < k; i++) {
		const uint8_t *at = it.ptr;
		unsigned tag;
		struct alb_der body;
		/* our own output: well formed by construction */
		(void)alb_der_get_any(&it, &tag, &body, NULL);
		s[i].p = at;
		s[i].n = (size_t)(it.ptr - at);
	}
	qsort(s, k, sizeof(*s), slice_qsort_cmp);
	uint8_t *dst = w->base + w->off + region;
	for (size_t i = k; i-- > 0;) {
		if (dedup && i > 0 && slice_cmp(&s[i], &s[i - 1]) == 0)
			continue;
		dst -= s[i].n;
		memcpy(dst, s[i].p, s[i].n);
	}
	w->off = (size_t)(dst - w->base);
	free(copy);
	free(s);
}

void alb_derw_close_set(struct alb_derw *w, size_t mark, bool dedup)
{
	if (w->err != 0)
		return;
	size_t region = alb_derw_len(w) - mark;
	struct alb_der it;
	alb_der_init(&it, w->base + w->off, region);
	/* most sets arrive sorted: check before copying anything */
	size_t k = 0;
	bool sorted = true;
	struct slice prev = {NULL, 0};
	while (it.len > 0) {
		const uint8_t *at = it.ptr;
		unsigned tag;
		struct alb_der body;
		(void)alb_der_get_any(&it, &tag, &body, NULL);
		struct slice cur = {at, (size_t)(it.ptr - at)};
		if (k > 0) {
			int c = slice_cmp(&prev, &cur);
			if (c > 0 || (dedup && c == 0))
				sorted = false;
		}
		prev = cur;
		k++;
	}
	if (!sorted)
		sort_region(w, region, k, dedup);
	alb_derw_close(w, ALB_DER_SET, mark);
}

void alb_derw_int(struct alb_derw *w, int64_t v)
{
	if (v > ALB_DER_INT_MAX || v < ALB_DER_INT_MIN) {
		alb_derw_fail(w, ALB_EINVAL, "integer out of range (63 bits)");
		return;
	}
	uint8_t b[2 + ALB_DER_INT_OCTETS_MAX];
	size_t k = 1;
	/* fewest octets whose two's complement holds v */
	while (k < ALB_DER_INT_OCTETS_MAX) {
		int64_t lim = (int64_t)1 << (8 * k - 1);
		if (v >= -lim && v < lim)
			break;
		k++;
	}
	b[0] = ALB_DER_INTEGER;
	b[1] = (uint8_t)k;
	uint64_t u = (uint64_t)v;
	for (size_t i = 0; i < k; i++)
		b[2 + i] = (uint8_t)(u >> (8 * (k - 1 - i)));
	alb_derw_bytes(w, b, 2 + k);
}

void alb_derw_bool(struct alb_derw *w, bool v)
{
	const uint8_t b[3] = {ALB_DER_BOOLEAN, 1, v ? 0xff : 0x00};
	alb_derw_bytes(w, b, sizeof(b));
}

void alb_derw_null(struct alb_derw *w)
{
	const uint8_t b[2] = {ALB_DER_NULL, 0};
	alb_derw_bytes(w, b, sizeof(b));
}

void alb_derw_octets(struct alb_derw *w, const void *p, size_t n)
{
	alb_derw_bytes(w, p, n);
	put_header(w, ALB_DER_OCTET_STRING, n);
}

void alb_derw_utf8(struct alb_derw *w, const void *p, size_t n)
{
	alb_derw_bytes(w, p, n);
	put_header(w, ALB_DER_UTF8STRING, n);
}

void alb_derw_int64(struct alb_derw *w, int64_t v)
{
	uint8_t b[2 + ALB_DER_INT64_OCTETS] = {ALB_DER_OCTET_STRING,
					       ALB_DER_INT64_OCTETS};
	uint64_t u = (uint64_t)v;
	for (size_t i = 0; i < ALB_DER_INT64_OCTETS; i++)
		b[2 + i] = (uint8_t)(u >> (8 * (ALB_DER_INT64_OCTETS - 1 - i)));
	alb_derw_bytes(w, b, sizeof(b));
}

/* Proleptic Gregorian date of a day count since 1970-01-01. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static void put_digits(uint8_t *out, unsigned v, size_t n)
{
	for (size_t i = n; i-- > 0; v /= 10)
		out[i] = (uint8_t)('0' + v % 10);
}

void alb_derw_time(struct alb_derw *w, const struct alb_time *t)
{
	if (t->nsec >= 1000000000u) {
		alb_derw_fail(w, ALB_EINVAL, "time: nanoseconds out of range");
		return;
	}
	/* floor division keeps times before 1970 on the right day */
	int64_t days = t->sec / 86400, rem = t->sec % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t y;
	unsigned mo, d;
	civil_from_days(days, &y, &mo, &d);
	if (y < 0 || y > ALB_DER_YEAR_MAX) {
		alb_derw_fail(w, ALB_EINVAL, "time: year out of range 0..9999");
		return;
	}
	uint8_t b[2 + 19];
	size_t n = 14;
	uint8_t *s = b + 2;
	put_digits(s, (unsigned)y, 4);
	put_digits(s + 4, mo, 2);
	put_digits(s + 6, d, 2);
	put_digits(s + 8, (unsigned)(rem / 3600), 2);
	put_digits(s + 10, (unsigned)(rem / 60 % 60), 2);
	put_digits(s + 12, (unsigned)(rem % 60), 2);
	/* milliseconds, truncated, whenever there is any fraction: 1 µs
	 * is ".000" as asn1-combinators writes it */
	if (t->nsec != 0) {
		s[n++] = '.';
		put_digits(s + n, t->nsec / 1000000u, 3);
		n += 3;
	}
	s[n++] = 'Z';
	b[0] = ALB_DER_GENERALIZED_TIME;
	b[1] = (uint8_t)n;
	alb_derw_bytes(w, b, 2 + n);
}

int alb_derw_finish(struct alb_derw *w, bool framed, struct alb_buf *out,
		    struct alb_error *err)
{
	if (w->err == 0 && framed) {
		size_t len = alb_derw_len(w);
		if (len > ALB_DERW_FRAME_MAX) {
			alb_derw_fail(w, ALB_ETOOBIG, "message too large for a frame");
		} else {
			uint8_t b[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16),
					(uint8_t)(len >> 8), (uint8_t)len};
			alb_derw_bytes(w, b, sizeof(b));
		}
	}
	if (w->err != 0) {
		int code = w->err;
		free(w->base);
		int rc = alb_fail(err, code, "%s", w->errmsg);
		memset(w, 0, sizeof(*w));
		return rc;
	}
	out->data = w->base != NULL ? w->base + w->off : NULL;
	out->len = w->cap - w->off;
	out->base_ = w->base;
	out->cap_ = w->cap;
	memset(w, 0, sizeof(*w));
	return 0;
}
