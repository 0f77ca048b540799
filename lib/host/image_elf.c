/* libalbatross — Solo5 ELF notes: finding the ABI1 and MFT1 notes through
 * the program headers and validating them (spec §5.3, solo5-facts.md).
 * SPDX-License-Identifier: ISC
 *
 * Which checks are made follows Solo5's tenders (ELF header and note
 * lookup) and Albatross's solo5-elftool (note contents), so that an image
 * accepted here is accepted by both. The texts of the note-content errors
 * are solo5-elftool's, since Albatross sends them to its clients. */
#include <string.h>

#include "albatross/image.h"
#include "base/internal.h"

#define EI_NIDENT 16
#define ELFCLASS32 1
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ET_EXEC 2
#define EM_386 3
#define EM_X86_64 62
#define EM_AARCH64 183
#define PT_NOTE 4

/* A note header: n_namesz, n_descsz, n_type (u32 each) ... */
#define NHDR_LEN 12
/* ... and for a Solo5 note the owner "Solo5\0" padded to 8 bytes. */
#define SOLO5_NHDR_LEN 20
#define SOLO5_NOTE_NAME "Solo5"
#define SOLO5_NOTE_NAMESZ 6

#define NOTE_TYPE_ABI1 0x31494241u /* "ABI1" */
#define NOTE_TYPE_MFT1 0x3154464du /* "MFT1" */

/* The ABI1 descriptor: target, version, reserved0, reserved1. */
#define ABI1_DESC_LEN 16

/* The MFT1 descriptor: 4 bytes of padding (so that struct mft is 8-aligned
 * after the 20-byte header), u32 version, u32 entries, entries × 104. */
#define MFT1_PAD 4
#define MFT_HEADER_LEN 8
#define MFT_ENTRY_LEN 104
#define MFT_DESC_MAX (MFT1_PAD + MFT_HEADER_LEN + ALB_MFT_MAX_ENTRIES * MFT_ENTRY_LEN)
#define MFT_VERSION 1
#define MFT_NAME_FIELD (ALB_MFT_NAME_MAX + 1)
#define MFT_ENTRY_TYPE_AT 68
#define MFT_ENTRY_U_AT 72
#define MFT_ENTRY_U_LEN 16
#define MFT_ENTRY_B_AT 88
#define MFT_ENTRY_B_LEN 8
#define MFT_ENTRY_ATTACHED_AT 96
#define MFT_RESERVED_FIRST 0x40000000u

#define ELF_ERR "error during ELF parsing: "

/* Where the fields that matter sit in one ELF class. */
struct elf_layout {
	uint8_t ei_class;
	size_t ehsize;
	size_t phentsize;
	size_t word; /* width of e_phoff, p_offset and p_filesz */
	size_t e_phoff_at;
	size_t e_ehsize_at;
	size_t e_phentsize_at;
	size_t e_phnum_at;
	size_t p_offset_at;
	size_t p_filesz_at;
};

static const struct elf_layout elf32 = {
	.ei_class = ELFCLASS32, .ehsize = 52, .phentsize = 32, .word = 4,
	.e_phoff_at = 28, .e_ehsize_at = 40, .e_phentsize_at = 42, .e_phnum_at = 44,
	.p_offset_at = 4, .p_filesz_at = 16,
};

static const struct elf_layout elf64 = {
	.ei_class = ELFCLASS64, .ehsize = 64, .phentsize = 56, .word = 8,
	.e_phoff_at = 32, .e_ehsize_at = 52, .e_phentsize_at = 54, .e_phnum_at = 56,
	.p_offset_at = 8, .p_filesz_at = 32,
};

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

static uint64_t rd_word(const struct elf_layout *l, const uint8_t *p)
{
	return l->word == 8 ? rd64(p) : rd32(p);
}

/* OCaml's Int32.to_string, which solo5-elftool uses in its messages. */
static long long as_int32(uint32_t v)
{
	return v > 0x7fffffffu ? (long long)v - 0x100000000ll : (long long)v;
}

