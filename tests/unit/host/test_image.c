/* Unit tests: Solo5 ELF notes, manifest matching, digest, image loading
 * (spec §5.3–§5.7). The ELF images are built here by a small writer.
 * SPDX-License-Identifier: ISC */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "albatross/image.h"
#include "albatross/stream.h"

/* ---- a small ELF writer ---------------------------------------------- */

#define IMG_CAP 32768
#define MAX_NOTES 4
#define PT_NULL 0
#define PT_LOAD 1
#define PT_NOTE 4
#define ABI1 0x31494241u
#define MFT1 0x3154464du
#define RESERVED_FIRST 0x40000000u
#define ENTRY_LEN 104
#define MFT_DESC_LEN(entries) (12u + (entries) * ENTRY_LEN)

struct img {
	uint8_t b[IMG_CAP];
	size_t len;
	int cls;
	size_t phoff;
	size_t phentsize;
	size_t note_at[MAX_NOTES]; /* file offset of each note's header */
	size_t note_ph[MAX_NOTES]; /* index of each note's program header */
};

struct note_in {
	uint32_t namesz;
	const char *name; /* at most 8 bytes are written */
	uint32_t type;
	const uint8_t *desc;
	uint32_t descsz;
};

struct dev {
	const char *name;
	uint32_t type;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static void put_word(const struct img *im, uint8_t *p, uint64_t v)
{
	if (im->cls == 64)
		put64(p, v);
	else
		put32(p, (uint32_t)v);
}

static uint8_t *phdr(struct img *im, size_t i)
{
	return im->b + im->phoff + i * im->phentsize;
}

static void set_ph(struct img *im, size_t i, uint32_t type, uint64_t off,
                   uint64_t filesz)
{
	uint8_t *p = phdr(im, i);
	memset(p, 0, im->phentsize);
	put32(p, type);
	put_word(im, p + (im->cls == 64 ? 8 : 4), off);
	put_word(im, p + (im->cls == 64 ? 32 : 16), filesz);
	put_word(im, p + (im->cls == 64 ? 40 : 20), filesz); /* p_memsz */
}

static void set_ph_offset(struct img *im, size_t i, uint64_t off)
{
	put_word(im, phdr(im, i) + (im->cls == 64 ? 8 : 4), off);
}

static void set_ph_filesz(struct img *im, size_t i, uint64_t filesz)
{
	put_word(im, phdr(im, i) + (im->cls == 64 ? 32 : 16), filesz);
}

static void set_phnum(struct img *im, uint16_t n)
{
	put16(im->b + (im->cls == 64 ? 56 : 44), n);
}

/* An executable with one PT_LOAD, `extra` PT_NULL headers and one PT_NOTE
 * per note; each note in its own segment, the last one ending the file. */
static void build(struct img *im, int cls, const struct note_in *notes,
                  size_t n, size_t extra)
{
	memset(im, 0, sizeof(*im));
	im->cls = cls;
	size_t ehsize = cls == 64 ? 64 : 52;
	im->phentsize = cls == 64 ? 56 : 32;
	im->phoff = ehsize;
	size_t phnum = 1 + extra + n;
	uint8_t *e = im->b;
	memcpy(e, "\x7f" "ELF", 4);
	e[4] = cls == 64 ? 2 : 1;
	e[5] = 1;
	e[6] = 1;
	put16(e + 16, 2);                  /* ET_EXEC */
	put16(e + 18, cls == 64 ? 62 : 3); /* x86_64 / i386 */
	put32(e + 20, 1);
	if (cls == 64) {
		put64(e + 24, 0x100000);
		put64(e + 32, im->phoff);
		put16(e + 52, (uint16_t)ehsize);
		put16(e + 54, (uint16_t)im->phentsize);
	} else {
		put32(e + 24, 0x100000);
		put32(e + 28, (uint32_t)im->phoff);
		put16(e + 40, (uint16_t)ehsize);
		put16(e + 42, (uint16_t)im->phentsize);
	}
	set_phnum(im, (uint16_t)phnum);
	size_t at = im->phoff + phnum * im->phentsize;
	assert_true(at <= IMG_CAP);
	set_ph(im, 0, PT_LOAD, 0, at);
	for (size_t i = 0; i < extra; i++)
		set_ph(im, 1 + i, PT_NULL, 0, 0);
	for (size_t i = 0; i < n; i++) {
		at = (at + 7) & ~(size_t)7;
		size_t sz = 20 + notes[i].descsz;
		assert_true(at + sz <= IMG_CAP);
		put32(im->b + at, notes[i].namesz);
		put32(im->b + at + 4, notes[i].descsz);
		put32(im->b + at + 8, notes[i].type);
		memcpy(im->b + at + 12, notes[i].name, strnlen(notes[i].name, 8));
		if (notes[i].descsz > 0)
			memcpy(im->b + at + 20, notes[i].desc, notes[i].descsz);
		im->note_at[i] = at;
		im->note_ph[i] = 1 + extra + i;
		set_ph(im, im->note_ph[i], PT_NOTE, at, sz);
		at += sz;
	}
	im->len = at;
}

static size_t make_abi(uint8_t *d, uint32_t target, uint32_t version)
{
	memset(d, 0, 16);
	put32(d, target);
	put32(d + 4, version);
	return 16;
}

/* A manifest descriptor: 4 bytes of padding, version 1, the reserved first
 * entry and one entry per device. */
static size_t make_mft(uint8_t *d, const struct dev *devs, size_t n)
{
	size_t len = MFT_DESC_LEN(n + 1);
	memset(d, 0, len);
	put32(d + 4, 1);
	put32(d + 8, (uint32_t)(n + 1));
	put32(d + 12 + 68, RESERVED_FIRST);
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = d + 12 + (i + 1) * ENTRY_LEN;
		memcpy(e, devs[i].name, strlen(devs[i].name));
		put32(e + 68, devs[i].type);
	}
	return len;
}

