/* libalbatross — GeneralizedTime as Albatross reads it (asn1's private
 * header; see der_time.c and doc/quirks.md).
 * SPDX-License-Identifier: ISC */
#ifndef ALB_ASN1_DER_TIME_H
#define ALB_ASN1_DER_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "albatross/wire.h"
#include "base/internal.h"

/** Seconds since the epoch of 0000-01-01T00:00:00Z and of
 * 9999-12-31T23:59:59Z, the range a GeneralizedTime decodes to (Ptime's). */
#define ALB_DER_TIME_SEC_MIN (-62167219200LL)
#define ALB_DER_TIME_SEC_MAX 253402300799LL

/** Reads the contents s[0..n) of a GeneralizedTime into *v (UTC) exactly
 * as asn1-combinators 0.3.2 does; ALB_EPARSE with its message otherwise:
 * "GeneralizedTime: unexpected end|invalid format|out of range: <text>". */
int alb_der_time_parse(const uint8_t *s, size_t n, struct alb_time *v,
		       struct alb_error *err);

/** Days since 1970-01-01 of a proleptic Gregorian date (m 1..12). */
int64_t alb_der_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