static bool machine_ok(uint8_t ei_class, uint16_t machine)
{
	if (ei_class == ELFCLASS32)
		return machine == EM_386;
	return machine == EM_X86_64 || machine == EM_AARCH64;
}

/* A Solo5 note's descriptor, once found. */
struct note {
	const uint8_t *desc;
	uint32_t len;
};

struct notes {
	struct note abi;
	struct note mft;
};

static int check_header(const uint8_t *elf, size_t len,
                        const struct elf_layout **layout, struct alb_error *err)
{
	static const uint8_t magic[4] = {0x7f, 'E', 'L', 'F'};

	if (len < EI_NIDENT || memcmp(elf, magic, sizeof(magic)) != 0)
		return alb_fail(err, ALB_EPARSE, ELF_ERR "not an ELF file");
	const struct elf_layout *l;
	if (elf[4] == ELFCLASS32)
		l = &elf32;
	else if (elf[4] == ELFCLASS64)
		l = &elf64;
	else
		return alb_fail(err, ALB_EPARSE, ELF_ERR "unsupported ELF class %u",
		                elf[4]);
	if (elf[5] != ELFDATA2LSB)
		return alb_fail(err, ALB_EPARSE, ELF_ERR "not little-endian");
	if (len < l->ehsize)
		return alb_fail(err, ALB_EPARSE, ELF_ERR "truncated ELF header");
	if (elf[6] != EV_CURRENT || rd32(elf + 20) != EV_CURRENT)
		return alb_fail(err, ALB_EPARSE, ELF_ERR "unsupported ELF version");
	uint16_t type = rd16(elf + 16);
	if (type != ET_EXEC)
		return alb_fail(err, ALB_EPARSE, ELF_ERR "not an executable (e_type %u)",
		                type);
	uint16_t machine = rd16(elf + 18);
	if (!machine_ok(l->ei_class, machine))
		return alb_fail(err, ALB_EPARSE,
		                ELF_ERR "unsupported machine %u for ELF class %u",
		                machine, l->ei_class);
	if (rd16(elf + l->e_ehsize_at) != l->ehsize ||
	    rd16(elf + l->e_phentsize_at) != l->phentsize)
		return alb_fail(err, ALB_EPARSE, ELF_ERR "unexpected header sizes");
	*layout = l;
	return 0;
}

/* Looks at one PT_NOTE segment as Solo5 does: only the note at its start
 * counts, a segment too small for any note header is an error, one too
 * small for a Solo5 note header is skipped. The first ABI1 and the first
 * MFT1 note win. */
static int scan_note(const uint8_t *elf, size_t len, unsigned idx,
                     uint64_t off, uint64_t filesz, struct notes *found,
                     struct alb_error *err)
{
	if (off > len || filesz > len - off)
		return alb_fail(err, ALB_EPARSE,
		                ELF_ERR "phdr[%u] note lies outside the file", idx);
	if (filesz < NHDR_LEN)
		return alb_fail(err, ALB_EPARSE,
		                ELF_ERR "phdr[%u] note smaller than a note header", idx);
	if (filesz < SOLO5_NHDR_LEN)
		return 0;
	const uint8_t *n = elf + off;
	if (rd32(n) != SOLO5_NOTE_NAMESZ ||
	    memcmp(n + NHDR_LEN, SOLO5_NOTE_NAME, SOLO5_NOTE_NAMESZ) != 0)
		return 0;
	uint32_t descsz = rd32(n + 4);
	uint32_t type = rd32(n + 8);
	struct note *slot;
	uint32_t max;
	if (type == NOTE_TYPE_ABI1) {
		slot = &found->abi;
		max = ABI1_DESC_LEN;
	} else if (type == NOTE_TYPE_MFT1) {
		slot = &found->mft;
		max = MFT_DESC_MAX;
	} else {
		return 0;
	}
	if (slot->desc != NULL)
		return 0;
	if (descsz < 1 || descsz > max)
		return alb_fail(err, ALB_EPARSE,
		                ELF_ERR "phdr[%u] note size %u not within 1..%u", idx,
		                descsz, max);
	if (descsz > filesz - SOLO5_NHDR_LEN)
		return alb_fail(err, ALB_EPARSE,
		                ELF_ERR "phdr[%u] note size %u exceeds its segment", idx,
		                descsz);
	slot->desc = n + SOLO5_NHDR_LEN;
	slot->len = descsz;
	return 0;
}