static struct note_in solo5_note(uint32_t type, const uint8_t *desc, size_t len)
{
	struct note_in n = {6, "Solo5", type, desc, (uint32_t)len};
	return n;
}

/* A Solo5 image: the ABI note, then the manifest note. */
static void build_solo5(struct img *im, int cls, uint32_t target,
                        uint32_t version, const struct dev *devs, size_t n)
{
	static uint8_t abi[16];
	static uint8_t mft[MFT_DESC_LEN(70)];
	struct note_in notes[2] = {
		solo5_note(ABI1, abi, make_abi(abi, target, version)),
		solo5_note(MFT1, mft, make_mft(mft, devs, n)),
	};
	build(im, cls, notes, 2, 0);
}

/* The bytes of manifest entry i (0 = the reserved one) of note k. */
static uint8_t *mft_entry(struct img *im, size_t k, size_t i)
{
	return im->b + im->note_at[k] + 20 + 12 + i * ENTRY_LEN;
}

/* Parses the first len bytes from an allocation of exactly that size, so
 * that the sanitizer sees any read past the end. */
static int parse_len(const struct img *im, size_t len,
                     struct alb_solo5_info *info, struct alb_error *err)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);
	assert_non_null(copy);
	memcpy(copy, im->b, len);
	int rc = alb_solo5_parse(copy, len, info, err);
	free(copy);
	return rc;
}

static int parse(const struct img *im, struct alb_solo5_info *info,
                 struct alb_error *err)
{
	return parse_len(im, im->len, info, err);
}

static void expect_fail(const struct img *im, int code, const char *msg)
{
	struct alb_solo5_info info;
	struct alb_error err;
	memset(&err, 0, sizeof(err));
	int rc = parse(im, &info, &err);
	if (rc != code || strcmp(err.msg, msg) != 0)
		fail_msg("expected %d \"%s\", got %d \"%s\"", code, msg, rc, err.msg);
}

/* For the ELF-level errors only the prefix and code are Albatross's. */
static void expect_elf_fail(const struct img *im, int code)
{
	struct alb_solo5_info info;
	struct alb_error err;
	memset(&err, 0, sizeof(err));
	int rc = parse(im, &info, &err);
	if (rc != code || strncmp(err.msg, "error during ELF parsing: ", 26) != 0)
		fail_msg("expected %d ELF error, got %d \"%s\"", code, rc, err.msg);
}

static const struct dev two_devs[] = {
	{"storage", 1},
	{"service", 2},
};

/* ---- valid images ---------------------------------------------------- */

static void check_valid(int cls, uint32_t target, uint32_t version)
{
	static struct img im;
	build_solo5(&im, cls, target, version, two_devs, 2);
	struct alb_solo5_info info;
	struct alb_error err;
	memset(&info, 0xa5, sizeof(info));
	assert_int_equal(parse(&im, &info, &err), 0);
	assert_int_equal(info.elf_class, cls);
	assert_int_equal(info.machine, cls == 64 ? 62 : 3);
	assert_int_equal(info.target, target);
	assert_int_equal(info.abi_version, version);
	assert_int_equal(info.n_devices, 2);
	assert_string_equal(info.devices[0].name, "storage");
	assert_int_equal(info.devices[0].type, ALB_MFT_BLOCK_BASIC);
	assert_string_equal(info.devices[1].name, "service");
	assert_int_equal(info.devices[1].type, ALB_MFT_NET_BASIC);
}

static void test_valid_targets(void **state)
{
	(void)state;
	check_valid(64, ALB_SOLO5_HVT, 2);
	check_valid(64, ALB_SOLO5_SPT, 2);
	check_valid(64, ALB_SOLO5_VIRTIO, 1);
	check_valid(32, ALB_SOLO5_HVT, 2);
	check_valid(32, ALB_SOLO5_VIRTIO, 1);
}

static void test_no_devices(void **state)
{
	(void)state;
	static struct img im;
	build_solo5(&im, 64, ALB_SOLO5_HVT, 2, NULL, 0);
	struct alb_solo5_info info;
	assert_int_equal(parse(&im, &info, NULL), 0);
	assert_int_equal(info.n_devices, 0);
}

static void test_target_names(void **state)
{
	(void)state;
	assert_string_equal(alb_solo5_target_name(1), "hvt");
	assert_string_equal(alb_solo5_target_name(2), "spt");
	assert_string_equal(alb_solo5_target_name(3), "virtio");
	assert_string_equal(alb_solo5_target_name(4), "muen");
	assert_string_equal(alb_solo5_target_name(5), "genode");
	assert_string_equal(alb_solo5_target_name(6), "xen");
	assert_null(alb_solo5_target_name(0));
	assert_null(alb_solo5_target_name(7));
}

