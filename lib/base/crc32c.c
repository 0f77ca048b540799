/* libalbatross — CRC-32C (Castagnoli, reflected polynomial 0x82f63b78).
 * The x86 CRC32 instruction computes exactly this CRC; elsewhere (or on an
 * x86 without SSE 4.2) tables built once, eight bytes per step.
 * SPDX-License-Identifier: ISC */
#include <pthread.h>
#include <string.h>

#include "base/crc32c.h"

#define POLY 0x82f63b78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^
				      table[0][table[t - 1][i] & 0xff];
}

/* c is the inverted running value. */
static uint32_t sw(uint32_t c, const uint8_t *p, size_t len)
{
	pthread_once(&table_once, table_init);
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		uint32_t lo, hi;
		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		lo = __builtin_bswap32(lo);
		hi = __builtin_bswap32(hi);
#endif
		lo ^= c;
		c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
		    table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
		    table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
		    table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
	return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_HW 1
__attribute__((target("sse4.2"))) static uint32_t hw(uint32_t c,
						      const uint8_t *p,
						      size_t len)
{
	uint64_t c64 = c;
	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c64 = __builtin_ia32_crc32qi((uint32_t)c64, *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		c64 = __builtin_ia32_crc32di(c64, w);
		p += 8;
		len -= 8;
	}
	uint32_t c32 = (uint32_t)c64;
	while (len-- > 0)
		c32 = __builtin_ia32_crc32qi(c32, *p++);
	return c32;
}
#endif

uint32_t alb_crc32c(uint32_t crc, const void *data, size_t len)
{
	uint32_t c = ~crc;
	const uint8_t *p = data;
#ifdef HAVE_HW
	if (__builtin_cpu_supports("sse4.2"))
		return ~hw(c, p, len);
#endif
	return ~sw(c, p, len);
}

uint32_t alb_crc32c_portable(uint32_t crc, const void *data, size_t len)
{
	return ~sw(~crc, data, len);
}