static int find_notes(const uint8_t *elf, size_t len, struct notes *found,
                      uint8_t *ei_class, uint16_t *machine,
                      struct alb_error *err)
{
	const struct elf_layout *l = NULL;
	int rc = check_header(elf, len, &l, err);
	if (rc != 0)
		return rc;
	uint64_t phoff = rd_word(l, elf + l->e_phoff_at);
	uint16_t phnum = rd16(elf + l->e_phnum_at);
	if (phnum < 1)
		return alb_fail(err, ALB_EPARSE, ELF_ERR "no program headers");
	if (phnum > ALB_ELF_MAX_PHNUM)
		return alb_fail(err, ALB_ETOOBIG,
		                ELF_ERR "too many program headers (%u > %d)", phnum,
		                ALB_ELF_MAX_PHNUM);
	/* phnum is capped, so the product cannot overflow. */
	size_t phsize = (size_t)phnum * l->phentsize;
	if (phoff > len || phsize > len - phoff)
		return alb_fail(err, ALB_EPARSE,
		                ELF_ERR "program headers lie outside the file");
	memset(found, 0, sizeof(*found));
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = elf + phoff + (size_t)i * l->phentsize;
		if (rd32(ph) != PT_NOTE)
			continue;
		rc = scan_note(elf, len, i, rd_word(l, ph + l->p_offset_at),
		               rd_word(l, ph + l->p_filesz_at), found, err);
		if (rc != 0)
			return rc;
	}
	*ei_class = l->ei_class == ELFCLASS32 ? 32 : 64;
	*machine = rd16(elf + 18);
	return 0;
}