/* 64 entries (the reserved one and 63 devices, the longest names) is the
 * limit; 65 does not fit in a note and is refused. */
static void test_max_entries(void **state)
{
	(void)state;
	static struct img im;
	static char names[ALB_MFT_MAX_ENTRIES][ALB_MFT_NAME_MAX + 1];
	struct dev devs[ALB_MFT_MAX_ENTRIES];
	for (size_t i = 0; i < ALB_MFT_MAX_ENTRIES; i++) {
		memset(names[i], 'a' + (int)(i % 26), ALB_MFT_NAME_MAX);
		snprintf(names[i], 4, "%03zu", i);
		names[i][3] = 'x';
		devs[i].name = names[i];
		devs[i].type = i % 2 ? 2 : 1;
	}
	build_solo5(&im, 64, ALB_SOLO5_HVT, 2, devs, ALB_MFT_MAX_ENTRIES - 1);
	struct alb_solo5_info info;
	assert_int_equal(parse(&im, &info, NULL), 0);
	assert_int_equal(info.n_devices, ALB_MFT_MAX_ENTRIES - 1);
	assert_int_equal(strlen(info.devices[62].name), ALB_MFT_NAME_MAX);
	assert_memory_equal(info.devices[62].name, names[62], ALB_MFT_NAME_MAX);
	assert_int_equal(info.devices[62].type, ALB_MFT_BLOCK_BASIC);

	/* One more entry makes the descriptor larger than any manifest. */
	build_solo5(&im, 64, ALB_SOLO5_HVT, 2, devs, ALB_MFT_MAX_ENTRIES);
	expect_elf_fail(&im, ALB_EPARSE);

	/* A count of 65 in a descriptor of a size that is allowed. */
	build_solo5(&im, 64, ALB_SOLO5_HVT, 2, devs, ALB_MFT_MAX_ENTRIES - 1);
	put32(im.b + im.note_at[1] + 20 + 8, ALB_MFT_MAX_ENTRIES + 1);
	expect_fail(&im, ALB_EPARSE, "too many manifest entries");
	put32(im.b + im.note_at[1] + 20 + 8, 0xffffffffu);
	expect_fail(&im, ALB_EPARSE, "too many manifest entries");
}

/* The manifest descriptor size limit, 12 + 64 * 104, at and one past. */
static void test_mft_note_size_limit(void **state)
{
	(void)state;
	static struct img im;
	static uint8_t abi[16];
	static uint8_t mft[MFT_DESC_LEN(64) + 1];
	make_mft(mft, NULL, 0);
	put32(mft + 8, 64);
	struct note_in notes[2] = {
		solo5_note(ABI1, abi, make_abi(abi, 1, 2)),
		solo5_note(MFT1, mft, MFT_DESC_LEN(64)),
	};
	build(&im, 64, notes, 2, 0);
	/* At the limit the size is accepted; the zero entries then fail the
	 * content check (entry 1 has type 0). */
	expect_fail(&im, ALB_EPARSE, "unknown manifest entry type: 0");
	notes[1].descsz = MFT_DESC_LEN(64) + 1;
	build(&im, 64, notes, 2, 0);
	expect_elf_fail(&im, ALB_EPARSE);
}

/* ---- hostile inputs -------------------------------------------------- */

static void truncations(int cls)
{
	static struct img im;
	build_solo5(&im, cls, ALB_SOLO5_HVT, 2, two_devs, 2);
	struct alb_solo5_info info;
	for (size_t len = 0; len < im.len; len++) {
		struct alb_error err;
		int rc = parse_len(&im, len, &info, &err);
		if (rc == 0)
			fail_msg("truncation at %zu of %zu accepted", len, im.len);
		assert_int_equal(rc, err.code);
	}
	assert_int_equal(parse_len(&im, im.len, &info, NULL), 0);
}

static void test_truncated(void **state)
{
	(void)state;
	truncations(64);
	truncations(32);
}

/* Every single byte of a valid image replaced by every one of a few values:
 * the parser must never read out of bounds, and a result, when there is
 * one, must be a sane value. */
static void test_byte_flips(void **state)
{
	(void)state;
	static struct img im, orig;
	static const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
	for (int cls = 32; cls <= 64; cls += 32) {
		build_solo5(&orig, cls, ALB_SOLO5_HVT, 2, two_devs, 2);
		for (size_t i = 0; i < orig.len; i++) {
			for (size_t v = 0; v < sizeof(values); v++) {
				im = orig;
				im.b[i] = values[v];
				struct alb_solo5_info info;
				struct alb_error err;
				int rc = parse(&im, &info, &err);
				if (rc == 0) {
					assert_true(info.n_devices <= 2);
					assert_true(info.target >= 1 && info.target <= 3);
				} else {
					assert_int_equal(rc, err.code);
				}
			}
		}
	}
}

