/* libalbatross — MAC addresses: Albatross's derivation (spec §5.5),
 * printing and parsing.
 * SPDX-License-Identifier: ISC */
#include <string.h>

#include <openssl/evp.h>

#include "albatross/net.h"
#include "base/internal.h"

/* OUI of VEB Kombinat Robotron, Albatross's prefix. */
static const uint8_t robotron_oui[3] = {0x00, 0x80, 0x41};

int alb_mac_derive(struct alb_str netif, const char *name,
		   uint8_t mac[ALB_MAC_LEN], struct alb_error *err)
{
	if (name == NULL || mac == NULL || (netif.ptr == NULL && netif.len > 0))
		return alb_fail(err, ALB_EINVAL, "alb_mac_derive: bad arguments");
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	/* netif ++ name, no separator; MD5 may be missing under FIPS */
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
		 EVP_DigestUpdate(ctx, netif.ptr, netif.len) == 1 &&
		 EVP_DigestUpdate(ctx, name, strlen(name)) == 1 &&
		 EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len >= 3;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return alb_fail(err, ALB_ESYS, "MD5 is not available");
	memcpy(mac, robotron_oui, sizeof(robotron_oui));
	memcpy(mac + sizeof(robotron_oui), md, ALB_MAC_LEN - sizeof(robotron_oui));
	return 0;
}

void alb_mac_print(const uint8_t mac[ALB_MAC_LEN], char out[ALB_MAC_STR_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < ALB_MAC_LEN; i++) {
		out[3 * i] = hex[mac[i] >> 4];
		out[3 * i + 1] = hex[mac[i] & 0xf];
		out[3 * i + 2] = i + 1 < ALB_MAC_LEN ? ':' : '\0';
	}
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int alb_mac_parse(const char *s, size_t len, uint8_t mac[ALB_MAC_LEN],
		  struct alb_error *err)
{
	uint8_t tmp[ALB_MAC_LEN];
	bool ok = s != NULL && len == ALB_MAC_STR_SIZE - 1;
	for (size_t i = 0; ok && i < ALB_MAC_LEN; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);
		ok = hi >= 0 && lo >= 0 && (i + 1 == ALB_MAC_LEN || s[3 * i + 2] == ':');
		if (ok)
			tmp[i] = (uint8_t)(hi << 4 | lo);
	}
	if (!ok) {
		/* the text may hold anything: print at most a MAC's worth */
		int shown = s == NULL ? 0 : (int)(len < 32 ? len : 32);
		return alb_fail(err, ALB_EPARSE, "invalid MAC address %.*s", shown,
				s == NULL ? "" : s);
	}
	memcpy(mac, tmp, sizeof(tmp));
	return 0;
}
