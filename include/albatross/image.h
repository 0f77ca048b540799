/* libalbatross — unikernel images: Solo5 ELF notes (ABI and manifest),
 * manifest matching, decompression and SHA-256 digest (spec §5.3–§5.7).
 * SPDX-License-Identifier: ISC
 *
 * The parser reads an image held in memory and survives any bytes: every
 * offset and size is checked against the image length, and every count is
 * capped by a named constant. Like Solo5's tenders it finds the notes
 * through the PT_NOTE program headers, not through section names.
 * Supported containers: ELF64 little-endian (x86_64, aarch64), as real Solo5
 * images are, and ELF32 little-endian i386, so that a 32-bit multiboot
 * kernel (examples/hello-unikernel) can carry the same notes. */
#ifndef ALBATROSS_IMAGE_H
#define ALBATROSS_IMAGE_H

#include "albatross/common.h"
#include "albatross/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest uncompressed image accepted (and largest compressed one), in
 * bytes: 128 MiB. Real unikernels are a few MiB to a few tens of MiB. */
#define ALB_IMAGE_MAX (128u * 1024u * 1024u)

/** Most program headers read from an ELF image (e_phnum above this is
 * refused; Solo5 images have fewer than ten). */
#define ALB_ELF_MAX_PHNUM 128

/** Most entries of a Solo5 manifest, the reserved first entry included
 * (Solo5 MFT_MAX_ENTRIES), hence at most ALB_MFT_MAX_ENTRIES - 1 devices. */
#define ALB_MFT_MAX_ENTRIES 64

/** Longest device name in a Solo5 manifest, in bytes (the 68-byte field
 * keeps a terminating NUL). */
#define ALB_MFT_NAME_MAX 67

/** Length of a SHA-256 digest in bytes. */
#define ALB_SHA256_LEN 32

/** Solo5 targets named in the ABI note. hvt, spt and virtio are supported;
 * the others are only named in error messages. */
enum alb_solo5_target {
	ALB_SOLO5_HVT = 1,
	ALB_SOLO5_SPT = 2,
	ALB_SOLO5_VIRTIO = 3,
	ALB_SOLO5_MUEN = 4,
	ALB_SOLO5_GENODE = 5,
	ALB_SOLO5_XEN = 6
};

/** The type of a manifest device. */
enum alb_mft_type {
	ALB_MFT_BLOCK_BASIC = 1,
	ALB_MFT_NET_BASIC = 2
};

/** One device declared by a manifest. name is NUL-terminated; it is the
 * name field up to its first NUL (Solo5 does not restrict its bytes). */
struct alb_mft_device {
	char name[ALB_MFT_NAME_MAX + 1];
	enum alb_mft_type type;
	ALB_RESERVED(1);
};

/** What the Solo5 notes of an image say. A plain value: no pointers, nothing
 * to free. devices are in manifest order, the reserved first entry left out. */
struct alb_solo5_info {
	uint8_t elf_class;   /* 32 or 64 */
	uint16_t machine;    /* e_machine: 3 i386, 62 x86_64, 183 aarch64 */
	enum alb_solo5_target target; /* hvt, spt or virtio */
	uint32_t abi_version;
	size_t n_devices;
	struct alb_mft_device devices[ALB_MFT_MAX_ENTRIES - 1];
	ALB_RESERVED(4);
};

/** Parses the Solo5 ABI note and manifest note of the ELF image
 * elf[0..len) into *out. Returns 0; ALB_EPARSE for a malformed ELF file or
 * note ("error during ELF parsing: ..." or the manifest check that failed,
 * e.g. "too many manifest entries"); ALB_ENOENT when a note is missing
 * ("No Solo5 ABI information found in executable", "manifest not found");
 * ALB_EUNSUPPORTED for a target other than hvt, spt or virtio
 * ("unsupported solo5 target muen"); ALB_ETOOBIG when e_phnum exceeds
 * ALB_ELF_MAX_PHNUM; ALB_EINVAL for NULL arguments. *out is written only on
 * success. Nothing is allocated. A target number Solo5 does not define is
 * ALB_EPARSE ("unknown abi target: 7"); the texts of the note-content errors
 * are those of solo5-elftool, which Albatross sends to its clients. */
ALB_EXPORT int alb_solo5_parse(const uint8_t *elf, size_t len,
                               struct alb_solo5_info *out,
                               struct alb_error *err);

/** The Solo5 name of a target ("hvt", "spt", "virtio", "muen", "genode",
 * "xen"), or NULL for a number Solo5 does not define. Static storage. */
ALB_EXPORT const char *alb_solo5_target_name(uint32_t target);

/** Checks a unikernel configuration against a manifest as Albatross does
 * (spec §5.4): the set of manifest block names must equal the set of
 * config->blocks[].name and the set of manifest net names the set of
 * config->bridges[].netif. Returns 0, or ALB_EINVAL with Albatross's text
 * "specified block device(s) does not match with manifest. Devices present in
 * manifest: block \"a\", net \"b\"" (blocks are checked first) or
 * "specified bridge(s) does not match with the manifest. Devices present in
 * manifest: ..."; the entries are every manifest device in manifest order,
 * names escaped like OCaml's %S. */
ALB_EXPORT int alb_manifest_match(const struct alb_solo5_info *info,
                                  const struct alb_unikernel_config *config,
                                  struct alb_error *err);

/** Computes the SHA-256 digest of data[0..len) into out. Returns 0, or
 * ALB_ENOMEM / ALB_EINVAL if OpenSSL fails or an argument is NULL. */
ALB_EXPORT int alb_image_digest(const uint8_t *data, size_t len,
                                uint8_t out[ALB_SHA256_LEN],
                                struct alb_error *err);

/** A Solo5 image ready to run: its uncompressed bytes, their digest and
 * what the notes say. Filled by alb_image_load(), emptied by
 * alb_image_free(). */
struct alb_image {
	/* The uncompressed image. When it was loaded uncompressed this borrows
	 * the caller's bytes (valid as long as they are); otherwise it points
	 * into memory owned by this struct. */
	struct alb_bytes data;
	uint8_t digest[ALB_SHA256_LEN];
	struct alb_solo5_info solo5;
	struct alb_buf owned_; /* private: the decompressed bytes, if any */
	ALB_RESERVED(4);
};

/** Prepares a unikernel's image as vmmd does before running it (spec §6.3
 * step 3): inflates it when compressed (zlib, at most ALB_IMAGE_MAX bytes;
 * "failed to uncompress: <reason>"), computes the SHA-256 digest of the
 * uncompressed bytes and parses the Solo5 notes (alb_solo5_parse()). An
 * image (compressed or not) longer than ALB_IMAGE_MAX is refused with
 * ALB_ETOOBIG. Returns 0 and fills *out, which the caller frees with
 * alb_image_free(); on failure *out is left empty (safe to free). */
ALB_EXPORT int alb_image_load(struct alb_bytes image, bool compressed,
                              struct alb_image *out, struct alb_error *err);

/** Frees what an alb_image owns and resets it to empty; NULL is a no-op. */
ALB_EXPORT void alb_image_free(struct alb_image *img);

#ifdef __cplusplus
}
#endif
#endif