static void test_header_checks(void **state)
{
	(void)state;
	static struct img im, orig;
	build_solo5(&orig, 64, ALB_SOLO5_HVT, 2, two_devs, 2);

	im = orig;
	im.b[1] = 'e';
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	im.b[4] = 3; /* class */
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	im.b[5] = 2; /* big-endian */
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	im.b[6] = 0;
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	put32(im.b + 20, 2); /* e_version */
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	put16(im.b + 16, 3); /* ET_DYN */
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	put16(im.b + 18, 3); /* i386 in an ELF64 */
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	put16(im.b + 18, 183); /* aarch64 is a Solo5 machine */
	struct alb_solo5_info info;
	assert_int_equal(parse(&im, &info, NULL), 0);
	assert_int_equal(info.machine, 183);
	im = orig;
	put16(im.b + 52, 63); /* e_ehsize */
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	put16(im.b + 54, 64); /* e_phentsize */
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	set_phnum(&im, 0);
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	put64(im.b + 32, UINT64_MAX); /* e_phoff */
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	put64(im.b + 32, im.len - 56 + 1); /* the last header runs past the end */
	set_phnum(&im, 1);
	expect_elf_fail(&im, ALB_EPARSE);

	build_solo5(&orig, 32, ALB_SOLO5_HVT, 2, two_devs, 2);
	im = orig;
	put16(im.b + 18, 62); /* x86_64 in an ELF32 */
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	put32(im.b + 28, UINT32_MAX); /* e_phoff */
	expect_elf_fail(&im, ALB_EPARSE);

	struct alb_error err;
	assert_int_equal(alb_solo5_parse(NULL, 0, &info, &err), ALB_EPARSE);
	assert_int_equal(alb_solo5_parse(NULL, 1, &info, &err), ALB_EINVAL);
	assert_int_equal(alb_solo5_parse(orig.b, orig.len, NULL, &err), ALB_EINVAL);
}

/* ALB_ELF_MAX_PHNUM program headers are read; one more is refused. */
static void test_phnum_limit(void **state)
{
	(void)state;
	static struct img im;
	static uint8_t abi[16], mft[MFT_DESC_LEN(1)];
	struct note_in notes[2] = {
		solo5_note(ABI1, abi, make_abi(abi, 1, 2)),
		solo5_note(MFT1, mft, make_mft(mft, NULL, 0)),
	};
	build(&im, 64, notes, 2, ALB_ELF_MAX_PHNUM - 3);
	struct alb_solo5_info info;
	assert_int_equal(parse(&im, &info, NULL), 0);
	build(&im, 64, notes, 2, ALB_ELF_MAX_PHNUM - 2);
	expect_elf_fail(&im, ALB_ETOOBIG);
	build(&im, 64, notes, 2, 0);
	set_phnum(&im, 0xffff);
	expect_elf_fail(&im, ALB_ETOOBIG);
}

static void test_note_bounds(void **state)
{
	(void)state;
	static struct img im, orig;
	build_solo5(&orig, 64, ALB_SOLO5_HVT, 2, two_devs, 2);
	size_t abi_ph = orig.note_ph[0];

	im = orig;
	set_ph_offset(&im, abi_ph, UINT64_MAX);
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	set_ph_filesz(&im, abi_ph, UINT64_MAX);
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	set_ph_offset(&im, abi_ph, im.len - 20);
	set_ph_filesz(&im, abi_ph, 21);
	expect_elf_fail(&im, ALB_EPARSE);
	/* Smaller than any note header: refused, as by Solo5. */
	im = orig;
	set_ph_filesz(&im, abi_ph, 11);
	expect_elf_fail(&im, ALB_EPARSE);
	/* Smaller than a Solo5 note header: skipped, as by Solo5. */
	for (uint64_t sz = 12; sz < 20; sz++) {
		im = orig;
		set_ph_filesz(&im, abi_ph, sz);
		expect_fail(&im, ALB_ENOENT,
		            "No Solo5 ABI information found in executable");
	}
	/* The descriptor must fit in the segment... */
	im = orig;
	set_ph_filesz(&im, abi_ph, 20 + 15);
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	set_ph_filesz(&im, orig.note_ph[1], 20 + MFT_DESC_LEN(3) - 1);
	expect_elf_fail(&im, ALB_EPARSE);
	/* ... and its size within 1..16 for the ABI note. */
	im = orig;
	put32(im.b + im.note_at[0] + 4, 0);
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	put32(im.b + im.note_at[0] + 4, 17);
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	put32(im.b + im.note_at[0] + 4, 12);
	expect_fail(&im, ALB_EPARSE, "abi manifest size mismatch");
	im = orig;
	put32(im.b + im.note_at[1] + 4, 0);
	expect_elf_fail(&im, ALB_EPARSE);
	im = orig;
	put32(im.b + im.note_at[1] + 4, UINT32_MAX);
	expect_elf_fail(&im, ALB_EPARSE);
}