static int parse_abi(const struct note *abi, struct alb_solo5_info *info,
                     struct alb_error *err)
{
	if (abi->desc == NULL)
		return alb_fail(err, ALB_ENOENT,
		                "No Solo5 ABI information found in executable");
	if (abi->len != ABI1_DESC_LEN)
		return alb_fail(err, ALB_EPARSE, "abi manifest size mismatch");
	uint32_t target = rd32(abi->desc);
	const char *name = alb_solo5_target_name(target);
	if (name == NULL)
		return alb_fail(err, ALB_EPARSE, "unknown abi target: %lld",
		                as_int32(target));
	if (rd32(abi->desc + 8) != 0)
		return alb_fail(err, ALB_EPARSE, "non-zero reserved0");
	if (rd32(abi->desc + 12) != 0)
		return alb_fail(err, ALB_EPARSE, "non-zero reserved1");
	if (target != ALB_SOLO5_HVT && target != ALB_SOLO5_SPT &&
	    target != ALB_SOLO5_VIRTIO)
		return alb_fail(err, ALB_EUNSUPPORTED, "unsupported solo5 target %s",
		                name);
	info->target = (enum alb_solo5_target)target;
	info->abi_version = rd32(abi->desc + 4);
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* One 104-byte manifest entry. Sets *type; fills dev unless the entry is
 * the reserved one. */
static int parse_entry(const uint8_t *e, uint32_t *type,
                       struct alb_mft_device *dev, struct alb_error *err)
{
	/* Solo5 requires name[67] == 0, which also terminates the name. */
	if (e[ALB_MFT_NAME_MAX] != 0)
		return alb_fail(err, ALB_EPARSE, "unterminated device name");
	if (!all_zero(e + MFT_ENTRY_U_AT, MFT_ENTRY_U_LEN))
		return alb_fail(err, ALB_EPARSE, "non-zero mft_entry.u");
	if (!all_zero(e + MFT_ENTRY_B_AT, MFT_ENTRY_B_LEN))
		return alb_fail(err, ALB_EPARSE, "non-zero mft_entry.b");
	if (e[MFT_ENTRY_ATTACHED_AT] != 0)
		return alb_fail(err, ALB_EPARSE, "non-zero mft_entry.attached");
	*type = rd32(e + MFT_ENTRY_TYPE_AT);
	switch (*type) {
	case MFT_RESERVED_FIRST:
		if (!all_zero(e, MFT_NAME_FIELD))
			return alb_fail(err, ALB_EPARSE, "non-zero RESERVED_FIRST");
		return 0;
	case ALB_MFT_BLOCK_BASIC:
	case ALB_MFT_NET_BASIC:
		memcpy(dev->name, e, MFT_NAME_FIELD);
		dev->type = (enum alb_mft_type)*type;
		return 0;
	default:
		return alb_fail(err, ALB_EPARSE, "unknown manifest entry type: %lld",
		                as_int32(*type));
	}
}

static int parse_mft(const struct note *mft, struct alb_solo5_info *info,
                     struct alb_error *err)
{
	if (mft->desc == NULL)
		return alb_fail(err, ALB_ENOENT, "manifest not found");
	const uint8_t *d = mft->desc;
	if (mft->len < MFT1_PAD + MFT_HEADER_LEN + MFT_ENTRY_LEN)
		return alb_fail(err, ALB_EPARSE, "manifest too small");
	if (rd32(d + MFT1_PAD) != MFT_VERSION)
		return alb_fail(err, ALB_EPARSE, "unsupported manifest version");
	uint32_t entries = rd32(d + MFT1_PAD + 4);
	if (entries == 0)
		return alb_fail(err, ALB_EPARSE, "zero manifest entries");
	if (entries > ALB_MFT_MAX_ENTRIES)
		return alb_fail(err, ALB_EPARSE, "too many manifest entries");
	if (mft->len != MFT1_PAD + MFT_HEADER_LEN + entries * MFT_ENTRY_LEN)
		return alb_fail(err, ALB_EPARSE, "unexpected note size");
	const uint8_t *e = d + MFT1_PAD + MFT_HEADER_LEN;
	uint32_t type = 0;
	struct alb_mft_device unused;
	if (parse_entry(e, &type, &unused, NULL) != 0 ||
	    type != MFT_RESERVED_FIRST)
		return alb_fail(err, ALB_EPARSE, "expected RESERVED_FIRST");
	info->n_devices = 0;
	for (uint32_t i = 1; i < entries; i++) {
		e += MFT_ENTRY_LEN;
		int rc = parse_entry(e, &type, &info->devices[info->n_devices], err);
		if (rc != 0)
			return rc;
		if (type == MFT_RESERVED_FIRST)
			return alb_fail(err, ALB_EPARSE,
			                "found RESERVED_FIRST not as first entry");
		info->n_devices++;
	}
	return 0;
}

const char *alb_solo5_target_name(uint32_t target)
{
	switch (target) {
	case ALB_SOLO5_HVT: return "hvt";
	case ALB_SOLO5_SPT: return "spt";
	case ALB_SOLO5_VIRTIO: return "virtio";
	case ALB_SOLO5_MUEN: return "muen";
	case ALB_SOLO5_GENODE: return "genode";
	case ALB_SOLO5_XEN: return "xen";
	}
	return NULL;
}

int alb_solo5_parse(const uint8_t *elf, size_t len, struct alb_solo5_info *out,
                    struct alb_error *err)
{
	if ((elf == NULL && len != 0) || out == NULL)
		return alb_fail(err, ALB_EINVAL, "alb_solo5_parse: NULL argument");
	struct notes found;
	struct alb_solo5_info info;
	memset(&info, 0, sizeof(info));
	int rc = find_notes(elf, len, &found, &info.elf_class, &info.machine, err);
	/* Albatross reads the ABI before the manifest; so do we. */
	if (rc == 0)
		rc = parse_abi(&found.abi, &info, err);
	if (rc == 0)
		rc = parse_mft(&found.mft, &info, err);
	if (rc == 0)
		*out = info;
	return rc;
}
