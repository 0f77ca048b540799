/* libalbatross — unikernel images: manifest matching, digest, and the
 * preparation vmmd does before running an image (spec §5.4, §5.6, §5.7,
 * §6.3). The ELF notes are read in image_elf.c.
 * SPDX-License-Identifier: ISC */
#include <string.h>

#include <openssl/evp.h>

#include "albatross/image.h"
#include "albatross/stream.h"
#include "base/internal.h"

/* A message built piece by piece; what does not fit is cut, as
 * struct alb_error would cut it anyway. */
struct msg {
	char s[ALB_ERROR_MSG_MAX];
	size_t len;
};

static void msg_putc(struct msg *m, char c)
{
	if (m->len + 1 < sizeof(m->s)) {
		m->s[m->len++] = c;
		m->s[m->len] = '\0';
	}
}

static void msg_puts(struct msg *m, const char *s)
{
	while (*s != '\0')
		msg_putc(m, *s++);
}

/* OCaml's %S: the string in double quotes, escaped like String.escaped,
 * which is how Albatross prints manifest names in its messages. */
static void msg_put_ocaml_string(struct msg *m, const char *s)
{
	msg_putc(m, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"': msg_puts(m, "\\\""); break;
		case '\\': msg_puts(m, "\\\\"); break;
		case '\n': msg_puts(m, "\\n"); break;
		case '\t': msg_puts(m, "\\t"); break;
		case '\r': msg_puts(m, "\\r"); break;
		case '\b': msg_puts(m, "\\b"); break;
		default:
			if (*p >= 0x20 && *p <= 0x7e) {
				msg_putc(m, (char)*p);
			} else {
				msg_putc(m, '\\');
				msg_putc(m, (char)('0' + *p / 100));
				msg_putc(m, (char)('0' + *p / 10 % 10));
				msg_putc(m, (char)('0' + *p % 10));
			}
		}
	}
	msg_putc(m, '"');
}

static int mismatch(const struct alb_solo5_info *info, const char *what,
                    struct alb_error *err)
{
	struct msg m = {.len = 0};
	m.s[0] = '\0';
	msg_puts(&m, what);
	msg_puts(&m, " Devices present in manifest: ");
	for (size_t i = 0; i < info->n_devices; i++) {
		if (i > 0)
			msg_puts(&m, ", ");
		msg_puts(&m, info->devices[i].type == ALB_MFT_BLOCK_BASIC ? "block "
		                                                          : "net ");
		msg_put_ocaml_string(&m, info->devices[i].name);
	}
	return alb_fail(err, ALB_EINVAL, "%s", m.s);
}

static bool str_is(struct alb_str s, const char *name)
{
	size_t n = strlen(name);
	return s.len == n && (n == 0 || memcmp(s.ptr, name, n) == 0);
}

static bool manifest_has(const struct alb_solo5_info *info,
                         enum alb_mft_type type, struct alb_str name)
{
	for (size_t i = 0; i < info->n_devices; i++)
		if (info->devices[i].type == type && str_is(name, info->devices[i].name))
			return true;
	return false;
}

typedef struct alb_str (*config_name_fn)(const struct alb_unikernel_config *c,
                                         size_t i);

static struct alb_str block_name(const struct alb_unikernel_config *c, size_t i)
{
	return c->blocks[i].name;
}

static struct alb_str net_name(const struct alb_unikernel_config *c, size_t i)
{
	return c->bridges[i].netif;
}

/* Set equality of the manifest's names of one type and the n configured
 * names: duplicates on either side do not matter, as with Albatross's
 * String_set. Both sides are small (at most 63 manifest devices). */
static bool same_set(const struct alb_solo5_info *info, enum alb_mft_type type,
                     const struct alb_unikernel_config *c, size_t n,
                     config_name_fn name_of)
{
	for (size_t i = 0; i < n; i++)
		if (!manifest_has(info, type, name_of(c, i)))
			return false;
	for (size_t d = 0; d < info->n_devices; d++) {
		if (info->devices[d].type != type)
			continue;
		bool present = false;
		for (size_t i = 0; i < n && !present; i++)
			present = str_is(name_of(c, i), info->devices[d].name);
		if (!present)
			return false;
	}
	return true;
}

int alb_manifest_match(const struct alb_solo5_info *info,
                       const struct alb_unikernel_config *config,
                       struct alb_error *err)
{
	if (info == NULL || config == NULL ||
	    (config->n_blocks != 0 && config->blocks == NULL) ||
	    (config->n_bridges != 0 && config->bridges == NULL))
		return alb_fail(err, ALB_EINVAL, "alb_manifest_match: NULL argument");
	if (!same_set(info, ALB_MFT_BLOCK_BASIC, config, config->n_blocks,
	              block_name))
		return mismatch(info,
		                "specified block device(s) does not match with manifest.",
		                err);
	if (!same_set(info, ALB_MFT_NET_BASIC, config, config->n_bridges, net_name))
		return mismatch(info,
		                "specified bridge(s) does not match with the manifest.",
		                err);
	return 0;
}

int alb_image_digest(const uint8_t *data, size_t len,
                     uint8_t out[ALB_SHA256_LEN], struct alb_error *err)
{
	if ((data == NULL && len != 0) || out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_image_digest: NULL argument");
	static const uint8_t empty[1];
	unsigned int n = 0;
	if (EVP_Digest(len == 0 ? empty : data, len, out, &n, EVP_sha256(), NULL) != 1 ||
	    n != ALB_SHA256_LEN)
		return alb_fail(err, ALB_ENOMEM, "SHA-256 computation failed");
	return 0;
}

int alb_image_load(struct alb_bytes image, bool compressed,
                   struct alb_image *out, struct alb_error *err)
{
	if (out == NULL || (image.ptr == NULL && image.len != 0))
		return alb_fail(err, ALB_EINVAL, "alb_image_load: NULL argument");
	memset(out, 0, sizeof(*out));
	if (image.len > ALB_IMAGE_MAX)
		return alb_fail(err, ALB_ETOOBIG,
		                "image of %zu bytes exceeds the limit of %u bytes",
		                image.len, ALB_IMAGE_MAX);
	if (compressed) {
		struct alb_error zerr = {.code = 0};
		int rc = alb_zlib_inflate(image.ptr, image.len, ALB_IMAGE_MAX,
		                          &out->owned_, &zerr);
		if (rc != 0)
			return alb_fail(err, rc, "failed to uncompress: %s", zerr.msg);
		out->data.ptr = out->owned_.data;
		out->data.len = out->owned_.len;
	} else {
		out->data = image;
	}
	/* vmmd's order: digest, then the ABI note, then the manifest. */
	int rc = alb_image_digest(out->data.ptr, out->data.len, out->digest, err);
	if (rc == 0)
		rc = alb_solo5_parse(out->data.ptr, out->data.len, &out->solo5, err);
	if (rc != 0)
		alb_image_free(out);
	return rc;
}

void alb_image_free(struct alb_image *img)
{
	if (img == NULL)
		return;
	alb_buf_free(&img->owned_);
	memset(img, 0, sizeof(*img));
}