static void test_missing_notes(void **state)
{
	(void)state;
	static struct img im;
	static uint8_t abi[16], mft[MFT_DESC_LEN(1)];
	build(&im, 64, NULL, 0, 2);
	expect_fail(&im, ALB_ENOENT, "No Solo5 ABI information found in executable");

	struct note_in notes[2] = {
		solo5_note(ABI1, abi, make_abi(abi, 1, 2)),
		solo5_note(MFT1, mft, make_mft(mft, NULL, 0)),
	};
	build(&im, 64, notes, 1, 0);
	expect_fail(&im, ALB_ENOENT, "manifest not found");
	build(&im, 64, notes + 1, 1, 0);
	expect_fail(&im, ALB_ENOENT, "No Solo5 ABI information found in executable");

	/* Notes of other owners, or of other types, are not Solo5's. */
	struct note_in other[3] = {
		{8, "OpenBSD", 1, abi, 4},
		{6, "Solo6", ABI1, abi, 16},
		{5, "Solo5", ABI1, abi, 16},
	};
	build(&im, 64, other, 3, 0);
	expect_fail(&im, ALB_ENOENT, "No Solo5 ABI information found in executable");
	struct note_in wrong_type = solo5_note(0x32494241u, abi, 16);
	build(&im, 64, &wrong_type, 1, 0);
	expect_fail(&im, ALB_ENOENT, "No Solo5 ABI information found in executable");
}

/* Segments before the Solo5 notes that are not Solo5's are passed over, and
 * the first ABI note wins. */
static void test_note_order(void **state)
{
	(void)state;
	static struct img im;
	static uint8_t abi1[16], abi2[16], mft[MFT_DESC_LEN(2)];
	static const uint8_t zero[4];
	struct note_in notes[4] = {
		{8, "OpenBSD", 1, zero, 4},
		solo5_note(ABI1, abi1, make_abi(abi1, ALB_SOLO5_SPT, 2)),
		solo5_note(ABI1, abi2, make_abi(abi2, ALB_SOLO5_HVT, 7)),
		solo5_note(MFT1, mft, make_mft(mft, two_devs + 1, 1)),
	};
	build(&im, 32, notes, 4, 1);
	struct alb_solo5_info info;
	assert_int_equal(parse(&im, &info, NULL), 0);
	assert_int_equal(info.target, ALB_SOLO5_SPT);
	assert_int_equal(info.abi_version, 2);
	assert_int_equal(info.n_devices, 1);
	assert_string_equal(info.devices[0].name, "service");
}

static void test_targets_refused(void **state)
{
	(void)state;
	static struct img im;
	build_solo5(&im, 64, ALB_SOLO5_MUEN, 4, NULL, 0);
	expect_fail(&im, ALB_EUNSUPPORTED, "unsupported solo5 target muen");
	build_solo5(&im, 64, ALB_SOLO5_GENODE, 1, NULL, 0);
	expect_fail(&im, ALB_EUNSUPPORTED, "unsupported solo5 target genode");
	build_solo5(&im, 64, ALB_SOLO5_XEN, 1, NULL, 0);
	expect_fail(&im, ALB_EUNSUPPORTED, "unsupported solo5 target xen");
	build_solo5(&im, 64, 0, 1, NULL, 0);
	expect_fail(&im, ALB_EPARSE, "unknown abi target: 0");
	build_solo5(&im, 64, 7, 1, NULL, 0);
	expect_fail(&im, ALB_EPARSE, "unknown abi target: 7");
	build_solo5(&im, 64, 0xffffffffu, 1, NULL, 0);
	expect_fail(&im, ALB_EPARSE, "unknown abi target: -1");
	build_solo5(&im, 64, ALB_SOLO5_HVT, 2, NULL, 0);
	put32(im.b + im.note_at[0] + 20 + 8, 1);
	expect_fail(&im, ALB_EPARSE, "non-zero reserved0");
	build_solo5(&im, 64, ALB_SOLO5_HVT, 2, NULL, 0);
	put32(im.b + im.note_at[0] + 20 + 12, 1);
	expect_fail(&im, ALB_EPARSE, "non-zero reserved1");
}

static void test_manifest_invalid(void **state)
{
	(void)state;
	static struct img im, orig;
	build_solo5(&orig, 64, ALB_SOLO5_HVT, 2, two_devs, 2);
	uint8_t *mft = orig.b + orig.note_at[1] + 20;

	im = orig;
	put32(im.b + (mft - orig.b) + 4, 2);
	expect_fail(&im, ALB_EPARSE, "unsupported manifest version");
	im = orig;
	put32(im.b + (mft - orig.b) + 8, 0);
	expect_fail(&im, ALB_EPARSE, "zero manifest entries");
	im = orig;
	put32(im.b + (mft - orig.b) + 8, 2);
	expect_fail(&im, ALB_EPARSE, "unexpected note size");
	im = orig;
	put32(im.b + (mft - orig.b) + 8, 4);
	expect_fail(&im, ALB_EPARSE, "unexpected note size");

	im = orig;
	put32(mft_entry(&im, 1, 0) + 68, 1);
	expect_fail(&im, ALB_EPARSE, "expected RESERVED_FIRST");
	im = orig;
	mft_entry(&im, 1, 0)[0] = 'x';
	expect_fail(&im, ALB_EPARSE, "expected RESERVED_FIRST");
	im = orig;
	mft_entry(&im, 1, 0)[96] = 1;
	expect_fail(&im, ALB_EPARSE, "expected RESERVED_FIRST");

	im = orig;
	memset(mft_entry(&im, 1, 1), 'a', 68);
	expect_fail(&im, ALB_EPARSE, "unterminated device name");
	im = orig;
	mft_entry(&im, 1, 2)[67] = 'a';
	expect_fail(&im, ALB_EPARSE, "unterminated device name");
	im = orig;
	mft_entry(&im, 1, 1)[96] = 1;
	expect_fail(&im, ALB_EPARSE, "non-zero mft_entry.attached");
	im = orig;
	mft_entry(&im, 1, 2)[72 + 15] = 1;
	expect_fail(&im, ALB_EPARSE, "non-zero mft_entry.u");
	im = orig;
	mft_entry(&im, 1, 2)[88] = 1;
	expect_fail(&im, ALB_EPARSE, "non-zero mft_entry.b");
	im = orig;
	put32(mft_entry(&im, 1, 2) + 68, 3);
	expect_fail(&im, ALB_EPARSE, "unknown manifest entry type: 3");
	im = orig;
	put32(mft_entry(&im, 1, 2) + 68, 0x80000000u);
	expect_fail(&im, ALB_EPARSE, "unknown manifest entry type: -2147483648");
	im = orig;
	memset(mft_entry(&im, 1, 2), 0, 68);
	put32(mft_entry(&im, 1, 2) + 68, RESERVED_FIRST);
	expect_fail(&im, ALB_EPARSE, "found RESERVED_FIRST not as first entry");

	/* Padding after the attached flag, and bytes after a name's NUL, are
	 * not looked at (neither Solo5 nor solo5-elftool does). */
	im = orig;
	mft_entry(&im, 1, 1)[103] = 0xff;
	mft_entry(&im, 1, 1)[60] = 'z';
	struct alb_solo5_info info;
	assert_int_equal(parse(&im, &info, NULL), 0);
	assert_string_equal(info.devices[0].name, "storage");

	/* A manifest too small for its reserved entry. */
	static uint8_t abi[16], small[MFT_DESC_LEN(1)];
	make_mft(small, NULL, 0);
	struct note_in notes[2] = {
		solo5_note(ABI1, abi, make_abi(abi, 1, 2)),
		solo5_note(MFT1, small, MFT_DESC_LEN(1) - 1),
	};
	build(&im, 64, notes, 2, 0);
	expect_fail(&im, ALB_EPARSE, "manifest too small");
}

/* ---- the demo unikernel ---------------------------------------------- */

static void test_hello_kernel(void **state)
{
	(void)state;
	const char *root = getenv("ALB_BUILD_ROOT");
	if (root == NULL)
		skip();
	char path[4096];
	snprintf(path, sizeof(path), "%s/examples/hello-unikernel/hello.elf", root);
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		print_message("skipped: %s not built\n", path);
		skip();
	}
	static uint8_t buf[1 << 20];
	size_t len = fread(buf, 1, sizeof(buf), f);
	assert_int_equal(ferror(f), 0);
	fclose(f);
	assert_true(len < sizeof(buf));
	struct alb_solo5_info info;
	struct alb_error err;
	if (alb_solo5_parse(buf, len, &info, &err) != 0)
		fail_msg("%s: %s", path, err.msg);
	assert_int_equal(info.elf_class, 32);
	assert_int_equal(info.machine, 3);
	assert_int_equal(info.target, ALB_SOLO5_VIRTIO);
	assert_int_equal(info.abi_version, 1);
	assert_int_equal(info.n_devices, 1);
	assert_string_equal(info.devices[0].name, "service");
	assert_int_equal(info.devices[0].type, ALB_MFT_NET_BASIC);

	struct alb_net_dev net = {.netif = {"service", 7}};
	struct alb_unikernel_config c = {.n_bridges = 1, .bridges = &net};
	assert_int_equal(alb_manifest_match(&info, &c, NULL), 0);
}

/* ---- manifest matching ----------------------------------------------- */

static struct alb_solo5_info info_of(const struct dev *devs, size_t n)
{
	struct alb_solo5_info info;
	memset(&info, 0, sizeof(info));
	info.target = ALB_SOLO5_HVT;
	info.n_devices = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(info.devices[i].name, sizeof(info.devices[i].name), "%s",
		         devs[i].name);
		info.devices[i].type = (enum alb_mft_type)devs[i].type;
	}
	return info;
}

#define S(lit) {lit, sizeof(lit) - 1}

static void test_match(void **state)
{
	(void)state;
	static const struct dev devs[] = {
		{"storage", 1}, {"service", 2}, {"data", 1}, {"admin", 2},
	};
	struct alb_solo5_info info = info_of(devs, 4);
	struct alb_block_dev blocks[3] = {{.name = S("data")}, {.name = S("storage")},
	                                  {.name = S("data")}};
	struct alb_net_dev nets[2] = {{.netif = S("admin"), .bridge = S("br0")},
	                              {.netif = S("service")}};
	struct alb_unikernel_config c = {
		.n_blocks = 3, .blocks = blocks, .n_bridges = 2, .bridges = nets,
	};
	assert_int_equal(alb_manifest_match(&info, &c, NULL), 0);

	static const char present[] =
		" Devices present in manifest: block \"storage\", net \"service\", "
		"block \"data\", net \"admin\"";
	char want[1024];
	struct alb_error err;

	c.n_blocks = 1; /* "storage" missing */
	snprintf(want, sizeof(want), "%s%s",
	         "specified block device(s) does not match with manifest.", present);
	assert_int_equal(alb_manifest_match(&info, &c, &err), ALB_EINVAL);
	assert_string_equal(err.msg, want);
	/* Blocks are compared before bridges. */
	c.n_bridges = 1;
	assert_int_equal(alb_manifest_match(&info, &c, &err), ALB_EINVAL);
	assert_string_equal(err.msg, want);

	c.n_blocks = 2;
	snprintf(want, sizeof(want), "%s%s",
	         "specified bridge(s) does not match with the manifest.", present);
	assert_int_equal(alb_manifest_match(&info, &c, &err), ALB_EINVAL);
	assert_string_equal(err.msg, want);
	/* A net device named like a block device is not that block device. */
	nets[0].netif = (struct alb_str)S("data");
	c.n_bridges = 2;
	assert_int_equal(alb_manifest_match(&info, &c, &err), ALB_EINVAL);
	assert_string_equal(err.msg, want);
	/* Names compare by length and every byte. */
	nets[0].netif = (struct alb_str){"admin\0x", 7};
	assert_int_equal(alb_manifest_match(&info, &c, &err), ALB_EINVAL);
	nets[0].netif = (struct alb_str)S("admi");
	assert_int_equal(alb_manifest_match(&info, &c, &err), ALB_EINVAL);

	/* An empty manifest and an empty config match. */
	struct alb_solo5_info none = info_of(NULL, 0);
	struct alb_unikernel_config empty = {.n_blocks = 0};
	assert_int_equal(alb_manifest_match(&none, &empty, NULL), 0);
	assert_int_equal(alb_manifest_match(&none, &c, &err), ALB_EINVAL);
	assert_string_equal(err.msg,
	                    "specified block device(s) does not match with "
	                    "manifest. Devices present in manifest: ");
	assert_int_equal(alb_manifest_match(NULL, &c, &err), ALB_EINVAL);
	assert_int_equal(alb_manifest_match(&none, NULL, &err), ALB_EINVAL);
}

/* Names are printed as OCaml's %S prints them. */
static void test_match_escaping(void **state)
{
	(void)state;
	static const struct dev devs[] = {{"a\"b\\c\n\t\r\b\x01\x7f\xc3\xa9", 2}};
	struct alb_solo5_info info = info_of(devs, 1);
	struct alb_unikernel_config c = {.n_blocks = 0};
	struct alb_error err;
	assert_int_equal(alb_manifest_match(&info, &c, &err), ALB_EINVAL);
	assert_string_equal(err.msg,
	                    "specified bridge(s) does not match with the manifest. "
	                    "Devices present in manifest: net "
	                    "\"a\\\"b\\\\c\\n\\t\\r\\b\\001\\127\\195\\169\"");
}

/* 63 devices with the longest names do not fit in an error message: the
 * message is cut at ALB_ERROR_MSG_MAX - 1 bytes. */
static void test_match_long_message(void **state)
{
	(void)state;
	static char names[63][ALB_MFT_NAME_MAX + 1];
	struct dev devs[63];
	for (size_t i = 0; i < 63; i++) {
		memset(names[i], 'n', ALB_MFT_NAME_MAX);
		devs[i].name = names[i];
		devs[i].type = 1;
	}
	struct alb_solo5_info info = info_of(devs, 63);
	struct alb_unikernel_config c = {.n_blocks = 0};
	struct alb_error err;
	assert_int_equal(alb_manifest_match(&info, &c, &err), ALB_EINVAL);
	assert_int_equal(strlen(err.msg), ALB_ERROR_MSG_MAX - 1);
}

/* ---- digest ---------------------------------------------------------- */

static void test_digest(void **state)
{
	(void)state;
	static const uint8_t abc_sha[ALB_SHA256_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
		0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
		0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	static const uint8_t empty_sha[ALB_SHA256_LEN] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
		0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
		0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
	uint8_t out[ALB_SHA256_LEN];
	assert_int_equal(alb_image_digest((const uint8_t *)"abc", 3, out, NULL), 0);
	assert_memory_equal(out, abc_sha, sizeof(out));
	assert_int_equal(alb_image_digest(NULL, 0, out, NULL), 0);
	assert_memory_equal(out, empty_sha, sizeof(out));
	assert_int_equal(alb_image_digest(NULL, 1, out, NULL), ALB_EINVAL);
	assert_int_equal(alb_image_digest(out, 1, NULL, NULL), ALB_EINVAL);
}

/* ---- loading ---------------------------------------------------------- */

static void test_load_plain(void **state)
{
	(void)state;
	static struct img im;
	build_solo5(&im, 64, ALB_SOLO5_SPT, 2, two_devs, 2);
	struct alb_image img;
	struct alb_error err;
	struct alb_bytes bytes = {im.b, im.len};
	assert_int_equal(alb_image_load(bytes, false, &img, &err), 0);
	/* An uncompressed image is borrowed, not copied. */
	assert_ptr_equal(img.data.ptr, im.b);
	assert_int_equal(img.data.len, im.len);
	uint8_t want[ALB_SHA256_LEN];
	assert_int_equal(alb_image_digest(im.b, im.len, want, NULL), 0);
	assert_memory_equal(img.digest, want, sizeof(want));
	assert_int_equal(img.solo5.target, ALB_SOLO5_SPT);
	assert_int_equal(img.solo5.n_devices, 2);
	alb_image_free(&img);
	alb_image_free(&img);
	alb_image_free(NULL);

	/* A failure leaves the result empty, with the parser's message. */
	im.b[0] = 0;
	bytes.ptr = im.b;
	assert_int_equal(alb_image_load(bytes, false, &img, &err), ALB_EPARSE);
	assert_string_equal(err.msg, "error during ELF parsing: not an ELF file");
	assert_null(img.data.ptr);
	assert_int_equal(img.data.len, 0);
	alb_image_free(&img);
	assert_int_equal(alb_image_load(bytes, false, NULL, &err), ALB_EINVAL);
	bytes.ptr = NULL;
	assert_int_equal(alb_image_load(bytes, false, &img, &err), ALB_EINVAL);
}

static void test_load_compressed(void **state)
{
	(void)state;
	static struct img im;
	build_solo5(&im, 32, ALB_SOLO5_VIRTIO, 1, two_devs + 1, 1);
	for (int level = 0; level <= 9; level += 9) {
		struct alb_buf z = {0};
		assert_int_equal(alb_zlib_deflate(im.b, im.len, level, &z, NULL), 0);
		struct alb_image img;
		struct alb_bytes bytes = {z.data, z.len};
		assert_int_equal(alb_image_load(bytes, true, &img, NULL), 0);
		assert_int_equal(img.data.len, im.len);
		assert_memory_equal(img.data.ptr, im.b, im.len);
		uint8_t want[ALB_SHA256_LEN];
		assert_int_equal(alb_image_digest(im.b, im.len, want, NULL), 0);
		assert_memory_equal(img.digest, want, sizeof(want));
		assert_int_equal(img.solo5.target, ALB_SOLO5_VIRTIO);
		assert_string_equal(img.solo5.devices[0].name, "service");
		alb_image_free(&img);

		/* A stream cut short is not an image. */
		struct alb_error err;
		bytes.len = z.len - 1;
		assert_int_equal(alb_image_load(bytes, true, &img, &err), ALB_EPARSE);
		assert_int_equal(strncmp(err.msg, "failed to uncompress: ", 22), 0);
		assert_null(img.data.ptr);
		alb_buf_free(&z);
	}
	/* Bytes that are no zlib stream at all. */
	struct alb_image img;
	struct alb_error err;
	struct alb_bytes raw = {im.b, im.len};
	assert_int_equal(alb_image_load(raw, true, &img, &err), ALB_EPARSE);
	assert_int_equal(strncmp(err.msg, "failed to uncompress: ", 22), 0);
}

/* ALB_IMAGE_MAX bytes load, one more do not: raw, and after inflating. */
static void test_load_limit(void **state)
{
	(void)state;
	static struct img im;
	build_solo5(&im, 64, ALB_SOLO5_HVT, 2, NULL, 0);
	uint8_t *big = calloc((size_t)ALB_IMAGE_MAX + 1, 1);
	assert_non_null(big);
	memcpy(big, im.b, im.len);
	struct alb_image img;
	struct alb_error err;
	struct alb_bytes bytes = {big, ALB_IMAGE_MAX};
	assert_int_equal(alb_image_load(bytes, false, &img, &err), 0);
	alb_image_free(&img);
	bytes.len = (size_t)ALB_IMAGE_MAX + 1;
	assert_int_equal(alb_image_load(bytes, false, &img, &err), ALB_ETOOBIG);

	struct alb_buf z = {0};
	assert_int_equal(alb_zlib_deflate(big, ALB_IMAGE_MAX, 1, &z, NULL), 0);
	bytes = (struct alb_bytes){z.data, z.len};
	assert_int_equal(alb_image_load(bytes, true, &img, &err), 0);
	assert_int_equal(img.data.len, ALB_IMAGE_MAX);
	alb_image_free(&img);
	alb_buf_free(&z);

	assert_int_equal(alb_zlib_deflate(big, (size_t)ALB_IMAGE_MAX + 1, 1, &z, NULL),
	                 0);
	free(big);
	bytes = (struct alb_bytes){z.data, z.len};
	assert_int_equal(alb_image_load(bytes, true, &img, &err), ALB_ETOOBIG);
	assert_int_equal(strncmp(err.msg, "failed to uncompress: ", 22), 0);
	assert_null(img.data.ptr);
	alb_buf_free(&z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_targets),
		cmocka_unit_test(test_no_devices),
		cmocka_unit_test(test_target_names),
		cmocka_unit_test(test_max_entries),
		cmocka_unit_test(test_mft_note_size_limit),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_byte_flips),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_phnum_limit),
		cmocka_unit_test(test_note_bounds),
		cmocka_unit_test(test_missing_notes),
		cmocka_unit_test(test_note_order),
		cmocka_unit_test(test_targets_refused),
		cmocka_unit_test(test_manifest_invalid),
		cmocka_unit_test(test_hello_kernel),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_match_escaping),
		cmocka_unit_test(test_match_long_message),
		cmocka_unit_test(test_digest),
		cmocka_unit_test(test_load_plain),
		cmocka_unit_test(test_load_compressed),
		cmocka_unit_test(test_load_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
